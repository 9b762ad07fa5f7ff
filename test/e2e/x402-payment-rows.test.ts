// A paid route's payments end in x402_payments through the queue and the worker: listed by GET /admin/payments with payer, route, amount and transaction.
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { startFakeFacilitator, type FakeFacilitator } from '../helpers/fake-facilitator'
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream'
import { ADMIN_TOKEN, startGateway, upstreamEnv, type TestGateway } from '../helpers/gateway'
import { waitFor } from '../helpers/poll'
import { newPayer, seedConfigFor, settlementOf } from '../helpers/x402'

const payTo = privateKeyToAccount(generatePrivateKey()).address
let upstream: FakeUpstream
let facilitator: FakeFacilitator
let gateway: TestGateway

beforeAll(async () => {
  upstream = startFakeUpstream()
  facilitator = startFakeFacilitator()
  const path = seedConfigFor('seed-flat-per-request.yaml', { upstreamUrl: upstream.url, payTo, facilitatorUrl: facilitator.url })
  gateway = await startGateway({ ...upstreamEnv(upstream.url), GATEWAY_CONFIG: path })
})
afterAll(async () => {
  await gateway?.stop()
  upstream?.stop()
  facilitator?.stop()
})

test('a paid request is stored once with its settlement, and listed for its month', async () => {
  const payer = newPayer()
  const response = await payer.fetch(`${gateway.url}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'claude-haiku-4-5-20251001', max_tokens: 64, messages: [{ role: 'user', content: 'Hello' }] }),
  })
  expect(response.status).toBe(200)
  await response.text()
  const requestId = response.headers.get('x-request-id')!
  const settlement = settlementOf(response)
  const period = new Date().toISOString().slice(0, 7)
  const row = await waitFor(
    async () => {
      const page = (await (await fetch(`${gateway.url}/admin/payments?period=${period}&limit=1000`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).json()) as { data: Record<string, unknown>[] }
      return page.data.find((p) => p.request_id === requestId)
    },
    5_000,
    'the payment row',
  )
  expect(row).toMatchObject({
    route: 'POST /v1/messages',
    payer: payer.account.address,
    network: 'eip155:8453',
    pay_to: payTo,
    amount_atomic: '5000',
    amount_nano: '5000000',
    scheme: 'exact',
    status: 'settled',
    transaction: settlement.transaction,
  })
})
