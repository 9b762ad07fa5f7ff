// Failed credentials per address: past the limit the address is refused (429, Retry-After), a right key too, until the window ends.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { TooManyFailedAttemptsError } from '../../src/errors'
import { FailedAttempts, limitFailedAttempts } from '../../src/modules/auth/failed-attempts'
import type { Authenticator } from '../../src/modules/auth/service'
import { uniqueId } from '../helpers/db'
import { ADMIN_TOKEN, startGateway, TEST_KEY, type TestGateway } from '../helpers/gateway'
import { expectError } from '../helpers/hostile'
import { waitFor } from '../helpers/poll'
import { testPrincipal } from '../helpers/principals'

const blocked = (attempts: FailedAttempts, address: string, now: number) => {
  try {
    attempts.assertAllowed(address, now)
    return null
  } catch (error) {
    return error as TooManyFailedAttemptsError
  }
}

describe('FailedAttempts', () => {
  test('the limit-th failure blocks the address until its window ends; other addresses are untouched', () => {
    const attempts = new FailedAttempts({ limit: 3, windowMs: 60_000 })
    for (let i = 0; i < 2; i++) attempts.recordFailure('203.0.113.1', 1_000)
    expect(blocked(attempts, '203.0.113.1', 1_000)).toBeNull()
    attempts.recordFailure('203.0.113.1', 1_000)
    const error = blocked(attempts, '203.0.113.1', 31_000)!
    expect(error).toBeInstanceOf(TooManyFailedAttemptsError)
    expect(error.status).toBe(429)
    expect(error.code).toBe('too_many_failed_attempts')
    expect(error.headers['retry-after']).toBe('30')
    expect(blocked(attempts, '203.0.113.2', 31_000)).toBeNull()
    expect(blocked(attempts, '203.0.113.1', 61_000)).toBeNull()
  })

  test('a limit of 0 never blocks; an unknown address (no socket) is never limited', () => {
    const off = new FailedAttempts({ limit: 0, windowMs: 60_000 })
    for (let i = 0; i < 100; i++) off.recordFailure('203.0.113.1', 0)
    expect(blocked(off, '203.0.113.1', 0)).toBeNull()
    const on = new FailedAttempts({ limit: 1, windowMs: 60_000 })
    on.recordFailure(null, 0)
    expect(() => on.assertAllowed(null, 0)).not.toThrow()
    expect(on.size).toBe(0)
  })

  test('memory is bounded: a flood of addresses never holds more than maxAddresses', () => {
    const attempts = new FailedAttempts({ limit: 5, windowMs: 60_000, maxAddresses: 1_000 })
    for (let i = 0; i < 50_000; i++) attempts.recordFailure(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, i)
    expect(attempts.size).toBeLessThanOrEqual(1_000)
  })

  test('limitFailedAttempts: a blocked address is refused before the key is even looked up', async () => {
    let lookups = 0
    const known = testPrincipal('acct')
    const inner: Authenticator = (key) => (lookups++, key === 'right' ? known : null)
    const slowInner: Authenticator = (key) => Promise.resolve(inner(key))
    const authenticate = limitFailedAttempts(slowInner, new FailedAttempts({ limit: 2, windowMs: 60_000 }))
    expect(await authenticate('wrong', '203.0.113.9')).toBeNull()
    expect(await authenticate('wrong', '203.0.113.9')).toBeNull()
    expect(() => authenticate('right', '203.0.113.9')).toThrow(TooManyFailedAttemptsError)
    expect(lookups).toBe(2)
    expect(await authenticate('right', '203.0.113.10')).toBe(known)
  })
})

describe('through the gateway', () => {
  let direct: TestGateway
  let proxied: TestGateway
  let agentKey = ''

  beforeAll(async () => {
    // Callers counted by their socket (the default): every request of this test comes from 127.0.0.1.
    direct = await startGateway({ AUTH_FAILURE_LIMIT: '3', AUTH_FAILURE_WINDOW_MS: '1500' })
    // Behind a proxy: counted by the last X-Forwarded-For hop, so each test here uses addresses of its own.
    proxied = await startGateway({ AUTH_FAILURE_LIMIT: '3', AUTH_FAILURE_WINDOW_MS: '60000', TRUST_FORWARDED_FOR: 'true' })
    const registered = await fetch(`${proxied.url}/agents/register`, { method: 'POST', body: JSON.stringify({ agent_id: uniqueId('limited'), name: 'Limited' }) })
    agentKey = ((await registered.json()) as { api_key: string }).api_key
  })
  afterAll(async () => {
    await Promise.all([direct.stop(), proxied.stop()])
  })

  const call = (gateway: TestGateway, path: string, token: string | null, forwardedFor?: string) =>
    fetch(`${gateway.url}${path}`, {
      headers: { ...(token === null ? {} : { authorization: `Bearer ${token}` }), ...(forwardedFor ? { 'x-forwarded-for': forwardedFor } : {}) },
    })
  const tooMany = { status: 429, code: 'too_many_failed_attempts' } as const

  test('by default the socket counts: a forged X-Forwarded-For changes nothing, and the block lifts when the window ends', async () => {
    for (const wrong of ['mw_live_' + 'x'.repeat(32), 'nope', 'admin?']) {
      await expectError(await call(direct, '/llm/balance', wrong, `198.51.100.${wrong.length}`), { status: 401 })
    }
    const refused = await call(direct, '/llm/balance', TEST_KEY, '198.51.100.200')
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
    await expectError(refused, tooMany, 'right key while blocked')
    await expectError(await call(direct, '/admin/reconciliation?period=2025-01', ADMIN_TOKEN), tooMany, 'admin while blocked')
    const lifted = await waitFor(
      async () => {
        const response = await call(direct, '/llm/usage', TEST_KEY)
        await response.arrayBuffer()
        return response.status === 429 ? null : response
      },
      5_000,
      'the block to lift',
    )
    expect(lifted.status).toBe(200)
  })

  test('wrong admin tokens count as failures too, and block API keys from the same address', async () => {
    const from = '203.0.113.50'
    for (let i = 0; i < 3; i++) await expectError(await call(proxied, '/admin/reconciliation?period=2025-01', `wrong-admin-token-${i}`, from), { status: 401 })
    await expectError(await call(proxied, '/admin/reconciliation?period=2025-01', ADMIN_TOKEN, from), tooMany)
    await expectError(await call(proxied, '/llm/balance', agentKey, from), tooMany)
  })

  test('behind a trusted proxy each caller address is counted apart, by the last hop', async () => {
    for (let i = 0; i < 3; i++) await expectError(await call(proxied, '/llm/usage', `mw_test_${'Z'.repeat(32)}`, `192.0.2.1, 203.0.113.60`), { status: 401 })
    await expectError(await call(proxied, '/llm/usage', agentKey, '203.0.113.60'), tooMany)
    // The hops before the last are whatever the client wrote: changing them does not escape the block.
    await expectError(await call(proxied, '/llm/usage', agentKey, '192.0.2.99, 203.0.113.60'), tooMany)
    const other = await call(proxied, '/llm/usage', agentKey, '203.0.113.61')
    expect(other.status).toBe(200)
  })

  test('requests without any key are plain 401s and never block anyone', async () => {
    const from = '203.0.113.70'
    for (let i = 0; i < 10; i++) await expectError(await call(proxied, '/llm/balance', null, from), { status: 401 })
    expect((await call(proxied, '/llm/balance', agentKey, from)).status).toBe(200)
  })
})
