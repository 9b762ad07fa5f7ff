// A `type: metered` "POST /v1/messages" route with a markup: paid with upto through @x402/fetch, answered by the route's Anthropic-format upstream (fixtures byte for byte), settled exactly the usage cost plus the markup, never above the signed maximum; exact pays the quote.
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { decodePaymentRequiredHeader, decodePaymentResponseHeader } from '@x402/core/http'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import type { MessagesRequest } from '../../src/anthropic/messages-request'
import type { ChatDeps } from '../../src/modules/chat/service'
import { planMessage } from '../../src/modules/messages/service'
import { buildCatalog } from '../../src/pricing/catalog'
import { CATALOG_DATA, CATALOG_VERSION } from '../../src/pricing/catalog-data'
import { tokenClassCost } from '../../src/pricing/money'
import { routeProviders } from '../../src/providers/route'
import { withMarkup } from '../../src/x402/markup'
import { nanoToAtomicUp } from '../../src/x402/upto'
import { readFixture } from '../helpers/fixtures'
import { ADMIN_TOKEN } from '../helpers/gateway'
import { waitFor } from '../helpers/poll'
import { fundedPayer, startX402Stack, type X402Stack } from '../helpers/x402-stack'

const PAY_TO = privateKeyToAccount(generatePrivateKey()).address
const ROUTE_KEY = 'sk-ant-route-secret-0123456789'
const catalog = buildCatalog(CATALOG_DATA, CATALOG_VERSION)
const sonnet = catalog.find('anthropic/claude-sonnet-4')!
const MARKUP_BPS = 1250

let stack: X402Stack
let { upstream, chain, exact, facilitator, gateway } = {} as X402Stack

beforeAll(async () => {
  // No provider settings: every answer must come from the route's upstream.
  stack = await startX402Stack({
    payTo: PAY_TO,
    sections: ({ upstreamUrl }) => `gateway: { discovery: true }
upstreams:
  anthropic:
    url: "${upstreamUrl}"
    headers: { x-api-key: "${ROUTE_KEY}", anthropic-version: "2023-06-01" }
routes:
  "POST /v1/messages":
    upstream: anthropic
    type: metered
    markup: "12.5%"
`,
  })
  ;({ upstream, chain, exact, facilitator, gateway } = stack)
})
afterAll(() => stack?.stop())

const payer = (scheme: 'upto' | 'exact', balance?: bigint) => fundedPayer(chain, scheme, balance)

const body = (stream: boolean) => ({ model: 'claude-sonnet-4-20250514', max_tokens: 256, stream, messages: [{ role: 'user', content: 'Hello, Claude' }] })
const post = (f: (input: string, init?: RequestInit) => Promise<Response>, stream: boolean) => f(`${gateway.url}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body(stream)) })

/** The fixtures' usage (25 input, 12 output, no cache tokens) at claude-sonnet-4's prices: 255,000 nano-USD. */
const USAGE_NANO = tokenClassCost(25, sonnet.prices.input) + tokenClassCost(12, sonnet.prices.output)
/** Plus 12.5%: 286,875 nano-USD, 286.875 atomic units → 287 settled (rounded up once, at the end). */
const SETTLED = 287n

/** What the route quotes: the exchange's hold for this body, plus the markup, rounded up to atomic units. */
async function quoteOf(stream: boolean): Promise<bigint> {
  const deps = { catalog, providers: routeProviders({ name: 'anthropic', url: upstream.url, headers: {}, timeoutMs: null }, '/v1/messages', 'anthropic'), progressiveHoldTokens: 0 } as unknown as ChatDeps
  const principal = { accountId: 'x', keyId: 'x', mode: 'live', kind: 'static', subscriptionStatus: 'none', spendCapNano: null, limits: { rpm: null, tpm: null }, billingMode: 'postpaid' } as const
  const { plan } = await planMessage(deps, { requestId: 'req_quote', principal, body: body(stream) as MessagesRequest }, false)
  return nanoToAtomicUp(withMarkup(BigInt(plan.estimate.holdNano), MARKUP_BPS))
}

const adminPayments = async () =>
  ((await (await fetch(`${gateway.url}/admin/payments?period=${new Date().toISOString().slice(0, 7)}&limit=1000`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).json()) as {
    data: { request_id: string; payer: string; amount_atomic: string; scheme: string; status: string; route: string }[]
  }).data

test('without a payment: 402 quoting the hold plus the markup, with upto and exact; nothing sent upstream', async () => {
  expect(USAGE_NANO).toBe(255_000n)
  expect(nanoToAtomicUp(withMarkup(USAGE_NANO, MARKUP_BPS))).toBe(SETTLED)
  const response = await post(fetch, true)
  expect(response.status).toBe(402)
  const required = decodePaymentRequiredHeader(response.headers.get('payment-required')!)
  expect(required.accepts.map((r) => r.scheme)).toEqual(['upto', 'exact'])
  const quote = await quoteOf(true)
  // 256 output tokens at $15/1M are 3,840 units; with 12.5% on top at least 4,320.
  expect(quote).toBeGreaterThan(4_320n)
  expect(required.accepts.map((r) => r.amount)).toEqual([quote.toString(), quote.toString()])
  expect(required.resource.url).toBe(`${gateway.url}/v1/messages`)
  expect(upstream.requests.length).toBe(0)
})

for (const stream of [true, false]) {
  test(`${stream ? 'streamed' : 'not streamed'}, paid with upto: the route upstream's bytes, its headers, settled the usage cost plus the markup`, async () => {
    const { account, fetch: paying } = payer('upto')
    const response = await post(paying, stream)
    expect(response.status).toBe(200)
    expect(await response.text()).toBe(readFixture(stream ? 'anthropic.messages.stream.sse' : 'anthropic.messages.json'))
    const requestId = response.headers.get('x-request-id')!
    const maxAtomic = BigInt(response.headers.get('x-payment-max-amount')!)
    expect(maxAtomic).toBe(await quoteOf(stream))
    const sent = upstream.requests.at(-1)!
    expect(sent.path).toBe('/v1/messages')
    expect(sent.headers['x-api-key']).toBe(ROUTE_KEY)
    expect(sent.headers['anthropic-version']).toBe('2023-06-01')
    expect(sent.headers['payment-signature']).toBeUndefined()
    expect(sent.body.model).toBe('claude-sonnet-4-20250514')

    const transfer = await waitFor(() => chain.transfers.find((t) => t.from === account.address), 5_000, 'the settlement')
    expect(transfer.amount).toBe(SETTLED)
    expect(transfer.amount).toBeLessThanOrEqual(maxAtomic)
    expect(transfer.to).toBe(PAY_TO)
    const calls = facilitator.calls.filter((c) => (c.paymentPayload.payload as { permit2Authorization: { from: string } }).permit2Authorization.from === account.address)
    expect(calls.map((c) => [c.path, c.paymentRequirements.amount])).toEqual([
      ['/verify', maxAtomic.toString()],
      ['/settle', SETTLED.toString()],
    ])
    // The usage row is the cost before the markup; the payment is the cost with it.
    const record = await gateway.usageFor(requestId)
    expect(record.costNano).toBe(Number(USAGE_NANO))
    const row = await waitFor(async () => (await adminPayments()).find((p) => p.request_id === requestId), 5_000, 'the payment row')
    expect(row).toMatchObject({ payer: account.address, amount_atomic: '287', scheme: 'upto', status: 'settled', route: 'POST /v1/messages' })
  })
}

test('a client that speaks only exact pays the quote up front, with a PAYMENT-RESPONSE', async () => {
  const { account, fetch: paying } = payer('exact')
  const response = await post(paying, false)
  expect(response.status).toBe(200)
  expect(decodePaymentResponseHeader(response.headers.get('payment-response')!).success).toBe(true)
  expect(await response.text()).toBe(readFixture('anthropic.messages.json'))
  const settled = exact.settled().filter((c) => (c.paymentPayload.payload as { authorization: { from: string } }).authorization.from === account.address)
  expect(settled.map((c) => String(c.paymentRequirements.amount))).toEqual([(await quoteOf(false)).toString()])
})

test("an upstream error is answered in Anthropic's shape and settles what the meter billed (plus the markup), no more", async () => {
  const { account, fetch: paying } = payer('upto')
  const response = await paying(`${gateway.url}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...body(false), messages: [{ role: 'user', content: 'scenario:error-529' }] }) })
  expect(response.status).toBeGreaterThanOrEqual(500)
  const error = (await response.json()) as { type: string; error: { type: string; message: string } }
  expect(error.type).toBe('error')
  expect(JSON.stringify(error)).not.toContain(ROUTE_KEY)
  // The request reached the provider: the meter bills the prompt as it does for every payment method.
  const record = await gateway.usageFor(response.headers.get('x-request-id')!)
  expect(record.status).toBe('upstream_error')
  const expected = nanoToAtomicUp(withMarkup(BigInt(record.costNano), MARKUP_BPS))
  const row = await waitFor(async () => (await adminPayments()).find((p) => p.payer === account.address), 5_000, 'the payment row')
  expect(row).toMatchObject({ amount_atomic: expected.toString(), scheme: 'upto', status: 'settled' })
})

test('discovery lists the Messages route as metered with its markup', async () => {
  const document = (await (await fetch(`${gateway.url}/.well-known/x402`)).json()) as { routes: { route: string; schemes: string[]; pricing: { type: string; markup: string; markup_bps: number } }[] }
  const route = document.routes.find((r) => r.route === 'POST /v1/messages')!
  expect(route.schemes).toEqual(['upto', 'exact'])
  expect(route.pricing).toMatchObject({ type: 'metered', markup: '12.5%', markup_bps: 1250 })
})
