// usageCost: the fixtures' usage at the catalog's prices, to the nano-dollar, and the cache classes.
import { describe, expect, test } from 'bun:test'
import { buildCatalog } from '../../src/pricing/catalog'
import { usageCost } from '../../src/pricing/cost'

const catalog = buildCatalog()
const prices = (id: string) => catalog.find(id)!.prices
const plain = (input: number, output: number) => ({ inputTokens: input, outputTokens: output, cachedInputTokens: 0, cacheWriteTokens: 0 })

describe('usageCost', () => {
  test.each([
    // model, input, output, nano-USD = ceil(in × $/1M × 1e9 / 1e6) + ceil(out × …)
    ['openai/gpt-4o', 19, 10, 47_500n + 100_000n],
    ['anthropic/claude-sonnet-4', 25, 12, 75_000n + 180_000n],
    ['google/gemini-2.0-flash', 8, 10, 800n + 4_000n],
    ['openai/gpt-4o-mini', 1, 1, 150n + 600n],
    ['google/gemini-2.5-flash', 3, 0, 900n],
    ['mock/echo', 1_000, 1_000, 0n],
  ] as const)('%s: %i in + %i out → %p', (model, input, output, nano) => {
    expect(usageCost(plain(input, output), prices(model))).toBe(nano)
  })

  test('cached input is billed at the cached price, cache writes at the write price', () => {
    const usage = { inputTokens: 1_000, cachedInputTokens: 600, cacheWriteTokens: 100, outputTokens: 0 }
    // sonnet: 300 × $3 + 600 × $0.30 + 100 × $3.75 per 1M
    expect(usageCost(usage, prices('anthropic/claude-sonnet-4'))).toBe(900_000n + 180_000n + 375_000n)
  })

  test('inconsistent provider numbers never produce a negative class', () => {
    const usage = { inputTokens: 10, cachedInputTokens: 50, cacheWriteTokens: 50, outputTokens: -3 }
    expect(usageCost(usage, prices('openai/gpt-4o'))).toBe(12_500n)
  })
})
