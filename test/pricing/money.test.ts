// Money: exact USD parsing and formatting in nano-USD, and the one rounding rule, as tables.
import { describe, expect, test } from 'bun:test'
import { formatNanoAsUsd, parseUsdToNano, tokenClassCost } from '../../src/pricing/money'

describe('parseUsdToNano', () => {
  test.each([
    ['0', 0n],
    ['2.50', 2_500_000_000n],
    ['0.15', 150_000_000n],
    ['0.0375', 37_500_000n],
    ['15', 15_000_000_000n],
    ['0.000000001', 1n],
    ['9007199.254740993', 9_007_199_254_740_993n],
  ])('%s → %p', (usd, nano) => expect(parseUsdToNano(usd)).toBe(nano))

  test.each(['-1', '1.0000000001', 'abc', '1e3', '', '1.2.3', '0x10'])('refuses %p', (usd) => {
    expect(() => parseUsdToNano(usd)).toThrow(RangeError)
  })
})

describe('formatNanoAsUsd', () => {
  test.each([
    [0n, '0.00'],
    [1_840_000_000n, '1.84'],
    [1n, '0.000000001'],
    [2_500_000_000n, '2.50'],
    [123_456_789_012n, '123.456789012'],
    [-5_000_000n, '-0.005'],
  ])('%p → %s', (nano, usd) => expect(formatNanoAsUsd(nano)).toBe(usd))

  test('round-trips through parse', () => {
    for (const usd of ['0.01', '1.84', '10.00', '0.123456789']) expect(formatNanoAsUsd(parseUsdToNano(usd))).toBe(usd)
  })
})

describe('tokenClassCost = ceil(tokens × nanoPer1M / 1,000,000)', () => {
  test.each([
    // tokens, USD per 1M, nano-USD
    [0, '2.50', 0n],
    [1, '2.50', 2_500n],
    [19, '2.50', 47_500n],
    [10, '10.00', 100_000n],
    [1, '0.15', 150n],
    [1, '0.0375', 38n], // 37.5 rounds up
    [3, '0.000001', 1n], // 0.003 rounds up to one nano-USD
    [1_000_000, '3.00', 3_000_000_000n],
    [7, '0', 0n],
  ])('%i tokens at $%s/1M → %p nano-USD', (tokens, usd, nano) => {
    expect(tokenClassCost(tokens, parseUsdToNano(usd))).toBe(nano)
  })

  test('never under-bills, and over-bills by less than one nano-USD per class', () => {
    for (let tokens = 1; tokens < 2_000; tokens += 37) {
      for (const usd of ['0.075', '0.3125', '1.10', '4.40']) {
        const price = parseUsdToNano(usd)
        const cost = tokenClassCost(tokens, price)
        const exactTimesMillion = BigInt(tokens) * price
        expect(cost * 1_000_000n >= exactTimesMillion).toBe(true)
        expect(cost * 1_000_000n - exactTimesMillion < 1_000_000n).toBe(true)
      }
    }
  })

  /** The rule in BigInt alone: what the Number fast path must equal, to the nano-USD. */
  const exact = (tokens: number, price: bigint) => (tokens <= 0 || price === 0n ? 0n : (BigInt(tokens) * price + 999_999n) / 1_000_000n)

  test('equals the BigInt rule everywhere: random sizes, exact multiples, and products around 2^52 and 2^53', () => {
    let seed = 42
    const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648)
    const cases: [number, bigint][] = []
    for (let i = 0; i < 20_000; i++) {
      const tokens = Math.floor(random() ** 3 * 10 ** (1 + Math.floor(random() * 9)))
      const price = BigInt(Math.floor(random() ** 2 * 10 ** (1 + Math.floor(random() * 12))))
      cases.push([tokens, price], [tokens, price * 1_000_000n], [tokens + 1, price])
    }
    for (const product of [2 ** 52, 2 ** 53]) {
      for (const price of [1n, 3n, 999_999n, 1_000_000n, 1_000_001n, 7_000_000_003n]) {
        const tokens = Math.floor(product / Number(price))
        for (let d = -3; d <= 3; d++) cases.push([tokens + d, price])
      }
    }
    // Prices past what a double holds exactly, and token counts whose product with any price is past 2^53.
    cases.push([1, 2n ** 60n + 1n], [3, 2n ** 53n + 1n], [Number.MAX_SAFE_INTEGER, 2n], [2 ** 40, 2n ** 20n])
    // A negative price never comes from the catalog (parseUsdToNano refuses one), but the rule still holds for it.
    cases.push([2, -1_000_001n], [3, -7n], [1_000, -2_500_000n])
    for (const [tokens, price] of cases) {
      const got = tokenClassCost(tokens, price)
      if (got !== exact(tokens, price)) throw new Error(`tokenClassCost(${tokens}, ${price}n) = ${got}n, want ${exact(tokens, price)}n`)
    }
    expect(cases.length).toBeGreaterThan(60_000)
  })

  test('a fractional token count is refused, as BigInt refuses it', () => {
    expect(() => tokenClassCost(1.5, 2_500n)).toThrow(RangeError)
  })
})
