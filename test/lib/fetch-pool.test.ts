// Sizing Bun's fetch pool from UPSTREAM_MAX_CONNECTIONS, our pool's size when it cannot be, and the file budget read.
import { describe, expect, test } from 'bun:test'
import { ConfigError, loadConfig } from '../../src/config'
import { BUN_FETCH_POOL_MAX, FETCH_POOL_RESERVE, fileBudget, requiredBunFetchPool, upstreamSlots } from '../../src/lib/fetch-pool'

describe('fetch pool sizing', () => {
  test('defaults: 10,000 upstream requests, Bun at its own default of 256 until the boot resizes it', () => {
    const { upstream, tokenizerThreads } = loadConfig({})
    expect(upstream.maxConnections).toBe(10_000)
    expect(upstream.poolWaitMs).toBe(1_000)
    expect(upstream.bunFetchPool).toBe(256)
    expect(tokenizerThreads).toBe(2)
    expect(requiredBunFetchPool(upstream.maxConnections)).toBe(10_000 + FETCH_POOL_RESERVE)
  })

  test("Bun's pool never goes past its u16 maximum, and neither can ours", () => {
    expect(requiredBunFetchPool(65_279)).toBe(BUN_FETCH_POOL_MAX)
    expect(() => loadConfig({ UPSTREAM_MAX_CONNECTIONS: '65280' })).toThrow(ConfigError)
    expect(() => loadConfig({ BUN_CONFIG_MAX_HTTP_REQUESTS: '70000' })).toThrow('BUN_CONFIG_MAX_HTTP_REQUESTS:')
    expect(() => loadConfig({ BUN_CONFIG_MAX_HTTP_REQUESTS: '0' })).toThrow(ConfigError)
  })

  test('our pool takes the configured size when Bun can hold it, else what Bun can hold beside the reserve', () => {
    const upstream = (maxConnections: number, bunFetchPool: number) => loadConfig({ UPSTREAM_MAX_CONNECTIONS: String(maxConnections), BUN_CONFIG_MAX_HTTP_REQUESTS: String(bunFetchPool) }).upstream
    expect(upstreamSlots(upstream(10_000, 65_535))).toBe(10_000)
    expect(upstreamSlots(upstream(10_000, 10_256))).toBe(10_000)
    expect(upstreamSlots(upstream(10_000, 10_000))).toBe(10_000 - FETCH_POOL_RESERVE)
    // An in-process gateway (tests) with Bun's default pool: half of it, so upstream requests queue in our pool, not Bun's.
    expect(upstreamSlots(upstream(10_000, 256))).toBe(128)
    expect(upstreamSlots(upstream(10, 256))).toBe(10)
    expect(upstreamSlots(upstream(10, 1))).toBe(1)
  })

  test.skipIf(process.platform !== 'linux')('the file budget reads the soft limit and the descriptors in use', () => {
    const budget = fileBudget()!
    expect(budget.limit).toBeGreaterThan(budget.inUse)
    expect(budget.inUse).toBeGreaterThan(2)
    // Two descriptors a stream, beside what the process opens after boot.
    expect(budget.streams).toBe(Math.floor((budget.limit - budget.inUse - 64) / 2))
  })
})
