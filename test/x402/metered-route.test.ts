// A `type: metered` "POST /v1/chat/completions" route with a markup: answered by the route's own upstream with its headers, paid with upto by the tokens used plus the markup.
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { x402Client } from '@x402/core/client'
import { UptoEvmScheme } from '@x402/evm/upto/client'
import { wrapFetchWithPayment } from '@x402/fetch'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { usdcOn } from '../../src/x402/assets'
import { startFakeChain, type FakeChain } from '../helpers/fake-chain'
import { startFakeFacilitator, type FakeFacilitator } from '../helpers/fake-facilitator'
import { startUptoFacilitator, type UptoFacilitator } from '../helpers/fake-facilitator/upto'
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream'
import { startGateway, TEST_KEY, type TestGateway } from '../helpers/gateway'
import { waitFor } from '../helpers/poll'

const USDC = usdcOn('base-sepolia')!
const PAY_TO = privateKeyToAccount(generatePrivateKey()).address
const ROUTE_SECRET = 'sk-route-upstream-secret-0123456789'

let upstream: FakeUpstream
let chain: FakeChain
let exact: FakeFacilitator
let facilitator: UptoFacilitator
let gateway: TestGateway

beforeAll(async () => {
  upstream = startFakeUpstream()
  chain = startFakeChain(USDC.chainId, USDC.address)
  exact = startFakeFacilitator()
  facilitator = startUptoFacilitator(chain, exact, ['eip155:84532'])
  const path = join(mkdtempSync(join(tmpdir(), 'mw-metered-route-')), 'gateway.yaml')
  writeFileSync(
    path,
    `wallets: { base-sepolia: "${PAY_TO}" }
accepts: [{ asset: USDC, network: base-sepolia }]
facilitator: { url: "${facilitator.url}" }
upstreams:
  compatible:
    url: "${upstream.url}"
    headers: { authorization: "Bearer ${ROUTE_SECRET}" }
routes:
  "POST /v1/chat/completions":
    upstream: compatible
    type: metered
    markup: "20%"
`,
  )
  // No provider settings: every answer must come from the route's upstream.
  gateway = await startGateway({ GATEWAY_CONFIG: path })
})
afterAll(async () => {
  await gateway.stop()
  facilitator.stop()
  exact.stop()
  chain.stop()
  upstream.stop()
})

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
