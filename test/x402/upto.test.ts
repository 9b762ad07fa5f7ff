// The upto amounts: nano-USD rounded up to USDC atomic units, settled never above the signed maximum, nothing at zero cost.
import { expect, test } from 'bun:test'
import { nanoToAtomicUp, uptoSettlement } from '../../src/x402/upto'

test('nano-USD to atomic units rounds up, in the payee’s favour', () => {
  const table: [bigint, bigint][] = [
    [0n, 0n],
    [-5n, 0n],
    [1n, 1n],
    [999n, 1n],
    [1_000n, 1n],
    [1_001n, 2n],
    [10_047_500n, 10_048n],
    [10_048_000n, 10_048n],
  ]
  for (const [nano, atomic] of table) expect([nano, nanoToAtomicUp(nano)]).toEqual([nano, atomic])
})

test('the settlement is the rounded cost, at most the signed maximum, and nothing when the cost is zero', () => {
  expect(uptoSettlement(0n, 20_000n)).toBe(0n)
  expect(uptoSettlement(10_047_500n, 20_000n)).toBe(10_048n)
  expect(uptoSettlement(19_999_001n, 20_000n)).toBe(20_000n)
  expect(uptoSettlement(25_000_000n, 20_000n)).toBe(20_000n)
})
