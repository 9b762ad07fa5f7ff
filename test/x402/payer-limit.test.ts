// x402 requests carry no key: the payer's request limit is charged with the nonce claim in one script call (real Redis), and a metered route answers 429 with Retry-After before the facilitator or the upstream is asked; unpaid requests are counted per client address.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { x402Client } from '@x402/core/client'
import { ExactEvmScheme } from '@x402/evm'
import { UptoEvmScheme } from '@x402/evm/upto/client'
import { wrapFetchWithPayment } from '@x402/fetch'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { RateLimitError } from '../../src/errors'
import { createHotRedis } from '../../src/lib/hot-redis'
import { usdcOn } from '../../src/x402/assets'
import { limitUnpaid } from '../../src/x402/address-limit'
import { claimForPayer, payerClaimKeys } from '../../src/x402/payer-claim'
import { startX402Stack, type X402Stack, type X402StackUrls } from '../helpers/x402-stack'

const redis = createHotRedis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379')
const USDC = usdcOn('base-sepolia')!
/** Both gateways here: a metered Messages route and a flat-priced one on the same upstream. */
const ROUTES = ({ upstreamUrl }: X402StackUrls) => `upstreams:
  anthropic: { url: "${upstreamUrl}", headers: { x-api-key: "sk-ant-route-secret-0123456789" } }
routes:
  "POST /v1/messages": { upstream: anthropic, type: metered }
  "POST /v1/flat": { upstream: anthropic, path: "/v1/messages", price: "$0.001" }
`

describe('claimForPayer (x402-claim-2)', () => {
  beforeAll(() => redis.ready)
  const prefix = `test-${process.pid}-${crypto.randomUUID().slice(0, 8)}`
  const payer = privateKeyToAccount(generatePrivateKey()).address
  const claim = (nonce: string, token: string, rpm: number, nowMs: number) =>
    claimForPayer(redis, { prefix, scheme: 'upto', network: 'eip155:84532', asset: USDC.address, payer, nonce, until: BigInt(Math.floor(nowMs / 1000) + 300), token, rpm }, nowMs)

  test('a payer over its limit is refused before its nonce is claimed; replays do not spend its requests', async () => {
    const now = Date.now()
    expect(await claim('0x01', 'req_a', 2, now)).toBe(true)
    // The same request asking again (a lost answer) still holds it; another request replaying it does not, and is not charged.
    expect(await claim('0x01', 'req_a', 2, now)).toBe(true)
    expect(await claim('0x01', 'req_replay', 2, now)).toBe(false)
    expect(await claim('0x01', 'req_replay2', 2, now)).toBe(false)
    expect(await claim('0x02', 'req_b', 2, now)).toBe(true)
    const refused = await claim('0x03', 'req_c', 2, now).catch((error: unknown) => error)
    expect(refused).toBeInstanceOf(RateLimitError)
    const error = refused as RateLimitError
    expect(error.status).toBe(429)
    // A request every 30 s at 2 per minute: the bucket is empty, one token is 30 s away.
    expect(error.headers['retry-after']).toBe('30')
    expect(error.toBody()).toMatchObject({ error: { type: 'rate_limit_error', code: 'rate_limit_exceeded' } })
    // Nothing claimed: the same payment goes through once the bucket has refilled.
    expect(await redis.send('EXISTS', [payerClaimKeys({ prefix, scheme: 'upto', network: 'eip155:84532', asset: USDC.address, payer, nonce: '0x03' }).nonce])).toBe(0)
    expect(await claim('0x03', 'req_c', 2, now + 30_000)).toBe(true)
  })

  test('rpm 0: no limit', async () => {
    const now = Date.now()
    for (let i = 0; i < 5; i++) expect(await claim(`0xf${i}`, `req_f${i}`, 0, now)).toBe(true)
  })
})

describe('a metered route with X402_PAYER_RPM', () => {
  let stack: X402Stack
  let { upstream, chain, exact, facilitator, gateway } = {} as X402Stack

  beforeAll(async () => {
    stack = await startX402Stack({ sections: ROUTES, env: { X402_PAYER_RPM: '2' } })
    ;({ upstream, chain, exact, facilitator, gateway } = stack)
  })
  afterAll(() => stack?.stop())

  function payer(scheme: 'upto' | 'exact' = 'upto') {
    const account = privateKeyToAccount(generatePrivateKey())
    chain.balances.set(account.address.toLowerCase(), 1_000_000n)
    chain.allowances.set(account.address.toLowerCase(), 1_000_000n)
    const client = scheme === 'upto' ? new UptoEvmScheme(account) : new ExactEvmScheme(account)
    return { account, fetch: wrapFetchWithPayment(fetch, x402Client.fromConfig({ schemes: [{ network: 'eip155:*', client }] })) }
  }
  const post = (f: (input: string, init?: RequestInit) => Promise<Response>, path = '/v1/messages') =>
    f(`${gateway.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'claude-sonnet-4-20250514', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }] }) })

  test('a payer past its limit gets 429 with Retry-After; the facilitator and the upstream are not asked; another payer is served', async () => {
    const first = payer()
    for (let i = 0; i < 2; i++) {
      const response = await post(first.fetch)
      expect(response.status).toBe(200)
      await response.text()
    }
    const verifiesBefore = facilitator.calls.filter((c) => c.path === '/verify').length
    const upstreamBefore = upstream.requests.length
    const limited = await post(first.fetch)
    expect(limited.status).toBe(429)
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
    const body = (await limited.json()) as { type: string; error: { type: string; message: string } }
    expect(body.error.type).toBe('rate_limit_error')
    expect(body.error.message).toContain(first.account.address)
    expect(facilitator.calls.filter((c) => c.path === '/verify').length).toBe(verifiesBefore)
    expect(upstream.requests.length).toBe(upstreamBefore)

    const second = payer()
    const served = await post(second.fetch)
    expect(served.status).toBe(200)
    await served.text()
  })

  test('a flat-priced route (exact) shares the limit: the third request of a payer in a minute is 429, nothing settled for it', async () => {
    const { account, fetch: paying } = payer('exact')
    for (let i = 0; i < 2; i++) expect((await post(paying, '/v1/flat')).status).toBe(200)
    const limited = await post(paying, '/v1/flat')
    expect(limited.status).toBe(429)
    expect(limited.headers.get('retry-after')).not.toBeNull()
    expect(((await limited.json()) as { error: { code: string } }).error.code).toBe('rate_limit_exceeded')
    expect(exact.settled().filter((c) => (c.paymentPayload.payload as { authorization: { from: string } }).authorization.from === account.address)).toHaveLength(2)
  })
})

describe('unpaid requests per client address (X402_UNPAID_RPM)', () => {
  test('limitUnpaid: the bucket refuses past its rate with Retry-After; rpm 0 or no address is not limited; Redis away lets it through', async () => {
    const prefix = `test-${process.pid}-${crypto.randomUUID().slice(0, 8)}`
    const now = Date.now()
    for (let i = 0; i < 3; i++) await limitUnpaid(redis, { prefix, address: '192.0.2.7', rpm: 3 }, now)
    const refused = await limitUnpaid(redis, { prefix, address: '192.0.2.7', rpm: 3 }, now).catch((error: unknown) => error)
    expect(refused).toBeInstanceOf(RateLimitError)
    expect((refused as RateLimitError).headers['retry-after']).toBe('20')
    await limitUnpaid(redis, { prefix, address: '192.0.2.8', rpm: 3 }, now)
    await limitUnpaid(redis, { prefix, address: '192.0.2.7', rpm: 3 }, now + 20_000)
    await limitUnpaid(redis, { prefix, address: '192.0.2.7', rpm: 0 }, now)
    await limitUnpaid(redis, { prefix, address: null, rpm: 3 }, now)
    const away = { script: () => Promise.reject(new Error('redis away')) }
    await limitUnpaid(away, { prefix, address: '192.0.2.7', rpm: 1 }, now)
  })

  describe('in a gateway', () => {
    let stack: X402Stack
    let { upstream, gateway } = {} as X402Stack

    beforeAll(async () => {
      stack = await startX402Stack({ sections: ROUTES, env: { X402_UNPAID_RPM: '3' } })
      ;({ upstream, gateway } = stack)
    })
    afterAll(() => stack?.stop())

    test('the 4th unpaid request in a minute from one address is 429 on any x402 route, before any quote; a paying request is not counted by its address', async () => {
      const body = JSON.stringify({ model: 'claude-sonnet-4-20250514', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }] })
      const unpaid = (path: string) => fetch(`${gateway.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
      expect((await unpaid('/v1/messages')).status).toBe(402)
      expect((await unpaid('/v1/flat')).status).toBe(402)
      expect((await unpaid('/v1/messages')).status).toBe(402)
      for (const path of ['/v1/messages', '/v1/flat']) {
        const limited = await unpaid(path)
        expect(limited.status).toBe(429)
        expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
        expect(limited.headers.get('payment-required')).toBeNull()
        expect(((await limited.json()) as { error: { type: string } }).error.type).toBe('rate_limit_error')
      }
      // A signed payment (here one that does not verify) is judged by its payer, not refused by the address's bucket.
      const withPayment = await fetch(`${gateway.url}/v1/flat`, { method: 'POST', headers: { 'content-type': 'application/json', 'payment-signature': 'bm90IGEgcGF5bWVudA==' }, body })
      expect(withPayment.status).toBe(402)
      expect(upstream.requests.length).toBe(0)
    })
  })
})

afterAll(() => redis.close())
