// The x402 core library against the official client: payments signed by @x402/evm pass the local checks and the fake facilitator; each wrong field is refused with its reason; a nonce is claimed once in Redis.
import { afterAll, describe, expect, test } from 'bun:test'
import { x402Client } from '@x402/core/client'
import { encodePaymentSignatureHeader } from '@x402/core/http'
import type { PaymentPayload, PaymentRequirements } from '@x402/core/types'
import { ExactEvmScheme } from '@x402/evm'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { createHotRedis } from '../../src/lib/hot-redis'
import { readPayment } from '../../src/x402/codec'
import { createFacilitator } from '../../src/x402/facilitator'
import { checkExactPayment } from '../../src/x402/local-verify'
import { claimForPayer, payerClaimKeys } from '../../src/x402/payer-claim'
import { paymentTerms, requirementsFor } from '../../src/x402/requirements'
import { startFakeFacilitator } from '../helpers/fake-facilitator'

const payTo = privateKeyToAccount(generatePrivateKey()).address
const account = privateKeyToAccount(generatePrivateKey())
const terms = paymentTerms([{ network: 'base' }, { network: 'base-sepolia' }], [{ network: 'base', address: payTo }, { network: 'base-sepolia', address: payTo }], 60)
const offered = requirementsFor(terms, 5000n)
const fake = startFakeFacilitator()
const redis = createHotRedis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379')
afterAll(() => (fake.stop(), redis.close()))

// Spend controls off: some cases sign for assets and networks the client would refuse by default.
const client = x402Client.fromConfig({ schemes: [{ network: 'eip155:*', client: new ExactEvmScheme(account) }], spendControls: false })
async function sign(requirements: PaymentRequirements): Promise<PaymentPayload> {
  return client.createPaymentPayload({ x402Version: 2, resource: { url: 'http://x/v1/messages' }, accepts: [requirements] })
}
const decode = (payload: PaymentPayload) => {
  const read = readPayment(new Headers({ 'payment-signature': encodePaymentSignatureHeader(payload) }))
  if (!read || !('payment' in read)) throw new Error('unreadable')
  return read.payment
}

describe('requirements', () => {
  test('USDC on base and base-sepolia, CAIP-2, atomic amount, EIP-712 domain in extra', () => {
    expect(offered).toEqual([
      { scheme: 'exact', network: 'eip155:8453', asset: '0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913', amount: '5000', payTo, maxTimeoutSeconds: 60, extra: { name: 'USD Coin', version: '2' } },
      { scheme: 'exact', network: 'eip155:84532', asset: '0x036CbD53842c5426634e7929541eC2318f3dCF7e', amount: '5000', payTo, maxTimeoutSeconds: 60, extra: { name: 'USDC', version: '2' } },
    ])
  })
})

describe('local checks', () => {
  test('a payment signed by the official client passes, naming the payer', async () => {
    const checked = await checkExactPayment(decode(await sign(offered[0]!)), offered)
    expect('payment' in checked && checked.payment.payer).toBe(account.address)
  })

  test.each([
    ['amount below the price', { amount: '4999' }, 'invalid_exact_evm_authorization_value'],
    ['another payTo', { payTo: account.address }, 'invalid_exact_evm_recipient_mismatch'],
    ['another asset', { asset: '0x0000000000000000000000000000000000000001' }, 'invalid_exact_evm_asset_mismatch'],
    ['a network not accepted', { network: 'eip155:1' }, 'invalid_exact_evm_network_mismatch'],
  ] as const)('%s', async (_name, change, reason) => {
    const payload = await sign({ ...offered[0]!, ...change } as PaymentRequirements)
    const checked = await checkExactPayment(decode(payload), offered)
    expect('refusal' in checked && checked.refusal.reason).toBe(reason)
  })

  test('an expired validBefore, a future validAfter and a bad signature', async () => {
    const payload = await sign(offered[0]!)
    const auth = (payload.payload as { authorization: Record<string, string> }).authorization
    const later = Math.floor(Date.now() / 1000) + 3600
    const expired = await checkExactPayment(decode(payload), offered, later)
    expect('refusal' in expired && expired.refusal.reason).toBe('invalid_exact_evm_payload_authorization_valid_before')
    const early = await checkExactPayment(decode({ ...payload, payload: { ...payload.payload, authorization: { ...auth, validAfter: String(later) } } }), offered)
    expect('refusal' in early && early.refusal.reason).toBe('invalid_exact_evm_payload_authorization_valid_after')
    const forged = await checkExactPayment(decode({ ...payload, payload: { ...payload.payload, authorization: { ...auth, value: '9999999' } } }), offered)
    expect('refusal' in forged && forged.refusal.reason).toBe('invalid_exact_evm_signature')
  })

  test("the seed's placeholder wallet (no address at all): a payment is refused as paid to another address, never an exception", async () => {
    const placeholder = requirementsFor(paymentTerms([{ network: 'base' }], [{ network: 'base', address: '0xYourWalletAddress' }], 60), 5000n)
    const checked = await checkExactPayment(decode(await sign(offered[0]!)), placeholder)
    expect('refusal' in checked && checked.refusal.reason).toBe('invalid_exact_evm_recipient_mismatch')
  })

  test('garbage headers are problems, not exceptions', () => {
    expect(readPayment(new Headers({ 'payment-signature': '%%%' }))).toMatchObject({ problem: expect.stringContaining('base64') })
    expect(readPayment(new Headers({ 'payment-signature': btoa('{"x402Version":2}') }))).toMatchObject({ problem: expect.stringContaining('not an x402 payment payload') })
    expect(readPayment(new Headers())).toBeNull()
  })
})

describe('facilitator and nonce', () => {
  test('verify then settle at the fake; the nonce settles once', async () => {
    const facilitator = createFacilitator({ url: fake.url, headers: { 'x-facilitator-key': 'k' }, timeoutMs: 5_000 })
    const payload = await sign(offered[0]!)
    expect(await facilitator.verify(payload, offered[0]!)).toEqual({ kind: 'valid', payer: account.address })
    const settled = await facilitator.settle(payload, offered[0]!)
    expect(settled.kind).toBe('settled')
    expect(await facilitator.settle(payload, offered[0]!)).toMatchObject({ kind: 'refused', reason: 'invalid_exact_evm_nonce_already_used' })
    expect(fake.calls[0]!.headers['x-facilitator-key']).toBe('k')
    fake.mode = 'down'
    expect((await facilitator.verify(payload, offered[0]!)).kind).toBe('unavailable')
    fake.mode = 'ok'
  })

  test('a nonce is claimed once, and its claim expires with validBefore', async () => {
    const claim = { prefix: `{test-${process.pid}}`, scheme: 'exact', network: 'eip155:8453', asset: offered[0]!.asset, payer: account.address, nonce: generatePrivateKey(), until: BigInt(Math.floor(Date.now() / 1000) + 30), rpm: 0 }
    const claims = await Promise.all(Array.from({ length: 20 }, (_, i) => claimForPayer(redis, { ...claim, token: `request-${i}` })))
    expect(claims.filter(Boolean)).toHaveLength(1)
    const key = payerClaimKeys(claim).nonce
    const ttl = (await redis.send('TTL', [key])) as number
    expect(ttl).toBeGreaterThan(25)
    expect(ttl).toBeLessThanOrEqual(30)
    await redis.send('DEL', [key])
  })

  test('a claim whose answer is lost: asked again, it says the claim landed and is ours; a replay still loses', async () => {
    const claim = { prefix: `{test-${process.pid}}`, scheme: 'exact', network: 'eip155:8453', asset: offered[0]!.asset, payer: account.address, nonce: generatePrivateKey(), until: BigInt(Math.floor(Date.now() / 1000) + 30), rpm: 0 }
    let lost = 0
    const lossy = {
      script: async (...args: Parameters<typeof redis.script>) => {
        const reply = await redis.script(...args)
        if (lost++ === 0) throw new Error('Redis did not answer within 1000 ms')
        return reply
      },
    }
    expect(await claimForPayer(lossy, { ...claim, token: 'first' })).toBe(true)
    expect(await claimForPayer(redis, { ...claim, token: 'second' })).toBe(false)
    await redis.send('DEL', [payerClaimKeys(claim).nonce])
  })
})
