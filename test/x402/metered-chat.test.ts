// The built-in chat route paid over x402 (gateway.x402_chat): a streamed chat paid with upto through @x402/fetch settles exactly the usage cost from the provider's usage, never above the signed maximum; an exact-only client pays the worst case.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { x402Client } from '@x402/core/client'
import { decodePaymentRequiredHeader, decodePaymentResponseHeader } from '@x402/core/http'
import { UptoEvmScheme } from '@x402/evm/upto/client'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { buildCatalog } from '../../src/pricing/catalog'
import { CATALOG_DATA, CATALOG_VERSION } from '../../src/pricing/catalog-data'
import { tokenClassCost } from '../../src/pricing/money'
import { usdcOn } from '../../src/x402/assets'
import { ADMIN_TOKEN, upstreamEnv } from '../helpers/gateway'
import { waitFor } from '../helpers/poll'
import { fundedPayer, startX402Stack, type X402Stack } from '../helpers/x402-stack'

const USDC = usdcOn('base-sepolia')!
const PAY_TO = privateKeyToAccount(generatePrivateKey()).address
const gpt4o = buildCatalog(CATALOG_DATA, CATALOG_VERSION).find('openai/gpt-4o')!

let stack: X402Stack
let { upstream, chain, exact, facilitator, gateway } = {} as X402Stack

beforeAll(async () => {
  stack = await startX402Stack({ payTo: PAY_TO, sections: () => 'gateway: { x402_chat: true, discovery: true }\n', env: ({ upstreamUrl }) => upstreamEnv(upstreamUrl) })
  ;({ upstream, chain, exact, facilitator, gateway } = stack)
})
afterAll(() => stack?.stop())

const payer = (scheme: 'upto' | 'exact', balance?: bigint) => fundedPayer(chain, scheme, balance)

// scenario:long streams 1,000 one-token words and reports usage 19 prompt + 1,000 completion tokens.
const chatBody = { model: 'openai/gpt-4o', max_tokens: 2_000, stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'scenario:long count slowly' }] }
const post = (f: typeof fetch, body: unknown = chatBody) => f(`${gateway.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })

/** The usage chunk of an OpenAI stream (what the provider reported, relayed). */
function usageOf(sse: string): { prompt_tokens: number; completion_tokens: number } {
  const events = sse.split('\n\n').filter((e) => e.startsWith('data: {'))
  const last = JSON.parse(events.at(-1)!.slice(6)) as { usage: { prompt_tokens: number; completion_tokens: number } }
  return last.usage
}

const adminPayments = async () =>
  ((await (await fetch(`${gateway.url}/admin/payments?period=${new Date().toISOString().slice(0, 7)}&limit=1000`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).json()) as {
    data: { request_id: string; payer: string; amount_atomic: string; scheme: string; status: string; transaction: string | null; route: string }[]
  }).data

describe('x402 on the chat route', () => {
  test('without a key or a payment: 402 quoting the worst case with upto (naming the facilitator signer) and exact', async () => {
    const response = await post(fetch)
    expect(response.status).toBe(402)
    const required = decodePaymentRequiredHeader(response.headers.get('payment-required')!)
    expect(required.x402Version).toBe(2)
    expect(required.accepts.map((r) => r.scheme)).toEqual(['upto', 'exact'])
    const [upto, exactOffer] = required.accepts
    expect(upto!.extra.facilitatorAddress).toBe(facilitator.address)
    expect(upto!.amount).toBe(exactOffer!.amount)
    // The worst case: 2,000 output tokens at $10/1M alone are 20,000 atomic units; the prompt adds a little.
    expect(BigInt(upto!.amount)).toBeGreaterThan(20_000n)
    expect(BigInt(upto!.amount)).toBeLessThan(20_500n)
    expect(upto).toMatchObject({ network: 'eip155:84532', asset: USDC.address, payTo: PAY_TO })
    const body = (await response.json()) as { error: { type: string; code: string } }
    expect(body.error).toMatchObject({ type: 'payment_error', code: 'payment_required' })
    expect(upstream.requests.length).toBe(0)
  })

  test('a streamed chat paid with upto settles exactly the usage cost, rounded up to atomic units, never above the maximum', async () => {
    const { account, fetch: paying } = payer('upto')
    const response = await paying(`${gateway.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(chatBody) })
    expect(response.status).toBe(200)
    const requestId = response.headers.get('x-request-id')!
    const maxAtomic = BigInt(response.headers.get('x-payment-max-amount')!)
    const usage = usageOf(await response.text())
    expect(usage).toMatchObject({ prompt_tokens: 19, completion_tokens: 1_000 })

    // The cost of that usage at the catalog's gpt-4o prices: 19 × $2.50/1M + 1,000 × $10/1M = 10,047,500 nano-USD,
    // which is 10,047.5 atomic units: 10,048 settled (rounded up).
    const costNano = tokenClassCost(usage.prompt_tokens, gpt4o.prices.input) + tokenClassCost(usage.completion_tokens, gpt4o.prices.output)
    expect(costNano).toBe(10_047_500n)
    const expected = (costNano + 999n) / 1000n
    expect(expected).toBe(10_048n)

    const transfer = await waitFor(() => chain.transfers.find((t) => t.from === account.address), 5_000, 'the settlement on the chain')
    expect(transfer.amount).toBe(expected)
    expect(transfer.to).toBe(PAY_TO)
    expect(transfer.amount).toBeLessThanOrEqual(maxAtomic)
    expect(chain.balances.get(account.address.toLowerCase())).toBe(1_000_000n - expected)

    // The facilitator verified the signed maximum and settled the actual amount, once.
    const calls = facilitator.calls.filter((c) => (c.paymentPayload.payload as { permit2Authorization: { from: string } }).permit2Authorization.from === account.address)
    expect(calls.map((c) => [c.path, c.paymentRequirements.amount])).toEqual([
      ['/verify', maxAtomic.toString()],
      ['/settle', expected.toString()],
    ])
    expect(calls[1]!.answer.success).toBe(true)

    const record = await gateway.usageFor(requestId)
    expect(record.costNano).toBe(Number(costNano))
    expect(record.source).not.toBe('counted')
    const row = await waitFor(async () => (await adminPayments()).find((p) => p.request_id === requestId), 5_000, 'the payment row')
    expect(row).toMatchObject({ payer: account.address, amount_atomic: '10048', scheme: 'upto', status: 'settled', transaction: transfer.hash, route: 'POST /v1/chat/completions' })
  })

  test('a client that speaks only exact pays the worst case up front, with a PAYMENT-RESPONSE', async () => {
    const { account, fetch: paying } = payer('exact')
    const response = await paying(`${gateway.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(chatBody) })
    expect(response.status).toBe(200)
    const requestId = response.headers.get('x-request-id')!
    const settlement = decodePaymentResponseHeader(response.headers.get('payment-response')!)
    expect(settlement.success).toBe(true)
    await response.text()
    const settled = exact.settled().filter((c) => (c.paymentPayload.payload as { authorization: { from: string } }).authorization.from === account.address)
    expect(settled).toHaveLength(1)
    const worst = String(settled[0]!.paymentRequirements.amount)
    expect(BigInt(worst)).toBeGreaterThan(20_000n)
    const row = await waitFor(async () => (await adminPayments()).find((p) => p.request_id === requestId), 5_000, 'the payment row')
    expect(row).toMatchObject({ payer: account.address, amount_atomic: worst, scheme: 'exact', status: 'settled' })
  })

  test('a replayed upto payment is refused with 402 and nothing is settled twice', async () => {
    const { account } = payer('upto')
    const first = await post(fetch)
    const required = decodePaymentRequiredHeader(first.headers.get('payment-required')!)
    const client = x402Client.fromConfig({ schemes: [{ network: 'eip155:*', client: new UptoEvmScheme(account) }] })
    const payload = await client.createPaymentPayload(required)
    const { encodePaymentSignatureHeader } = await import('@x402/core/http')
    const header = encodePaymentSignatureHeader(payload)
    const send = () => fetch(`${gateway.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', 'payment-signature': header }, body: JSON.stringify(chatBody) })
    const answers = await Promise.all(Array.from({ length: 5 }, send))
    expect(answers.map((r) => r.status).sort()).toEqual([200, 402, 402, 402, 402])
    await Promise.all(answers.map((r) => r.text()))
    await waitFor(() => chain.transfers.some((t) => t.from === account.address), 5_000, 'the one settlement')
    expect(chain.transfers.filter((t) => t.from === account.address)).toHaveLength(1)
  })

  test('a payer without a Permit2 allowance is refused by the facilitator before any upstream call', async () => {
    const { account, fetch: paying } = payer('upto')
    chain.allowances.set(account.address.toLowerCase(), 0n)
    const before = upstream.requests.length
    const response = await paying(`${gateway.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(chatBody) })
    expect(response.status).toBe(402)
    const body = (await response.json()) as { error: { code: string } }
    expect(body.error.code).toBe('permit2_allowance_required')
    expect(upstream.requests.length).toBe(before)
  })

  test('the facilitator down: 502 naming it, no upstream call, nothing settled', async () => {
    const { account, fetch: paying } = payer('exact')
    const before = upstream.requests.length
    exact.mode = 'down'
    try {
      const response = await paying(`${gateway.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(chatBody) })
      expect(response.status).toBe(502)
      const body = (await response.json()) as { error: { code: string } }
      expect(body.error.code).toBe('facilitator_unavailable')
    } finally {
      exact.mode = 'ok'
    }
    expect(upstream.requests.length).toBe(before)
    expect(exact.settled().some((c) => (c.paymentPayload.payload as { authorization: { from: string } }).authorization.from === account.address)).toBe(false)
  })

  test('discovery lists the chat route as metered', async () => {
    const document = (await (await fetch(`${gateway.url}/.well-known/x402`)).json()) as { routes: { route: string; pricing: { type: string } }[]; facilitator: { url: string } }
    expect(document.facilitator.url).toBe(facilitator.url)
    expect(document.routes.find((r) => r.route === 'POST /v1/chat/completions')?.pricing.type).toBe('metered')
  })
})
