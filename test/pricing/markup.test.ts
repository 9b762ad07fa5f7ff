// The top-up markup split: net = floor(amount × 10000 / (10000 + bps)), margin = amount − net, for every markup and amount tried.
import { describe, expect, test } from 'bun:test'
import { splitTopUp } from '../../src/pricing/markup'

describe('splitTopUp', () => {
  test('net is the largest whole nano-USD whose markup does not exceed the amount; net + margin = amount', () => {
    const amounts = [0n, 1n, 7n, 500_000_000n, 1_000_000_000n, 3_330_000_000n, 10_000_000_000n, 9_999_990_000_000n]
    for (const bps of [0, 1, 1250, 2000, 3333, 10_000, 100_000]) {
      for (const amount of amounts) {
        const { netNano, marginNano } = splitTopUp(amount, bps)
        expect(netNano + marginNano).toBe(amount)
        expect(netNano * BigInt(10_000 + bps)).toBeLessThanOrEqual(amount * 10_000n)
        expect((netNano + 1n) * BigInt(10_000 + bps)).toBeGreaterThan(amount * 10_000n)
        if (bps === 0) expect(marginNano).toBe(0n)
      }
    }
  })

  test('refunds computed cumulatively add up to the whole: each part is the difference of two splits', () => {
    const amount = 10_000_000_000n
    let before = 0n
    let net = 0n
    for (const after of [3_330_000_000n, 5_000_000_000n, 9_999_999_999n, amount]) {
      net += splitTopUp(after, 2000).netNano - splitTopUp(before, 2000).netNano
      before = after
    }
    expect(net).toBe(splitTopUp(amount, 2000).netNano)
  })

  test('a negative amount or a fractional markup is a programming error', () => {
    expect(() => splitTopUp(-1n, 0)).toThrow(RangeError)
    expect(() => splitTopUp(1n, 12.5)).toThrow(RangeError)
  })
})
