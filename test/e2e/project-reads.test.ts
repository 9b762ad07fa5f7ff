// The account's read routes of a project (what the dashboard shows): keys, customers, daily usage per model, the ledger with top-ups and margin, webhook endpoints and deliveries — equal to the rows they sum, and another account's project a 404.
import { afterAll, beforeAll, expect, test } from 'bun:test'
import type Redis from 'ioredis'
import type { Sql } from '../../src/lib/db'
import { createRedis } from '../../src/lib/redis'
import { formatNanoAsUsd } from '../../src/pricing/money'
import { testDb } from '../helpers/db'
import { deliver, startFakeStripe, stripeEvent, type FakeStripe } from '../helpers/fake-stripe'
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream'
import { startGateway, upstreamEnv, type TestGateway } from '../helpers/gateway'
import { waitForDrain } from '../helpers/money'
import { call, mintSession, projectWithKeys, type TestProject } from '../helpers/platform'
import { waitFor } from '../helpers/poll'

const STRIPE_KEY = 'sk_test_fake_project_reads_0123456789'
const WEBHOOK_SECRET = 'whsec_project_reads'

let upstream: FakeUpstream
let fake: FakeStripe
let gateway: TestGateway
let receiver: ReturnType<typeof Bun.serve>
let sql: Sql
let redis: Redis

beforeAll(async () => {
  receiver = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => new Response('ok') })
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
  redis = createRedis('redis://127.0.0.1:6379')
  await redis.connect()
}, 30_000)
afterAll(async () => {
  await gateway?.stop()
  await sql?.end()
  redis?.disconnect()
  upstream?.stop()
  await fake?.stop()
  receiver?.stop(true)
})

const thisMonth = () => new Date().toISOString().slice(0, 7)
const today = () => new Date().toISOString().slice(0, 10)
const get = (project: TestProject, path: string, key = project.accountKey) => call(gateway.url, 'GET', `/v1/projects/${project.id}${path}`, key)

/** An end user of the project in the secret key's mode, with $1 granted; `chat` sends one completion and returns its request id. */
async function endUser(secretKey: string, externalId: string) {
  const session = await mintSession(gateway.url, secretKey, { customer: { external_id: externalId, email: `${externalId}@example.com` } })
  expect((await call(gateway.url, 'POST', `/v1/wallets/${session.wallet_id}/credit`, secretKey, { amount_usd: '1.00', reason: 'Signup bonus' })).status).toBe(201)
  const ids: string[] = []
  const chat = async (model: string) => {
    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${session.session_token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model, max_tokens: 16, messages: [{ role: 'user', content: 'Hello!' }] }),
    })
    expect(response.status).toBe(200)
    await response.text()
    ids.push(response.headers.get('x-request-id')!)
  }
  const drained = () => waitForDrain(sql, redis, `wallet:${session.wallet_id}`, ids)
  return { session, chat, ids, drained }
}

/** Sums of usage_events for these request ids, as the API writes them. */
async function usageOf(requestIds: string[]) {
  const [row] = await sql<{ requests: string; input: string; output: string; cost: string }[]>`
    SELECT count(*)::bigint AS requests, coalesce(sum(input_tokens), 0)::bigint AS input, coalesce(sum(output_tokens), 0)::bigint AS output,
           coalesce(sum(cost_nano), 0)::bigint AS cost
    FROM usage_events WHERE request_id = ANY(${requestIds})`
  return { requests: Number(row!.requests), input: Number(row!.input), output: Number(row!.output), cost_usd: formatNanoAsUsd(BigInt(row!.cost)) }
}

test('keys: every key of the project with its mode and display, revoked ones marked, never the secret', async () => {
  const project = await projectWithKeys(gateway.url)
  const listed = await get(project, '/keys')
  expect(listed.status).toBe(200)
  expect(listed.body.data.map((k: { mode: string }) => k.mode)).toEqual(['live', 'test'])
  expect(JSON.stringify(listed.body)).not.toContain(project.live)
  expect(listed.body.data[0].display).toBe(`${project.live.slice(0, 12)}…`)
  const liveId = listed.body.data[0].id as string
  expect((await call(gateway.url, 'DELETE', `/v1/projects/${project.id}/keys/${liveId}`, project.accountKey)).status).toBe(200)
  const after = await get(project, '/keys')
  expect(after.body.data.map((k: { id: string; revoked_at: string | null }) => [k.id, k.revoked_at !== null])).toEqual([
    [liveId, true],
    [listed.body.data[1].id, false],
  ])
})

test('daily usage, customers and the ledger add up to the usage rows and ledger entries, by mode and by customer', async () => {
  const project = await projectWithKeys(gateway.url, { markup_percent: 20 })
  const alice = await endUser(project.live, 'alice')
  const bob = await endUser(project.live, 'bob')
  const tess = await endUser(project.test, 'tess')
  await alice.chat('openai/gpt-4o')
  await alice.chat('openai/gpt-4o')
  await alice.chat('openai/gpt-4o-mini')
  await bob.chat('openai/gpt-4o')
  await tess.chat('mock/echo')
  await Promise.all([alice.drained(), bob.drained(), tess.drained()])

  // Daily usage: every day of the month listed, today's split per model as the usage rows say.
  const daily = await get(project, `/usage/daily?period=${thisMonth()}`)
  expect(daily.status).toBe(200)
  const [year, month] = thisMonth().split('-').map(Number)
  const daysInMonth = new Date(Date.UTC(year!, month!, 0)).getUTCDate()
  expect(daily.body.days.length).toBe(daysInMonth)
  expect(daily.body.days[0].date).toBe(`${thisMonth()}-01`)
  expect(daily.body.models).toEqual(['mock/echo', 'openai/gpt-4o', 'openai/gpt-4o-mini'])
  const day = daily.body.days.find((d: { date: string }) => d.date === today())
  const liveGpt4o = [...alice.ids.slice(0, 2), ...bob.ids]
  expect(day.by_model).toEqual({
    'mock/echo': await usageOf(tess.ids),
    'openai/gpt-4o': await usageOf(liveGpt4o),
    'openai/gpt-4o-mini': await usageOf(alice.ids.slice(2)),
  })
  const all = [...alice.ids, ...bob.ids, ...tess.ids]
  expect(daily.body.totals).toEqual(await usageOf(all))
  expect(daily.body.days.filter((d: { requests: number }) => d.requests > 0).map((d: { date: string }) => d.date)).toEqual([today()])
  // The month's total agrees with the monthly report.
  const monthly = await get(project, `/usage?period=${thisMonth()}`)
  expect(daily.body.totals.cost_usd).toBe(monthly.body.cost_usd)

  const live = await get(project, '/usage/daily?mode=live')
  expect(live.body.models).toEqual(['openai/gpt-4o', 'openai/gpt-4o-mini'])
  expect(live.body.totals).toEqual(await usageOf([...alice.ids, ...bob.ids]))
  const ofAlice = await get(project, `/usage/daily?end_customer_id=${alice.session.end_customer_id}`)
  expect(ofAlice.body).toMatchObject({ end_customer_id: alice.session.end_customer_id, totals: await usageOf(alice.ids) })
  const leap = await get(project, '/usage/daily?period=2024-02')
  expect(leap.body).toMatchObject({ period_start: '2024-02-01T00:00:00Z', period_end: '2024-02-29T23:59:59Z', models: [], totals: { requests: 0, cost_usd: '0.00' } })
  expect(leap.body.days.length).toBe(29)

  // A top-up of Alice's: $10 at 20 % credits 8.333333333 and earns the project 1.666666667 of margin.
  const topUp = await call(gateway.url, 'POST', '/v1/wallet/top-up', alice.session.session_token, { amount_usd: '10.00' })
  expect(topUp.status).toBe(200)
  const paymentIntentId = topUp.body.payment_intent_id as string
  const event = stripeEvent('payment_intent.succeeded', fake.succeedPaymentIntent(paymentIntentId))
  expect((await deliver(`${gateway.url}/stripe/webhook`, event, WEBHOOK_SECRET)).status).toBe(200)

  // Customers: both modes, with balances and lifetime totals from the ledger.
  const customers = await get(project, '/customers')
  expect(customers.status).toBe(200)
  const byExternal = Object.fromEntries(customers.body.data.map((c: { external_id: string }) => [c.external_id, c]))
  expect(Object.keys(byExternal).sort()).toEqual(['alice', 'bob', 'tess'])
  const balanceOf = async (walletId: string) => {
    const [row] = await sql<{ balance: string }[]>`SELECT coalesce(sum(amount_nano), 0)::bigint AS balance FROM ledger WHERE account_id = ${`wallet:${walletId}`}`
    return formatNanoAsUsd(BigInt(row!.balance))
  }
  expect(byExternal.alice).toMatchObject({
    id: alice.session.end_customer_id,
    mode: 'live',
    email: 'alice@example.com',
    wallet: { id: alice.session.wallet_id, balance_usd: await balanceOf(alice.session.wallet_id) },
    lifetime_spend_usd: (await usageOf(alice.ids)).cost_usd,
    lifetime_topped_up_usd: '9.333333333',
  })
  expect(byExternal.tess).toMatchObject({ mode: 'test', lifetime_topped_up_usd: '1.00' })
  expect((await get(project, '/customers?mode=test')).body.data.map((c: { external_id: string }) => c.external_id)).toEqual(['tess'])
  const firstPage = await get(project, '/customers?limit=2')
  expect(firstPage.body).toMatchObject({ has_more: true })
  const secondPage = await get(project, `/customers?limit=2&starting_after=${firstPage.body.data[1].id}`)
  expect(secondPage.body.has_more).toBe(false)
  expect([...firstPage.body.data, ...secondPage.body.data].map((c: { id: string }) => c.id)).toEqual(customers.body.data.map((c: { id: string }) => c.id))

  // The ledger: every wallet entry of the project, its totals, the top-up and the margin row.
  const ledger = await get(project, '/ledger?mode=live')
  expect(ledger.status).toBe(200)
  const liveSpend = await usageOf([...alice.ids, ...bob.ids])
  const spentNano = BigInt(Math.round(Number(liveSpend.cost_usd) * 1e9))
  expect(ledger.body.wallets).toEqual({
    credited_usd: '10.333333333',
    spent_usd: liveSpend.cost_usd,
    adjusted_usd: '0.00',
    balance_usd: formatNanoAsUsd(10_333_333_333n - spentNano),
  })
  expect(ledger.body.margin).toEqual({ earned_usd: '1.666666667', refunded_usd: '0.00', net_usd: '1.666666667' })
  expect(ledger.body.top_ups).toEqual([
    expect.objectContaining({ payment_intent_id: paymentIntentId, external_id: 'alice', amount_usd: '10.00', net_usd: '8.333333333', margin_usd: '1.666666667', markup_bps: 2000 }),
  ])
  expect(ledger.body.margin_entries).toEqual([expect.objectContaining({ kind: 'top_up', amount_usd: '1.666666667', payment_intent_id: paymentIntentId })])
  // 2 grants, 1 top-up credit and 4 usage debits, newest first; the test wallet's are not in the live ledger.
  expect(ledger.body.entries.map((e: { kind: string }) => e.kind).sort()).toEqual(['credit', 'credit', 'credit', 'usage', 'usage', 'usage', 'usage'])
  expect(ledger.body.entries[0]).toMatchObject({ kind: 'credit', reference: paymentIntentId, markup_bps: 2000, external_id: 'alice', amount_usd: '8.333333333' })
  const ids = ledger.body.entries.map((e: { id: string }) => Number(e.id))
  expect(ids).toEqual([...ids].sort((a, b) => b - a))
  const usageRefs = ledger.body.entries.filter((e: { kind: string }) => e.kind === 'usage').map((e: { reference: string }) => e.reference)
  expect(usageRefs.sort()).toEqual([...alice.ids, ...bob.ids].sort())
  // Both modes: the test wallet's grant too (its free mock/echo request cost nothing, so it has no debit row).
  expect((await get(project, '/ledger')).body.entries.length).toBe(8)
  expect((await get(project, '/ledger?limit=2')).body.entries.length).toBe(2)
  const bobsLedger = await get(project, `/ledger?end_customer_id=${bob.session.end_customer_id}`)
  expect(bobsLedger.body.entries.map((e: { external_id: string }) => e.external_id)).toEqual(['bob', 'bob'])
  expect(bobsLedger.body.top_ups).toEqual([])
}, 60_000)

test('webhook endpoints of both modes with their delivery counts, and each one delivery log; never a secret', async () => {
  const project = await projectWithKeys(gateway.url)
  const register = async (key: string, path: string) => {
    const created = await call(gateway.url, 'POST', '/v1/webhook_endpoints', key, { url: `http://127.0.0.1:${receiver.port}/${path}`, enabled_events: ['wallet.credited'] })
    expect(created.status).toBe(201)
    return created.body as { id: string; secret: string }
  }
  const liveHook = await register(project.live, 'live')
  const testHook = await register(project.test, 'test')
  const user = await endUser(project.live, 'hooked')
  const delivered = await waitFor(async () => {
    const listed = await get(project, '/webhook_endpoints')
    const live = listed.body.data.find((e: { id: string }) => e.id === liveHook.id)
    return live?.deliveries_24h === 1 ? listed : null
  }, 10_000, 'the wallet.credited delivery')
  expect(delivered.body.data.map((e: { id: string; mode: string }) => [e.id, e.mode])).toEqual([
    [liveHook.id, 'live'],
    [testHook.id, 'test'],
  ])
  expect(delivered.body.data[0]).toMatchObject({ status: 'enabled', enabled_events: ['wallet.credited'], failed_24h: 0, last_status_code: 200 })
  expect(delivered.body.data[1]).toMatchObject({ deliveries_24h: 0, last_delivery_at: null })
  expect(JSON.stringify(delivered.body)).not.toContain(liveHook.secret)
  expect(JSON.stringify(delivered.body)).not.toContain('secret')

  const deliveries = await get(project, `/webhook_endpoints/${liveHook.id}/deliveries`)
  expect(deliveries.status).toBe(200)
  expect(deliveries.body.data).toEqual([expect.objectContaining({ event_type: 'wallet.credited', attempt: 1, status_code: 200 })])
  expect(user.session.wallet_id).toBeTruthy()

  // Another project's endpoint, through this project, is not found.
  const other = await projectWithKeys(gateway.url, {}, project.accountKey)
  const foreignHook = await register(other.live, 'other')
  const crossed = await get(project, `/webhook_endpoints/${foreignHook.id}/deliveries`)
  expect(crossed.status).toBe(404)
  expect(crossed.body.error.code).toBe('webhook_endpoint_not_found')
}, 30_000)

test("another account's project is a 404 on every read; a secret key or none is a 401; bad filters are a 400 naming them", async () => {
  const mine = await projectWithKeys(gateway.url)
  const theirs = await projectWithKeys(gateway.url)
  const hook = await call(gateway.url, 'POST', '/v1/webhook_endpoints', theirs.live, { url: `http://127.0.0.1:${receiver.port}/x`, enabled_events: ['wallet.credited'] })
  const paths = ['/keys', '/customers', '/usage/daily', '/ledger', '/webhook_endpoints', `/webhook_endpoints/${hook.body.id}/deliveries`]
  for (const path of paths) {
    const foreign = await call(gateway.url, 'GET', `/v1/projects/${theirs.id}${path}`, mine.accountKey)
    expect(foreign.status, path).toBe(404)
    expect(foreign.body.error.code, path).toBe('project_not_found')
    expect((await get(theirs, path)).status, path).toBe(200)
    expect((await get(theirs, path, theirs.live)).status, path).toBe(401)
    expect((await call(gateway.url, 'GET', `/v1/projects/${theirs.id}${path}`, null)).status, path).toBe(401)
  }
  for (const [path, param] of [
    ['/customers?mode=prod', 'mode'],
    ['/customers?limit=0', 'limit'],
    ['/customers?limit=101', 'limit'],
    ['/ledger?limit=abc', 'limit'],
    ['/ledger?mode=LIVE', 'mode'],
    ['/usage/daily?period=2026-13', 'period'],
    ['/usage/daily?end_customer_id=', 'end_customer_id'],
    ['/webhook_endpoints/we_x/deliveries?limit=1000', 'limit'],
  ] as const) {
    const answer = await get(mine, path)
    expect(answer.status, path).toBe(400)
    expect(answer.body.error.param, path).toBe(param)
  }
})
