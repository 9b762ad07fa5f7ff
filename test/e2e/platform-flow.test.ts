// Platform mode in one flow, as a developer and their end user live it: project → keys → session → top-up through Stripe → chat paid from the wallet → caps and refusals → the customers list.
import { afterAll, beforeAll, expect, test } from 'bun:test'
import type Redis from 'ioredis'
import OpenAI from 'openai'
import Stripe from 'stripe'
import type { Sql } from '../../src/lib/db'
import { createRedis } from '../../src/lib/redis'
import { lineageKey, subjectKeys } from '../../src/limits/keys'
import { formatNanoAsUsd } from '../../src/pricing/money'
import { testDb } from '../helpers/db'
import { startFakeStripe, stripeEvent, stripePayload, type FakeStripe } from '../helpers/fake-stripe'
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream'
import { startGateway, upstreamEnv, type TestGateway } from '../helpers/gateway'
import { waitForDrain } from '../helpers/money'
import { browserClient, refusal } from '../helpers/browser'
import { call, mintSession, registerAccount } from '../helpers/platform'

const ORIGIN = 'https://app.example.com'
const STRIPE_KEY = 'sk_test_fake_platform_flow_0123456789'
const WEBHOOK_SECRET = 'whsec_platform_flow'
const MESSAGES = [{ role: 'user' as const, content: 'Hello! scenario:slow' }]

let upstream: FakeUpstream
let fake: FakeStripe
let gateway: TestGateway
let sql: Sql
let redis: Redis
/** The payer's side of Stripe (what Stripe.js would do in the page), on the official SDK against the fake. */
let stripe: Stripe

beforeAll(async () => {
  upstream = startFakeUpstream()
  fake = startFakeStripe({ secretKey: STRIPE_KEY })
  gateway = await startGateway({
    ...upstreamEnv(upstream.url),
    STRIPE_SECRET_KEY: STRIPE_KEY,
    STRIPE_API_BASE: fake.url,
    STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
    STRIPE_PUBLISHABLE_KEY: 'pk_live_platform_flow',
  })
  sql = await testDb(2)
  redis = createRedis('redis://127.0.0.1:6379')
  await redis.connect()
  const address = new URL(fake.url)
  stripe = new Stripe(STRIPE_KEY, { host: address.hostname, port: Number(address.port), protocol: 'http', maxNetworkRetries: 0 })
}, 60_000)
afterAll(async () => {
  await gateway?.stop()
  await sql?.end()
  redis?.disconnect()
  upstream?.stop()
  await fake?.stop()
}, 30_000)

const browser = (token: string, origin = ORIGIN) => browserClient(gateway.url, token, origin)

/** Streams one completion to its end; returns the request id. */
async function stream(client: OpenAI, model: string) {
  const { data, response } = await client.chat.completions.create({ model, max_tokens: 16, messages: MESSAGES, stream: true }).withResponse()
  let text = ''
  for await (const chunk of data) text += chunk.choices[0]?.delta?.content ?? ''
  return { requestId: response.headers.get('x-request-id')!, text }
}

/** Stripe's delivery of one signed event, signed by the official SDK's own test-header helper. */
async function deliverSigned(event: ReturnType<typeof stripeEvent>) {
  const payload = stripePayload(event)
  const signature = await stripe.webhooks.generateTestHeaderStringAsync({ payload, secret: WEBHOOK_SECRET })
  return fetch(`${gateway.url}/stripe/webhook`, { method: 'POST', headers: { 'content-type': 'application/json', 'stripe-signature': signature }, body: payload })
}

const sumNano = (rows: { amount_nano: string }[]) => rows.reduce((total, row) => total + BigInt(row.amount_nano), 0n)

test('project → keys → session → top-up → paid chat → caps and refusals → the customers list agrees with the ledger', async () => {
  // 1. The developer's dashboard creates the project and a live secret key; their backend mints a session.
  const accountKey = await registerAccount(gateway.url, 'flow')
  const created = await call(gateway.url, 'POST', '/v1/projects', accountKey, { name: 'Flow app', markup_percent: 20, allowed_origins: [ORIGIN], end_user_sessions: true })
  expect(created.status).toBe(201)
  const projectId = created.body.id as string
  const key = await call(gateway.url, 'POST', `/v1/projects/${projectId}/keys`, accountKey, { mode: 'live' })
  expect(key.status).toBe(201)
  expect(key.body.secret_key).toStartWith('sk_live_')
  const secret = key.body.secret_key as string
  const externalId = `user_${crypto.randomUUID()}`
  const session = await mintSession(gateway.url, secret, { customer: { external_id: externalId, email: 'ada@example.com' }, scope: { models: ['openai/gpt-4o', 'mock/echo'] } })
  expect(session.session_token).toStartWith('es_')
  expect(session).toMatchObject({ mode: 'live', publishable_key: 'pk_live_platform_flow' })
  const holder = `wallet:${session.wallet_id}`
  const client = browser(session.session_token)
  const ledger = async () =>
    [...(await sql<{ kind: string; amount_nano: string; reference: string }[]>`SELECT kind, amount_nano, reference FROM ledger WHERE account_id = ${holder} ORDER BY id`)]

  // 2. The new end user's wallet is empty: 402.
  expect(await refusal(client.chat.completions.create({ model: 'openai/gpt-4o', max_tokens: 16, messages: MESSAGES, stream: true }))).toEqual({ status: 402, code: 'insufficient_balance' })

  // 3. The page buys $10 of credit; the payer pays through Stripe; Stripe delivers the signed success twice.
  const topUp = await call(gateway.url, 'POST', '/v1/wallet/top-up', session.session_token, { amount_usd: '10.00' }, { origin: ORIGIN })
  expect(topUp.status).toBe(200)
  // 10 USD at 20 %: net floor(10e9 × 10000 / 12000) = 8,333,333,333 nano-USD; the margin is the rest.
  const net = 8_333_333_333n
  expect(topUp.body).toMatchObject({ amount_usd: '10.00', net_credited_usd: formatNanoAsUsd(net) })
  const paymentIntentId = topUp.body.payment_intent_id as string
  const confirmed = await stripe.paymentIntents.confirm(paymentIntentId, { payment_method: 'pm_card_visa' })
  expect(confirmed.status).toBe('succeeded')
  const event = stripeEvent('payment_intent.succeeded', await stripe.paymentIntents.retrieve(paymentIntentId))
  for (let delivery = 0; delivery < 2; delivery++) expect((await deliverSigned(event)).status).toBe(200)
  expect(await ledger()).toEqual([{ kind: 'credit', amount_nano: net.toString(), reference: paymentIntentId }])
  const margins = [...(await sql<{ amount_nano: string; payment_intent_id: string }[]>`SELECT amount_nano, payment_intent_id FROM margin_ledger WHERE project_id = ${projectId}`)]
  expect(margins).toEqual([{ amount_nano: (10_000_000_000n - net).toString(), payment_intent_id: paymentIntentId }])

  // 4. A streaming chat debits exactly its usage cost: the usage row, the ledger and Redis agree.
  const { requestId, text } = await stream(client, 'openai/gpt-4o')
  expect(text.length).toBeGreaterThan(0)
  await waitForDrain(sql, redis, holder, [requestId])
  const [usage] = await sql<{ cost_nano: string; project_id: string; end_customer_id: string }[]>`
    SELECT cost_nano, project_id, end_customer_id FROM usage_events WHERE request_id = ${requestId}`
  expect(usage).toMatchObject({ project_id: projectId, end_customer_id: session.end_customer_id })
  const cost = BigInt(usage!.cost_nano)
  expect(cost).toBeGreaterThan(0n)
  expect((await ledger()).filter((row) => row.reference === requestId)).toEqual([{ kind: 'usage', amount_nano: (-cost).toString(), reference: requestId }])
  expect(sumNano(await ledger())).toBe(net - cost)
  expect(BigInt((await redis.hget(subjectKeys(holder).wallet, 'avail'))!)).toBe(net - cost)

  // 5. A session with a max_spend is stopped at its cap with a 402; the wallet still had money.
  const capNano = 500_000n
  const capped = await mintSession(gateway.url, secret, { customer: externalId, scope: { max_spend: formatNanoAsUsd(capNano) } })
  expect(capped.wallet_id).toBe(session.wallet_id)
  const cappedClient = browser(capped.session_token)
  const cappedIds: string[] = []
  let stopped: { status: number; code: string | null } | null = null
  for (let i = 0; i < 50 && !stopped; i++) {
    try {
      cappedIds.push((await stream(cappedClient, 'openai/gpt-4o')).requestId)
    } catch (error) {
      if (!(error instanceof OpenAI.APIError)) throw error
      stopped = { status: error.status ?? 0, code: (error.code as string | null) ?? null }
    }
  }
  expect(stopped).toEqual({ status: 402, code: 'session_spend_limit' })
  expect(cappedIds.length).toBeGreaterThan(0)
  await waitForDrain(sql, redis, holder, cappedIds)
  const [cappedUsage] = await sql<{ cost: string }[]>`SELECT coalesce(sum(cost_nano), 0)::bigint AS cost FROM usage_events WHERE request_id = ANY(${cappedIds})`
  expect(BigInt(cappedUsage!.cost)).toBeLessThanOrEqual(capNano)
  const [lineage] = await sql<{ lineage_id: string }[]>`SELECT lineage_id FROM end_user_sessions WHERE wallet_id = ${session.wallet_id} AND max_spend_nano IS NOT NULL`
  expect(BigInt((await redis.hget(lineageKey(holder, lineage!.lineage_id), 'spent'))!)).toBe(BigInt(cappedUsage!.cost))
  expect(sumNano(await ledger())).toBeGreaterThan(0n)

  // 6. Refusals: a model outside the scope, a page on another origin, an expired token, a revoked token.
  expect(await refusal(client.chat.completions.create({ model: 'openai/gpt-4o-mini', max_tokens: 16, messages: MESSAGES }))).toEqual({ status: 403, code: 'model_not_allowed' })
  expect(await refusal(browser(session.session_token, 'https://evil.example.com').chat.completions.create({ model: 'mock/echo', messages: MESSAGES }))).toEqual({
    status: 403,
    code: 'origin_not_allowed',
  })
  const expiring = await mintSession(gateway.url, secret, { customer: externalId })
  // The newest session of the wallet is the one just minted: it expires now.
  await sql`UPDATE end_user_sessions SET expires_at = now() - interval '1 second'
    WHERE id = (SELECT id FROM end_user_sessions WHERE wallet_id = ${session.wallet_id} ORDER BY created_at DESC, id DESC LIMIT 1)`
  // The token may be cached with its old expiry: a project change evicts it, so the next use reads it again.
  expect((await call(gateway.url, 'PATCH', `/v1/projects/${projectId}`, accountKey, { name: 'Flow app' })).status).toBe(200)
  expect(await refusal(browser(expiring.session_token).chat.completions.create({ model: 'mock/echo', messages: MESSAGES }))).toEqual({ status: 401, code: 'session_expired' })
  expect((await call(gateway.url, 'DELETE', `/v1/sessions/${session.session_token}`, secret)).status).toBeLessThan(300)
  expect(await refusal(client.chat.completions.create({ model: 'mock/echo', messages: MESSAGES }))).toEqual({ status: 401, code: 'invalid_api_key' })

  // 7. The developer's customers list: balance and lifetime spend are what the ledger says.
  const rows = await ledger()
  const listed = await call(gateway.url, 'GET', '/v1/customers', secret)
  expect(listed.status).toBe(200)
  const customer = listed.body.data.find((c: { id: string }) => c.id === session.end_customer_id)
  const spent = -sumNano(rows.filter((row) => row.kind === 'usage'))
  expect(spent).toBe(cost + BigInt(cappedUsage!.cost))
  expect(customer).toMatchObject({
    external_id: externalId,
    email: 'ada@example.com',
    mode: 'live',
    wallet: { id: session.wallet_id, balance_usd: formatNanoAsUsd(sumNano(rows)) },
    lifetime_spend_usd: formatNanoAsUsd(spent),
    lifetime_topped_up_usd: formatNanoAsUsd(net),
  })
}, 90_000)
