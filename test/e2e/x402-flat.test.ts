// The seed's flat per-request YAML served for real: 402 by glob rule, @x402/fetch paying (JSON and SSE byte for byte), replays once only, each refusal with its reason and no upstream call, facilitator down or refusing.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { PaymentRequirements } from '@x402/core/types'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { startFakeFacilitator, type FakeFacilitator } from '../helpers/fake-facilitator'
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream'
import { readFixture } from '../helpers/fixtures'
import { startGateway, TEST_KEY, upstreamEnv, type TestGateway } from '../helpers/gateway'
import { newPayer, paymentHeader, requiredOf, seedConfigFor, settlementOf, signAuthorization } from '../helpers/x402'
import { waitFor } from '../helpers/poll'
import { x402Payments } from '../../src/lib/metrics'

const BASE_USDC = '0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913'
const payTo = privateKeyToAccount(generatePrivateKey()).address
let upstream: FakeUpstream
let facilitator: FakeFacilitator
let gateway: TestGateway
let url: string

beforeAll(async () => {
  upstream = startFakeUpstream()
  facilitator = startFakeFacilitator()
  const path = seedConfigFor('seed-flat-per-request.yaml', { upstreamUrl: upstream.url, payTo, facilitatorUrl: facilitator.url })
  // upstreamEnv's ANTHROPIC_API_KEY fills the YAML's ${ANTHROPIC_API_KEY} and the built-in Anthropic provider alike.
  gateway = await startGateway({ ...upstreamEnv(upstream.url), GATEWAY_CONFIG: path })
  url = `${gateway.url}/v1/messages`
})
afterAll(async () => {
  await gateway?.stop()
  upstream?.stop()
  facilitator?.stop()
})

const message = (model: string, extra: Record<string, unknown> = {}) => JSON.stringify({ model, max_tokens: 64, messages: [{ role: 'user', content: 'Hello' }], ...extra })
const post = (body: string, headers: Record<string, string> = {}) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body })

/** The requirement a 402 offers for this body. */
async function quoted(model: string): Promise<PaymentRequirements> {
  const answer = await post(message(model))
  expect(answer.status).toBe(402)
  return requiredOf(answer).accepts[0]!
}

/** Counts the upstream's /v1/messages calls and the facilitator's calls while `run` runs. */
async function counting<T>(run: () => Promise<T>): Promise<{ result: T; upstreamCalls: number; facilitatorCalls: number }> {
  const [u, f] = [upstream.requests.length, facilitator.calls.length]
  const result = await run()
  return { result, upstreamCalls: upstream.requests.length - u, facilitatorCalls: facilitator.calls.length - f }
}

describe('unpaid: 402 with the glob rule price', () => {
  test.each([
    ['claude-haiku-4-5-20251001', '5000'],
    ['claude-sonnet-4-5-20250929', '15000'],
    ['claude-opus-4-6', '75000'],
    ['gpt-4o', '15000'],
  ])('%s → %s atomic units, v2 in PAYMENT-REQUIRED and in the body with our error shape; nothing proxied', async (model, amount) => {
    const { result: answer, upstreamCalls } = await counting(() => post(message(model)))
    expect(answer.status).toBe(402)
    const required = requiredOf(answer)
    expect(required.x402Version).toBe(2)
    expect(required.resource.url).toBe(url)
    expect(required.accepts).toEqual([{ scheme: 'exact', network: 'eip155:8453', asset: BASE_USDC, amount, payTo, maxTimeoutSeconds: 300, extra: { name: 'USD Coin', version: '2' } }])
    const body = (await answer.json()) as Record<string, unknown>
    expect(body).toMatchObject({ x402Version: 2, accepts: required.accepts, resource: required.resource, error: { type: 'payment_error', code: 'payment_required' } })
    expect(answer.headers.get('x-request-id')).toMatch(/\S/)
    expect(upstreamCalls).toBe(0)
  })
})

describe('paid with @x402/fetch', () => {
  test('non-streaming: the fixture byte for byte, PAYMENT-RESPONSE, the facilitator verified and settled 5000 to payTo, the upstream got our key and not the client headers', async () => {
    const payer = newPayer()
    const before = facilitator.calls.length
    const answer = await payer.fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer client-secret', 'x-api-key': 'client-key', cookie: 'session=client' },
      body: message('claude-haiku-4-5-20251001'),
    })
    expect(answer.status).toBe(200)
    expect(await answer.text()).toBe(readFixture('anthropic.messages.json'))
    const settlement = settlementOf(answer)
    expect(settlement).toMatchObject({ success: true, network: 'eip155:8453', payer: payer.account.address })
    expect(settlement.transaction).toMatch(/^0x[0-9a-f]{64}$/)
    const calls = facilitator.calls.slice(before)
    expect(calls.map((c) => c.path)).toEqual(['/verify', '/settle'])
    for (const call of calls) {
      expect(call.paymentRequirements).toMatchObject({ amount: '5000', payTo, network: 'eip155:8453', asset: BASE_USDC })
      expect(call.headers['x-facilitator-key']).toBe('fk-test')
    }
    expect(calls[1]!.answer).toMatchObject({ success: true, amount: '5000' })
    const seen = upstream.requests.at(-1)!
    expect(seen.path).toBe('/v1/messages')
    expect(seen.headers['x-api-key']).toBe(upstreamEnv('').ANTHROPIC_API_KEY)
    expect(seen.headers['anthropic-version']).toBe('2023-06-01')
    for (const name of ['authorization', 'cookie', 'payment-signature', 'x-payment']) expect(seen.headers[name]).toBeUndefined()
    expect(JSON.stringify(seen.headers)).not.toContain('client-')
  })

  test('streaming: SSE through unchanged, chunk by chunk (the first event arrives while the upstream is still sending), with PAYMENT-RESPONSE', async () => {
    const payer = newPayer()
    const answer = await payer.fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: message('claude-sonnet-4-5-20250929', { stream: true, messages: [{ role: 'user', content: 'scenario:slow' }] }) })
    expect(answer.status).toBe(200)
    expect(answer.headers.get('content-type')).toBe('text/event-stream')
    expect(settlementOf(answer).success).toBe(true)
    const reader = answer.body!.getReader()
    const first = await reader.read()
    expect(first.done).toBe(false)
    const life = upstream.streams.at(-1)!
    expect(life.closedAt).toBeNull()
    const decoder = new TextDecoder()
    let text = decoder.decode(first.value, { stream: true })
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) text += decoder.decode(chunk.value, { stream: true })
    expect(text).toBe(readFixture('anthropic.messages.stream.sse'))
    const settle = facilitator.calls.filter((c) => c.path === '/settle').at(-1)!
    expect(settle.paymentRequirements).toMatchObject({ amount: '15000', payTo })
  })
})

describe('what the upstream answers goes through', () => {
  test('an upstream error answer (429 with Retry-After) is relayed as it is, with the PAYMENT-RESPONSE of the settled payment', async () => {
    const answer = await newPayer().fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: message('claude-haiku-4-5-20251001', { messages: [{ role: 'user', content: 'scenario:error-429' }] }) })
    expect(answer.status).toBe(429)
    expect(answer.headers.get('retry-after')).toBe('7')
    expect(await answer.text()).toBe(readFixture('anthropic.error.429.json'))
    expect(settlementOf(answer).success).toBe(true)
  })

  test('a client that leaves mid-stream: the upstream stream is cancelled too', async () => {
    const controller = new AbortController()
    const answer = await newPayer().fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: message('claude-haiku-4-5-20251001', { stream: true, messages: [{ role: 'user', content: 'scenario:slow' }] }), signal: controller.signal })
    expect(answer.status).toBe(200)
    const life = upstream.streams.at(-1)!
    await answer.body!.getReader().read()
    controller.abort()
    await waitFor(() => life.cancelled, 3_000, 'the upstream stream cancelled')
  })
})

describe('a payment is used once', () => {
  test('sequentially: the same PAYMENT-SIGNATURE twice → 200 then 402 (nonce already used), one upstream call', async () => {
    const payer = newPayer()
    const header = paymentHeader(await payer.sign(await quoted('claude-haiku-4-5-20251001')))
    const { result, upstreamCalls } = await counting(async () => [await post(message('claude-haiku-4-5-20251001'), { 'payment-signature': header }), await post(message('claude-haiku-4-5-20251001'), { 'payment-signature': header })])
    expect(result.map((r) => r.status)).toEqual([200, 402])
    expect(((await result[1]!.json()) as { error: { code: string } }).error.code).toBe('invalid_exact_evm_nonce_already_used')
    expect(upstreamCalls).toBe(1)
  })

  test('20 at once: exactly one 200, the others 402; one verify, one settle, one upstream call', async () => {
    const payer = newPayer()
    const header = paymentHeader(await payer.sign(await quoted('claude-haiku-4-5-20251001')))
    const { result, upstreamCalls, facilitatorCalls } = await counting(() => Promise.all(Array.from({ length: 20 }, () => post(message('claude-haiku-4-5-20251001'), { 'payment-signature': header }))))
    const statuses = result.map((r) => r.status)
    expect(statuses.filter((s) => s === 200)).toHaveLength(1)
    expect(statuses.filter((s) => s === 402)).toHaveLength(19)
    expect(upstreamCalls).toBe(1)
    expect(facilitatorCalls).toBe(2)
  })
})

describe('refused with a reason, no upstream call, no facilitator call', () => {
  const cases: [string, (payer: ReturnType<typeof newPayer>, offer: PaymentRequirements) => Promise<Parameters<typeof paymentHeader>[0]>, string][] = [
    ['wrong amount', (p, offer) => p.sign({ ...offer, amount: '4999' }), 'invalid_exact_evm_authorization_value'],
    ['wrong payTo', (p, offer) => p.sign({ ...offer, payTo: p.account.address }), 'invalid_exact_evm_recipient_mismatch'],
    ['expired validBefore', (p, offer) => signAuthorization(p.account, offer, { validBefore: BigInt(Math.floor(Date.now() / 1000) - 5) }), 'invalid_exact_evm_payload_authorization_valid_before'],
    ['bad signature', async (p, offer) => {
      const payload = await p.sign(offer)
      const auth = (payload.payload as { authorization: Record<string, string> }).authorization
      return { ...payload, payload: { ...payload.payload, authorization: { ...auth, value: '5000000' } } }
    }, 'invalid_exact_evm_signature'],
    ['another network', (p, offer) => p.sign({ ...offer, network: 'eip155:84532', asset: '0x036CbD53842c5426634e7929541eC2318f3dCF7e', extra: { name: 'USDC', version: '2' } }), 'invalid_exact_evm_network_mismatch'],
  ]
  test.each(cases)('%s', async (_name, make, reason) => {
    const payer = newPayer()
    const header = paymentHeader(await make(payer, await quoted('claude-haiku-4-5-20251001')))
    const { result: answer, upstreamCalls, facilitatorCalls } = await counting(() => post(message('claude-haiku-4-5-20251001'), { 'payment-signature': header }))
    expect(answer.status).toBe(402)
    const body = (await answer.json()) as { error: { code: string; message: string } }
    expect(body.error.code).toBe(reason)
    expect(body.error.message.length).toBeGreaterThan(10)
    expect(requiredOf(answer).error).toBe(body.error.message)
    expect(upstreamCalls).toBe(0)
    expect(facilitatorCalls).toBe(0)
  })

  test('a header that is not a payment: 402 invalid_payload', async () => {
    const answer = await post(message('claude-haiku-4-5-20251001'), { 'payment-signature': 'not base64 at all!' })
    expect(answer.status).toBe(402)
    expect(((await answer.json()) as { error: { code: string } }).error.code).toBe('invalid_payload')
  })
})

describe('the facilitator down or refusing to settle: nothing of the upstream is delivered', () => {
  test('down: 502 facilitator_unavailable, no upstream call', async () => {
    facilitator.mode = 'down'
    try {
      const { result: answer, upstreamCalls } = await counting(() => newPayer().fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: message('claude-haiku-4-5-20251001', { stream: true }) }))
      expect(answer.status).toBe(502)
      expect(((await answer.json()) as { error: { code: string } }).error.code).toBe('facilitator_unavailable')
      expect(upstreamCalls).toBe(0)
    } finally {
      facilitator.mode = 'ok'
    }
  })

  test('refusing to settle: 402 with its reason, verify seen, no upstream call (a stream is never delivered unpaid)', async () => {
    facilitator.mode = 'refuse-settle'
    try {
      const { result: answer, upstreamCalls, facilitatorCalls } = await counting(() => newPayer().fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: message('claude-haiku-4-5-20251001', { stream: true }) }))
      expect(answer.status).toBe(402)
      const body = (await answer.json()) as { error: { code: string; message: string } }
      expect(body.error.code).toBe('invalid_exact_evm_transaction_failed')
      expect(body.error.message).toContain('Nothing was charged')
      expect(upstreamCalls).toBe(0)
      expect(facilitatorCalls).toBe(2)
    } finally {
      facilitator.mode = 'ok'
    }
  })
})

describe('the built-in routes beside the configured one', () => {
  test('the built-in Messages API stays at /llm/v1/messages with an API key; chat at /v1/chat/completions', async () => {
    const messages = await fetch(`${gateway.url}/llm/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': TEST_KEY, 'anthropic-version': '2023-06-01' }, body: message('claude-haiku-4-5-20251001') })
    expect(messages.status).toBe(200)
    expect(((await messages.json()) as { type: string }).type).toBe('message')
    const chat = await gateway.client().chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] })
    expect(chat.choices[0]!.message.content).toBeTruthy()
    // /v1/messages itself is the paid route now: an API key does not get past the 402.
    expect((await post(message('claude-haiku-4-5-20251001'), { 'x-api-key': TEST_KEY })).status).toBe(402)
  })
})

test('meterway_x402_payments_total counts the outcomes; meterway_requests_total the paid route by status', async () => {
  const text = await (await fetch(`${gateway.url}/metrics`)).text()
  expect(text).toMatch(/meterway_requests_total\{route="\/v1\/messages",model="none",status="402"\} [1-9]/)
  expect(text).toMatch(/meterway_requests_total\{route="\/v1\/messages",model="none",status="200"\} [1-9]/)
  const counts = Object.fromEntries((await x402Payments.get()).values.map((v) => [v.labels.outcome, v.value]))
  for (const outcome of ['required', 'invalid', 'replayed', 'settled', 'facilitator_unavailable', 'settle_refused']) expect(counts[outcome]).toBeGreaterThan(0)
  expect(counts.replayed).toBeGreaterThanOrEqual(20)
})
