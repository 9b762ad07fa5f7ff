// The seed's token-based YAML (models map, built-in table, fallback) paid with @x402/fetch; and a config of our own: params/query/headers rules, the query kept, a static price over the built-in chat route, v1 X-PAYMENT, upstream timeout and outage after settlement, payment records.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { encodePaymentSignatureHeader } from '@x402/core/http'
import type { PaymentPayload, PaymentRequirements } from '@x402/core/types'
import { ExactEvmSchemeV1 } from '@x402/evm/exact/v1/client'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { toV1 } from '../../src/x402/requirements'
import type { X402PaymentRecord } from '../../src/x402/payment-record'
import { startFakeFacilitator, type FakeFacilitator } from '../helpers/fake-facilitator'
import { closedPortUrl, startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream'
import { readFixture } from '../helpers/fixtures'
import { startGateway, upstreamEnv, type TestGateway } from '../helpers/gateway'
import { waitFor } from '../helpers/poll'
import { newPayer, requiredOf, seedConfigFor, settlementOf } from '../helpers/x402'

const payTo = privateKeyToAccount(generatePrivateKey()).address
let upstream: FakeUpstream
let facilitator: FakeFacilitator
let seed: TestGateway
let own: TestGateway
const records: X402PaymentRecord[] = []

beforeAll(async () => {
  upstream = startFakeUpstream()
  facilitator = startFakeFacilitator()
  const seedPath = seedConfigFor('seed-token-based.yaml', { upstreamUrl: upstream.url, payTo, facilitatorUrl: facilitator.url })
  seed = await startGateway({ ...upstreamEnv(upstream.url), GATEWAY_CONFIG: seedPath })
  const ownPath = join(mkdtempSync(join(tmpdir(), 'meterway-x402-own-')), 'own.yaml')
  writeFileSync(
    ownPath,
    [
      `wallets: { base-sepolia: "${payTo}" }`,
      'accepts: [{ asset: USDC, network: base-sepolia }]',
      `facilitator: { url: "${facilitator.url}" }`,
      'upstreams:',
      `  api: { url: "${upstream.url}", headers: { x-api-key: "our-upstream-key" }, timeout: 1 }`,
      `  down: { url: "${await closedPortUrl()}" }`,
      'routes:',
      '  "POST /v1/chat/completions": { upstream: api, price: "$0.002" }',
      '  "POST /tiers/:tier/messages":',
      '    upstream: api',
      '    path: /v1/messages',
      '    match:',
      '      - where: { params.tier: gold }',
      '        price: "$0.01"',
      '      - where: { query.fast: "yes", headers.x-plan: "pro*" }',
      '        price: "$0.02"',
      '    fallback: "$0.003"',
      '  "POST /down/v1/messages": { upstream: down, path: /v1/messages, price: "$0.001" }',
      '',
    ].join('\n'),
  )
  own = await startGateway({ ...upstreamEnv(upstream.url), GATEWAY_CONFIG: ownPath }, { recordPayment: (record) => records.push(record) })
})
afterAll(async () => {
  await seed?.stop()
  await own?.stop()
  upstream?.stop()
  facilitator?.stop()
})

const message = (model: string | null, extra: Record<string, unknown> = {}) => JSON.stringify({ ...(model ? { model } : {}), max_tokens: 64, messages: [{ role: 'user', content: 'Hello' }], ...extra })
const json = { 'content-type': 'application/json' }

describe('seed option B: type: token-based', () => {
  test.each([
    ['claude-haiku-4-5-20251001', '1000', 'the models map'],
    ['claude-sonnet-4-5-20250929', '5000', 'the models map'],
    ['claude-opus-4-6', '20000', 'the models map'],
    ['claude-sonnet-4-20250514', '10500', 'the built-in table: 1,000 input + 500 output tokens at $3/$15 per 1M'],
    ['claude-3-5-haiku-20241022', '2800', 'the built-in table: 1,000 × $0.80 + 500 × $4 per 1M'],
    ['my-own-fine-tune', '5000', 'the fallback'],
    [null, '5000', 'the fallback (no model at all)'],
  ])('%s → %s (%s)', async (model, amount) => {
    const answer = await fetch(`${seed.url}/v1/messages`, { method: 'POST', headers: json, body: message(model) })
    expect(answer.status).toBe(402)
    expect(requiredOf(answer).accepts[0]).toMatchObject({ amount, network: 'eip155:8453', payTo })
  })

  test('@x402/fetch pays the models-map price and gets the answer with PAYMENT-RESPONSE; settled for 1000', async () => {
    const answer = await newPayer().fetch(`${seed.url}/v1/messages`, { method: 'POST', headers: json, body: message('claude-haiku-4-5-20251001') })
    expect(answer.status).toBe(200)
    expect(await answer.text()).toBe(readFixture('anthropic.messages.json'))
    expect(settlementOf(answer).success).toBe(true)
    expect(facilitator.settled().at(-1)!.paymentRequirements).toMatchObject({ amount: '1000', payTo })
  })
})

describe('a config of our own', () => {
  const tiers = (tier: string, query = '', headers: Record<string, string> = {}) => fetch(`${own.url}/tiers/${tier}/messages${query}`, { method: 'POST', headers: { ...json, ...headers }, body: message('claude-haiku-4-5-20251001') })

  test('match rules on params, query and headers (every condition must hold), else the fallback; base-sepolia USDC', async () => {
    const amount = async (answer: Promise<Response>) => requiredOf(await answer).accepts[0]!
    expect(await amount(tiers('gold'))).toMatchObject({ amount: '10000', network: 'eip155:84532', asset: '0x036CbD53842c5426634e7929541eC2318f3dCF7e', extra: { name: 'USDC', version: '2' } })
    expect((await amount(tiers('silver', '?fast=yes', { 'x-plan': 'pro-2' }))).amount).toBe('20000')
    expect((await amount(tiers('silver', '?fast=yes'))).amount).toBe('3000')
    expect((await amount(tiers('silver', '', { 'x-plan': 'pro-2' }))).amount).toBe('3000')
  })

  test('a paid route on /v1/chat/completions replaces the built-in one; the query string and path reach the upstream; the record says settled', async () => {
    const payer = newPayer()
    const answer = await payer.fetch(`${own.url}/v1/chat/completions?trace=abc&x=1`, { method: 'POST', headers: { ...json, authorization: 'Bearer mw_client_key' }, body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }) })
    expect(answer.status).toBe(200)
    expect(await answer.text()).toBe(readFixture('openai.chat.json'))
    const seen = upstream.requests.at(-1)!
    expect(seen.path).toBe('/v1/chat/completions?trace=abc&x=1')
    expect(seen.headers['x-api-key']).toBe('our-upstream-key')
    expect(seen.headers.authorization).toBeUndefined()
    const requestId = answer.headers.get('x-request-id')!
    const record = await waitFor(() => records.find((r) => r.requestId === requestId), 2_000, 'the payment record')
    expect(record).toMatchObject({ route: 'POST /v1/chat/completions', payer: payer.account.address, network: 'eip155:84532', payTo, amount: '2000', scheme: 'exact', status: 'settled', transaction: settlementOf(answer).transaction })
  })

  test('v1: X-PAYMENT signed by the official v1 client is taken and answered with X-PAYMENT-RESPONSE; the facilitator got the v1 forms', async () => {
    const offer = requiredOf(await tiers('gold')).accepts[0]!
    const v1 = toV1(offer, { url: `${own.url}/tiers/gold/messages` })
    const account = privateKeyToAccount(generatePrivateKey())
    const signed = await new ExactEvmSchemeV1(account).createPaymentPayload(1, v1 as unknown as PaymentRequirements)
    const header = encodePaymentSignatureHeader({ ...signed, x402Version: 1 } as unknown as PaymentPayload)
    const answer = await tiers('gold', '', { 'x-payment': header })
    expect(answer.status).toBe(200)
    expect(settlementOf(answer, 'x-payment-response')).toMatchObject({ success: true, payer: account.address })
    expect(answer.headers.get('payment-response')).toBeNull()
    const settle = facilitator.settled().at(-1)!
    expect(settle.x402Version).toBe(1)
    expect(settle.paymentRequirements).toMatchObject({ network: 'base-sepolia', maxAmountRequired: '10000', payTo })
    // The same v1 payment again: refused in v1 form (the reason in a string error, the requirements in v1 shape).
    const again = await tiers('gold', '', { 'x-payment': header })
    expect(again.status).toBe(402)
    const body = (await again.json()) as { x402Version: number; error: string; accepts: { maxAmountRequired: string }[] }
    expect(body.x402Version).toBe(1)
    expect(body.error).toContain('invalid_exact_evm_nonce_already_used')
    expect(body.accepts[0]!.maxAmountRequired).toBe('10000')
  })

  test('settled, then the upstream times out (timeout: 1): 504 in our shape saying the payment was settled, with PAYMENT-RESPONSE; record upstream_failed', async () => {
    const answer = await newPayer().fetch(`${own.url}/tiers/gold/messages`, { method: 'POST', headers: json, body: message('claude-haiku-4-5-20251001', { messages: [{ role: 'user', content: 'scenario:stall' }] }) })
    expect(answer.status).toBe(504)
    const body = (await answer.json()) as { error: { code: string; message: string } }
    expect(body.error.code).toBe('upstream_timeout')
    expect(body.error.message).toContain('settled (transaction 0x')
    const settlement = settlementOf(answer)
    expect(settlement.success).toBe(true)
    const requestId = answer.headers.get('x-request-id')!
    expect(await waitFor(() => records.find((r) => r.requestId === requestId), 2_000, 'the record')).toMatchObject({ status: 'upstream_failed', transaction: settlement.transaction })
  })

  test('settled, then the upstream cannot be reached: 502 upstream_unreachable', async () => {
    const answer = await newPayer().fetch(`${own.url}/down/v1/messages`, { method: 'POST', headers: json, body: message('claude-haiku-4-5-20251001') })
    expect(answer.status).toBe(502)
    expect(((await answer.json()) as { error: { code: string } }).error.code).toBe('upstream_unreachable')
    expect(settlementOf(answer).success).toBe(true)
  })

  test('a body over the limit is 413 before any payment talk; an unpriced token-based model is not possible here, a bad header is 402', async () => {
    const big = await fetch(`${own.url}/v1/chat/completions`, { method: 'POST', headers: json, body: 'x'.repeat(own.config.maxBodyBytes + 1) })
    expect(big.status).toBe(413)
    const bad = await fetch(`${own.url}/v1/chat/completions`, { method: 'POST', headers: { ...json, 'payment-signature': btoa('{"x402Version":2,"accepted":{}}') }, body: '{}' })
    expect(bad.status).toBe(402)
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('invalid_payload')
  })
})

test('the OpenAPI document lists the paid routes with their 402', async () => {
  const doc = (await (await fetch(`${own.url}/swagger/json`)).json()) as { paths: Record<string, Record<string, { tags?: string[]; responses?: Record<string, unknown> }>> }
  expect(doc.paths['/tiers/{tier}/messages']?.post?.tags).toEqual(['paid routes'])
  expect(doc.paths['/tiers/{tier}/messages']?.post?.responses?.['402']).toBeDefined()
})
