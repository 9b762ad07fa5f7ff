// A `type: metered` "POST /v1/chat/completions" route with a markup: answered by the route's own upstream with its headers, paid with upto by the tokens used plus the markup.
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { x402Client } from '@x402/core/client'
import { UptoEvmScheme } from '@x402/evm/upto/client'
import { wrapFetchWithPayment } from '@x402/fetch'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { TEST_KEY } from '../helpers/gateway'
import { waitFor } from '../helpers/poll'
import { startX402Stack, type X402Stack } from '../helpers/x402-stack'

const PAY_TO = privateKeyToAccount(generatePrivateKey()).address
const ROUTE_SECRET = 'sk-route-upstream-secret-0123456789'

let stack: X402Stack
let { upstream, chain, gateway } = {} as X402Stack

beforeAll(async () => {
  // No provider settings: every answer must come from the route's upstream.
  stack = await startX402Stack({
    payTo: PAY_TO,
    sections: ({ upstreamUrl }) => `upstreams:
  compatible:
    url: "${upstreamUrl}"
    headers: { authorization: "Bearer ${ROUTE_SECRET}" }
routes:
  "POST /v1/chat/completions":
    upstream: compatible
    type: metered
    markup: "20%"
`,
  })
  ;({ upstream, chain, gateway } = stack)
})
afterAll(() => stack?.stop())

test('paid with upto, answered by the route upstream with its headers, settled by the tokens used', async () => {
  const account = privateKeyToAccount(generatePrivateKey())
  chain.balances.set(account.address.toLowerCase(), 1_000_000n)
  chain.allowances.set(account.address.toLowerCase(), 1_000_000n)
  const paying = wrapFetchWithPayment(fetch, x402Client.fromConfig({ schemes: [{ network: 'eip155:*', client: new UptoEvmScheme(account) }] }))
  const body = { model: 'openai/gpt-4o', max_tokens: 2_000, stream: true, messages: [{ role: 'user', content: 'scenario:long count' }] }
  const response = await paying(`${gateway.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  expect(response.status).toBe(200)
  await response.text()
  const sent = upstream.requests.at(-1)!
  expect(sent.path).toBe('/v1/chat/completions')
  expect(sent.headers.authorization).toBe(`Bearer ${ROUTE_SECRET}`)
  expect(sent.body.model).toBe('gpt-4o')
  // 19 prompt + 1,000 completion tokens at gpt-4o's prices: 10,047,500 nano-USD; plus 20%: 12,057,000 → 12,057 atomic units.
  const transfer = await waitFor(() => chain.transfers.find((t) => t.from === account.address), 5_000, 'the settlement')
  expect(transfer.amount).toBe(12_057n)
  expect(transfer.amount).toBeLessThanOrEqual(BigInt(response.headers.get('x-payment-max-amount')!))
  expect(transfer.to).toBe(PAY_TO)
})

test('a request with an API key is still the built-in route (its own providers, not paid by x402)', async () => {
  const before = upstream.requests.length
  const response = await fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${TEST_KEY}` },
    body: JSON.stringify({ model: 'mock/echo', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] }),
  })
  expect(response.status).toBe(200)
  expect(response.headers.get('payment-required')).toBeNull()
  expect(upstream.requests.length).toBe(before)
})
