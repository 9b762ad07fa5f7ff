// Per-project webhooks: endpoints registered with a project's secret key hear wallet.credited (a credit, a Stripe top-up) and wallet.low_balance of its end users' wallets in that key's mode, signed, once each; nobody else's.
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { Webhook } from 'standardwebhooks'
import type { Sql } from '../../src/lib/db'
import { testDb } from '../helpers/db'
import { deliver, startFakeStripe, stripeEvent, type FakeStripe } from '../helpers/fake-stripe'
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream'
import { startGateway, upstreamEnv, type TestGateway } from '../helpers/gateway'
import { call, mintSession, projectWithKeys } from '../helpers/platform'
import { waitFor } from '../helpers/poll'

const STRIPE_KEY = 'sk_test_fake_project_hooks_0123456789'
const WEBHOOK_SECRET = 'whsec_project_hooks'

interface Received {
  path: string
  headers: Record<string, string>
  body: string
}
type Delivered = { id: string; type: string; data: Record<string, unknown> }

let gateway: TestGateway
let upstream: FakeUpstream
let fake: FakeStripe
let receiver: ReturnType<typeof Bun.serve>
let sql: Sql
const received: Received[] = []

beforeAll(async () => {
  receiver = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    async fetch(request) {
      const headers: Record<string, string> = {}
      request.headers.forEach((value, key) => (headers[key] = value))
      received.push({ path: new URL(request.url).pathname, headers, body: await request.text() })
      return new Response('ok')
    },
  })
  upstream = startFakeUpstream()
  fake = startFakeStripe({ secretKey: STRIPE_KEY })
  gateway = await startGateway({
    ...upstreamEnv(upstream.url),
    WEBHOOK_ALLOW_HTTP_LOOPBACK: 'true',
    STRIPE_SECRET_KEY: STRIPE_KEY,
    STRIPE_API_BASE: fake.url,
    STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
  })
  sql = await testDb(2)
}, 30_000)
afterAll(async () => {
  await gateway?.stop()
  await sql?.end()
  upstream?.stop()
  await fake?.stop()
  receiver?.stop(true)
})

const hookUrl = (path: string) => `http://127.0.0.1:${receiver.port}/${path}`
const deliveredTo = (path: string): (Delivered & { raw: Received })[] =>
  received.filter((r) => r.path === `/${path}`).map((r) => ({ ...(JSON.parse(r.body) as Delivered), raw: r }))

/** An endpoint for this key's project and mode, receiving on its own path; returns its signing secret. */
async function register(key: string, path: string, events = ['wallet.credited', 'wallet.low_balance']) {
  const created = await call(gateway.url, 'POST', '/v1/webhook_endpoints', key, { url: hookUrl(path), enabled_events: events })
  expect(created.status).toBe(201)
  return created.body as { id: string; secret: string }
}

/** Every stored event of these types has a logged delivery (so none is still on its way). */
const allLogged = (projectId: string, types: string[]) =>
  waitFor(async () => {
    const rows = await sql<{ pending: number }[]>`
      SELECT count(*)::int AS pending FROM webhook_events e
      WHERE e.project_id = ${projectId} AND e.type = ANY(${types}) AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = e.id)`
    return rows[0]!.pending === 0
  }, 5_000, `the deliveries of ${projectId}'s events`)

test('a credit and a top-up delivered twice each send one signed wallet.credited to the project endpoints of that mode only', async () => {
  const project = await projectWithKeys(gateway.url, { markup_percent: 20 })
  const live = await register(project.live, `credited-live-${project.id}`)
  await register(project.test, `credited-test-${project.id}`)
  // Another project of the same account, and the account's own endpoint: neither hears this project's wallets.
  const other = await projectWithKeys(gateway.url, {}, project.accountKey)
  await register(other.live, `credited-other-${project.id}`)
  const own = await call(gateway.url, 'POST', '/v1/webhook_endpoints', project.accountKey, { url: hookUrl(`credited-account-${project.id}`), enabled_events: ['wallet.credited'] })
  expect(own.status).toBe(201)

  const session = await mintSession(gateway.url, project.live, { customer: 'hooked' })
  for (let i = 0; i < 2; i++) {
    expect((await call(gateway.url, 'POST', `/v1/wallets/${session.wallet_id}/credit`, project.live, { amount_usd: '2.50', reason: 'bonus' }, { 'idempotency-key': 'bonus-1' })).status).toBeLessThan(300)
  }
  const topUp = await call(gateway.url, 'POST', '/v1/wallet/top-up', session.session_token, { amount_usd: '10.00' })
  expect(topUp.status).toBe(200)
  const paid = stripeEvent('payment_intent.succeeded', fake.succeedPaymentIntent(topUp.body.payment_intent_id))
  for (let i = 0; i < 2; i++) expect((await deliver(`${gateway.url}/stripe/webhook`, paid, WEBHOOK_SECRET)).status).toBe(200)

  const events = await waitFor(() => deliveredTo(`credited-live-${project.id}`).length >= 2 && deliveredTo(`credited-live-${project.id}`), 5_000, 'two wallet.credited')
  await allLogged(project.id, ['wallet.credited'])
  const ledger = await sql<{ id: string; amount_nano: string }[]>`SELECT id, amount_nano FROM ledger WHERE account_id = ${`wallet:${session.wallet_id}`} ORDER BY id`
  expect(ledger.map((row) => row.amount_nano)).toEqual(['2500000000', '8333333333'])
  expect(events.map(({ type, data }) => ({ type, data }))).toEqual([
    { type: 'wallet.credited', data: { wallet_id: session.wallet_id, end_customer_id: session.end_customer_id, mode: 'live', ledger_id: ledger[0]!.id, amount_usd: '2.50', balance_usd: '2.50', reason: 'bonus' } },
    {
      type: 'wallet.credited',
      data: {
        wallet_id: session.wallet_id,
        end_customer_id: session.end_customer_id,
        mode: 'live',
        ledger_id: ledger[1]!.id,
        amount_usd: '8.333333333',
        balance_usd: '10.833333333',
        reason: 'top_up',
        payment_intent_id: topUp.body.payment_intent_id,
      },
    },
  ])
  const verifier = new Webhook(live.secret)
  for (const event of events) expect(() => verifier.verify(event.raw.body, event.raw.headers)).not.toThrow()
  expect(deliveredTo(`credited-test-${project.id}`)).toEqual([])
  expect(deliveredTo(`credited-other-${project.id}`)).toEqual([])
  expect(deliveredTo(`credited-account-${project.id}`)).toEqual([])
})

test("wallet.low_balance is sent once when usage takes an end user's wallet below the project's threshold", async () => {
  const project = await projectWithKeys(gateway.url)
  const patched = await call(gateway.url, 'PATCH', `/v1/projects/${project.id}`, project.accountKey, { low_balance_threshold_usd: '0.0007' })
  expect(patched.status).toBe(200)
  expect(patched.body.low_balance_threshold_usd).toBe('0.0007')
  const endpoint = await register(project.live, `low-${project.id}`, ['wallet.low_balance'])
  const session = await mintSession(gateway.url, project.live, { customer: 'spender' })
  expect((await call(gateway.url, 'POST', `/v1/wallets/${session.wallet_id}/credit`, project.live, { amount_usd: '0.001' })).status).toBe(201)
  // Each call costs $0.0001475 (the fixture's 19 in / 10 out at gpt-4o prices): $0.001 → … → below $0.0007 on the third.
  for (let i = 0; i < 5; i++) {
    const reply = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${session.session_token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'openai/gpt-4o', max_tokens: 16, messages: [{ role: 'system', content: 'You are a helpful assistant.' }, { role: 'user', content: 'Hello!' }] }),
    })
    expect(reply.status).toBe(200)
    await reply.text()
    const requestId = reply.headers.get('x-request-id')!
    // Each call's usage is committed before the next is sent, so each batch is one call.
    await waitFor(async () => (await sql`SELECT 1 FROM ledger WHERE reference = ${requestId} AND kind = 'usage'`).length === 1, 5_000, `the usage of ${requestId}`)
  }
  const low = await waitFor(() => deliveredTo(`low-${project.id}`).length > 0 && deliveredTo(`low-${project.id}`), 5_000, 'a wallet.low_balance')
  await allLogged(project.id, ['wallet.low_balance'])
  const [balance] = await sql<{ sum: string }[]>`SELECT sum(amount_nano)::bigint AS sum FROM ledger WHERE account_id = ${`wallet:${session.wallet_id}`}`
  expect(low.map(({ type, data }) => ({ type, data }))).toEqual([
    { type: 'wallet.low_balance', data: { wallet_id: session.wallet_id, end_customer_id: session.end_customer_id, mode: 'live', balance_usd: '0.0005575', threshold_usd: '0.0007' } },
  ])
  // Five calls in, the wallet holds 0.001 − 5 × 0.0001475; the event named the balance at the crossing (the third).
  expect(BigInt(balance!.sum)).toBe(1_000_000n - 5n * 147_500n)
  expect(() => new Webhook(endpoint.secret).verify(low[0]!.raw.body, low[0]!.raw.headers)).not.toThrow()
  // Turned off, the threshold is null again.
  expect((await call(gateway.url, 'PATCH', `/v1/projects/${project.id}`, project.accountKey, { low_balance_threshold_usd: null })).body.low_balance_threshold_usd).toBeNull()
}, 30_000)

test("a secret key sees and changes only its project's endpoints of its mode; project endpoints take wallet events only", async () => {
  const project = await projectWithKeys(gateway.url)
  const other = await projectWithKeys(gateway.url)
  const live = await register(project.live, `scoped-${project.id}`)
  const listed = async (key: string) => ((await call(gateway.url, 'GET', '/v1/webhook_endpoints', key)).body.data as { id: string }[]).map((e) => e.id)
  expect(await listed(project.live)).toEqual([live.id])
  expect(await listed(project.test)).toEqual([])
  expect(await listed(project.accountKey)).toEqual([])
  expect(await listed(other.live)).toEqual([])
  for (const key of [other.live, project.test, project.accountKey]) {
    expect((await call(gateway.url, 'DELETE', `/v1/webhook_endpoints/${live.id}`, key)).status).toBe(404)
    expect((await call(gateway.url, 'POST', `/v1/webhook_endpoints/${live.id}/rotate_secret`, key)).status).toBe(404)
  }
  const refused = await call(gateway.url, 'POST', '/v1/webhook_endpoints', project.live, { url: hookUrl('x'), enabled_events: ['subscription.updated'] })
  expect(refused.status).toBe(400)
  expect(refused.body.error.param).toBe('enabled_events')
  expect((await call(gateway.url, 'GET', `/v1/webhook_endpoints/${live.id}/deliveries`, project.live)).status).toBe(200)
  expect((await call(gateway.url, 'DELETE', `/v1/webhook_endpoints/${live.id}`, project.live)).status).toBe(200)
  expect(await listed(project.live)).toEqual([])
  expect((await call(gateway.url, 'GET', '/v1/webhook_endpoints', 'sk_live_not_a_key_0123456789abcdef')).status).toBe(401)
})
