// The gateway tells a customer about their money: credits, subscription changes and a reached cap arrive signed, once each.
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { Webhook } from 'standardwebhooks'
import { uniqueId } from '../helpers/db'
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream'
import { ADMIN_TOKEN, startGateway, upstreamEnv, type TestGateway } from '../helpers/gateway'

interface Received {
  headers: Record<string, string>
  body: string
}

let gateway: TestGateway
let upstream: FakeUpstream
let receiver: ReturnType<typeof Bun.serve>
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
})
afterAll(async () => {
  await gateway.stop()
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

async function eventsOf(type: string, limitMs = 5_000): Promise<{ id: string; type: string; data: Record<string, unknown> }[]> {
  const stopAt = Date.now() + limitMs
  for (;;) {
    const events = received.map((r) => JSON.parse(r.body)).filter((e) => e.type === type)
    if (events.length > 0 || Date.now() > stopAt) return events
    await Bun.sleep(25)
  }
}

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

  await Bun.sleep(300)
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
  for (let i = 0; i < 5; i++) {
    const reply = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${api_key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'openai/gpt-4o', max_tokens: 16, messages: [{ role: 'system', content: 'You are a helpful assistant.' }, { role: 'user', content: 'Hello!' }] }),
    })
    expect(reply.status).toBe(200)
    await reply.text()
    // Let each call's usage reach Postgres, so each batch is one call and the crossing batch is the third.
    await Bun.sleep(400)
  }
  const low = (await eventsOf('wallet.low_balance')).filter((e) => e.data.threshold_usd === '0.0007')
  expect(low).toHaveLength(1)
  expect(low[0]!.data.balance_usd).toBe('0.0005575')
  const verifier = new Webhook(endpoint.secret)
  const delivery = received.find((r) => JSON.parse(r.body).id === low[0]!.id)!
  expect(() => verifier.verify(delivery.body, delivery.headers)).not.toThrow()
})
