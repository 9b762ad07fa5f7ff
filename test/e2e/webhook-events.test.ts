// The gateway tells a customer about their money: credits, subscription changes and a reached cap arrive signed, once each.
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { Webhook } from 'standardwebhooks'
import { lowBalanceCrossings } from '../../src/db/queries/low-balance'
import type { Sql } from '../../src/lib/db'
import { testDb, uniqueId } from '../helpers/db'
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream'
import { ADMIN_TOKEN, startGateway, upstreamEnv, type TestGateway } from '../helpers/gateway'
import { waitFor } from '../helpers/poll'

interface Received {
  headers: Record<string, string>
  body: string
}

let gateway: TestGateway
let upstream: FakeUpstream
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
      received.push({ headers, body: await request.text() })
      return new Response('ok')
    },
  })
  upstream = startFakeUpstream()
  gateway = await startGateway({ ...upstreamEnv(upstream.url), WEBHOOK_ALLOW_HTTP_LOOPBACK: 'true' })
  sql = await testDb(2)
})
afterAll(async () => {
  await gateway.stop()
  await sql.end()
  upstream.stop()
  receiver.stop(true)
})

const json = async <T>(response: Response) => (await response.json()) as T
const admin = (path: string, method: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${gateway.url}/admin/agents${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  })

type Delivered = { id: string; type: string; data: Record<string, unknown> }
const deliveredOf = (type: string): Delivered[] => received.map((r) => JSON.parse(r.body) as Delivered).filter((e) => e.type === type)

/** The deliveries of that type, once at least one arrived. */
const eventsOf = (type: string) => waitFor(() => deliveredOf(type).length > 0 && deliveredOf(type), 5_000, `a ${type} delivery`)

/** The account's stored events of these types, with their logged delivery attempts, once each has at least one. */
async function storedEvents(accountId: string, types: string[]): Promise<{ type: string; attempts: number }[]> {
  return waitFor(async () => {
    const rows = await sql<{ type: string; attempts: number }[]>`
      SELECT e.type, count(d.id)::int AS attempts
      FROM webhook_events e LEFT JOIN webhook_deliveries d ON d.event_id = e.id
      WHERE e.account_id = ${accountId} AND e.type = ANY(${types}) GROUP BY e.id, e.type ORDER BY e.type`
    return rows.every((row) => row.attempts > 0) && rows
  }, 5_000, `the deliveries of ${accountId}'s events to be logged`)
}

/** The usage of a request is committed (its usage row and ledger debit are written in one transaction). */
const usageCommitted = (requestId: string) =>
  waitFor(async () => (await sql`SELECT 1 FROM ledger WHERE reference = ${requestId} AND kind = 'usage'`).length === 1, 5_000, `the usage of ${requestId}`)

test('wallet.credited, subscription.updated and spending_cap.reached reach a registered endpoint, signed, once each', async () => {
  const id = uniqueId('hooks')
  const { api_key } = await json<{ api_key: string }>(
    await fetch(`${gateway.url}/agents/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ agent_id: id, name: 'Hooks' }) }),
  )
  const endpoint = await json<{ id: string; secret: string }>(
    await fetch(`${gateway.url}/v1/webhook_endpoints`, {
      method: 'POST',
      headers: { authorization: `Bearer ${api_key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ url: `http://127.0.0.1:${receiver.port}/hooks`, enabled_events: ['wallet.credited', 'subscription.updated', 'spending_cap.reached'] }),
    }),
  )
  expect(endpoint.secret).toStartWith('whsec_')

  expect((await admin(`/${id}/subscription`, 'POST', { status: 'active' })).status).toBe(200)
  expect((await admin(`/${id}/credit`, 'POST', { usd: '5.00', reason: 'top-up' }, { 'idempotency-key': 'k1' })).status).toBe(201)
  // A replayed credit is no new money: no second event.
  expect((await admin(`/${id}/credit`, 'POST', { usd: '5.00', reason: 'top-up' }, { 'idempotency-key': 'k1' })).status).toBe(200)
  // A cap smaller than any hold: every call is refused, the event is sent once for the month.
  expect((await admin(`/${id}/spend-cap`, 'PUT', { usd: '0.000001' })).status).toBe(200)
  for (let i = 0; i < 3; i++) {
    const refused = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${api_key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'openai/gpt-4o', messages: [{ role: 'user', content: 'hi' }] }),
    })
    expect(refused.status).toBe(402)
  }

  const [credited] = await eventsOf('wallet.credited')
  expect(credited?.data).toMatchObject({ amount_usd: '5.00', balance_usd: '5.00', reason: 'top-up' })
  const [updated] = await eventsOf('subscription.updated')
  expect(updated?.data).toMatchObject({ subscription_status: 'active' })
  const capped = await eventsOf('spending_cap.reached')
  expect(capped).toHaveLength(1)

  // Once each: three events stored (the replayed credit and the repeated refusals added none), each delivered in one
  // attempt (a job that got its 200 is done), and nothing else reached the receiver.
  expect(await storedEvents(id, ['spending_cap.reached', 'subscription.updated', 'wallet.credited'])).toEqual([
    { type: 'spending_cap.reached', attempts: 1 },
    { type: 'subscription.updated', attempts: 1 },
    { type: 'wallet.credited', attempts: 1 },
  ])
  const types = received.map((r) => JSON.parse(r.body).type).sort()
  expect(types).toEqual(['spending_cap.reached', 'subscription.updated', 'wallet.credited'])
  // Every delivery verifies with the standardwebhooks library and the endpoint's secret.
  const verifier = new Webhook(endpoint.secret)
  for (const delivery of received) expect(() => verifier.verify(delivery.body, delivery.headers)).not.toThrow()
})

test('wallet.low_balance is sent once when usage takes a prepaid wallet below its threshold, not again while it stays below', async () => {
  const id = uniqueId('lowbal')
  const { api_key } = await json<{ api_key: string }>(
    await fetch(`${gateway.url}/agents/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ agent_id: id, name: 'Low' }) }),
  )
  const endpoint = await json<{ secret: string }>(
    await fetch(`${gateway.url}/v1/webhook_endpoints`, {
      method: 'POST',
      headers: { authorization: `Bearer ${api_key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ url: `http://127.0.0.1:${receiver.port}/low`, enabled_events: ['wallet.low_balance'] }),
    }),
  )
  expect((await admin(`/${id}/subscription`, 'POST', { status: 'active' })).status).toBe(200)
  expect((await admin(`/${id}/billing`, 'PUT', { mode: 'prepaid' })).status).toBe(200)
  expect((await admin(`/${id}/low-balance-threshold`, 'PUT', { usd: '0.0007' })).status).toBe(200)
  expect((await admin(`/${id}/credit`, 'POST', { usd: '0.001', reason: 'start' })).status).toBe(201)
  // Each call costs $0.0001475 (the fixture's 19 in / 10 out at gpt-4o prices): $0.001 → … → below $0.0007 on the third.
  const requestIds: string[] = []
  for (let i = 0; i < 5; i++) {
    const reply = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${api_key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'openai/gpt-4o', max_tokens: 16, messages: [{ role: 'system', content: 'You are a helpful assistant.' }, { role: 'user', content: 'Hello!' }] }),
    })
    expect(reply.status).toBe(200)
    await reply.text()
    // Each call's usage is committed before the next is sent, so each batch is one call and the crossing batch is the third.
    requestIds.push(reply.headers.get('x-request-id')!)
    await usageCommitted(requestIds[i]!)
  }
  const low = (await eventsOf('wallet.low_balance')).filter((e) => e.data.threshold_usd === '0.0007')
  expect(low).toHaveLength(1)
  expect(low[0]!.data.balance_usd).toBe('0.0005575')
  // Not again while it stays below: the batches after the crossing cross nothing, and one event was stored.
  for (const requestId of requestIds.slice(3)) expect(await lowBalanceCrossings(sql, [requestId], 0n)).toEqual([])
  expect(await storedEvents(id, ['wallet.low_balance'])).toEqual([{ type: 'wallet.low_balance', attempts: 1 }])
  const verifier = new Webhook(endpoint.secret)
  const delivery = received.find((r) => JSON.parse(r.body).id === low[0]!.id)!
  expect(() => verifier.verify(delivery.body, delivery.headers)).not.toThrow()
})
