// A metered route's markup: parsed exactly into basis points, applied to a nano-USD cost rounded up once, and the cost a signed amount covers.
import { expect, test } from 'bun:test'
import { formatMarkup, parseMarkup } from '../../src/lib/gateway-config/markup'
import { costCoveredNano, withMarkup } from '../../src/x402/markup'
import { nanoToAtomicUp, uptoSettlement } from '../../src/x402/upto'

test('parseMarkup: quoted percentages with at most 2 decimals, 0% to 1000%', () => {
  expect(parseMarkup('20%')).toBe(2000)
  expect(parseMarkup('2.5%')).toBe(250)
  expect(parseMarkup('0.01%')).toBe(1)
  expect(parseMarkup('0%')).toBe(0)
  expect(parseMarkup('1000%')).toBe(100_000)
  for (const bad of [20, '20', '-1%', '0.001%', '1000.01%', '%', '', null]) expect(typeof parseMarkup(bad)).toBe('string')
  for (const bps of [0, 1, 10, 250, 1250, 2000, 100_000]) expect(parseMarkup(formatMarkup(bps))).toBe(bps)
})

test('withMarkup rounds up to a nano-USD, and then to atomic units, the same as rounding the exact amount once', () => {
  expect(withMarkup(255_000n, 1250)).toBe(286_875n)
  expect(withMarkup(1n, 1)).toBe(2n)
  expect(withMarkup(10_000n, 1)).toBe(10_001n)
  expect(withMarkup(0n, 2000)).toBe(0n)
  expect(withMarkup(999n, 0)).toBe(999n)
  // Exhaustively on small costs: ⌈⌈c × (1 + m)⌉ / 1000⌉ = ⌈c × (10000 + bps) / 10,000,000⌉.
  for (const bps of [1, 333, 2000]) {
    for (let c = 0n; c < 3_000n; c += 7n) {
      const exact = (c * BigInt(10_000 + bps) + 9_999_999n) / 10_000_000n
      expect(nanoToAtomicUp(withMarkup(c, bps))).toBe(exact)
    }
  }
})

test('costCoveredNano: any cost up to it, marked up, settles within the signed amount', () => {
  for (const [atomic, bps] of [[4_320n, 1250], [1n, 2000], [999_999n, 1], [7n, 0]] as const) {
    const covered = costCoveredNano(atomic, bps)
    expect(uptoSettlement(withMarkup(covered, bps), atomic + 1n)).toBeLessThanOrEqual(atomic)
    expect(nanoToAtomicUp(withMarkup(covered + 1_000n, bps))).toBeGreaterThan(atomic)
  }
})
