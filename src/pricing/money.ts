// Money in integer nano-USD: exact decimal parsing and formatting, and the one rounding rule for token costs.

export const NANO_PER_USD = 1_000_000_000n
const TOKENS_PER_PRICE_UNIT = 1_000_000n

/** "2.50" → 2_500_000_000n. Exact: no floats; at most 9 decimal places; rejects anything else. */
export function parseUsdToNano(usd: string): bigint {
  const match = /^(\d+)(?:\.(\d{1,9}))?$/.exec(usd.trim())
  if (!match) throw new RangeError(`not a non-negative USD amount with at most 9 decimals: ${JSON.stringify(usd)}`)
  const whole = BigInt(match[1]!)
  const fraction = BigInt((match[2] ?? '').padEnd(9, '0'))
  return whole * NANO_PER_USD + fraction
}

/** 1_840_000_000n → "1.84"; keeps at least two decimals and drops trailing zeros beyond them. */
export function formatNanoAsUsd(nano: bigint): string {
  const negative = nano < 0n
  const abs = negative ? -nano : nano
  const whole = abs / NANO_PER_USD
  let fraction = (abs % NANO_PER_USD).toString().padStart(9, '0').replace(/0+$/, '')
  if (fraction.length < 2) fraction = fraction.padEnd(2, '0')
  return `${negative ? '-' : ''}${whole}.${fraction}`
}

/**
 * Cost of one token class: ceil(tokens × pricePer1M / 1,000,000) nano-USD.
 * Rounding up per class means we never bill less than the exact amount, and by at most 1 nano-USD per class.
 */
export function tokenClassCost(tokens: number, nanoPerMillionTokens: bigint): bigint {
  if (tokens <= 0 || nanoPerMillionTokens === 0n) return 0n
  // Every request prices several classes: in doubles while they are exact (one BigInt made, not four).
  if (nanoPerMillionTokens > 0n && nanoPerMillionTokens <= EXACT_PRICE && Number.isInteger(tokens)) {
    const product = tokens * Number(nanoPerMillionTokens)
    if (product <= EXACT_PRODUCT) return BigInt(ceilPerMillion(product))
  }
  const product = BigInt(tokens) * nanoPerMillionTokens
  return (product + TOKENS_PER_PRICE_UNIT - 1n) / TOKENS_PER_PRICE_UNIT
}

/**
 * Products up to 2^52: a product of two integers at most this big is exact in a double (a larger true product rounds
 * to at least 2^53, past this bound), and so is the quotient times a million in ceilPerMillion (at most 2^52 + 10^6).
 */
const EXACT_PRODUCT = 2 ** 52
const EXACT_PRICE = BigInt(EXACT_PRODUCT)

/** ceil(product / 1,000,000) for an integer product ≤ 2^52: the double division may be off by one, which the exact remainder corrects. */
function ceilPerMillion(product: number): number {
  let quotient = Math.ceil(product / 1_000_000)
  const over = quotient * 1_000_000 - product
  if (over < 0) quotient++
  else if (over >= 1_000_000) quotient--
  return quotient
}
