// The gateway tells a customer about their money: credits, subscription changes and a reached cap arrive signed, once each.
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { Webhook } from 'standardwebhooks'
import { uniqueId } from '../helpers/db'
import { ADMIN_TOKEN, startGateway, type TestGateway } from '../helpers/gateway'

interface Received {
  headers: Record<string, string>
  body: string
}

let gateway: TestGateway
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
  gateway = await startGateway({ WEBHOOK_ALLOW_HTTP_LOOPBACK: 'true' })
})
afterAll(async () => {
  await gateway.stop()
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
