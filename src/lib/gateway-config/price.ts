// A config price ("$0.005") parsed exactly into USDC atomic units (6 decimals) and nano-USD: no floats, never rounded.

/** USDC has 6 decimals: 1 atomic unit = $0.000001 = 1,000 nano-USD. */
export const USDC_DECIMALS = 6
const NANO_PER_ATOMIC = 1_000n

export interface Price {
  /** As a decimal USD string without the dollar sign ("0.005"). */
  usd: string
  /** USDC atomic units, what an x402 `amount` carries. */
  atomic: bigint
  nano: bigint
}

/** Parses "$0.005" or "0.005"; returns the price or what was wrong with it (the caller names the key). */
export function parsePrice(value: unknown): Price | string {
  if (typeof value === 'number') return `expected a quoted price such as "$0.005" (a bare number is read as a float; got ${value})`
  if (typeof value !== 'string') return 'expected a price such as "$0.005"'
  const match = /^\$?(\d{1,12})(?:\.(\d+))?$/.exec(value.trim())
  if (!match) return `expected a price such as "$0.005"; got ${JSON.stringify(value)}`
  const fraction = match[2] ?? ''
  if (fraction.length > USDC_DECIMALS) return `expected at most ${USDC_DECIMALS} decimals (USDC's precision); got ${JSON.stringify(value)}`
  const atomic = BigInt(match[1]!) * 10n ** BigInt(USDC_DECIMALS) + BigInt(fraction.padEnd(USDC_DECIMALS, '0'))
  if (atomic === 0n) return `expected a price above $0 (a paid route charges something); got ${JSON.stringify(value)}`
  const usd = fraction === '' ? match[1]! : `${match[1]}.${fraction}`
  return Object.freeze({ usd, atomic, nano: atomic * NANO_PER_ATOMIC })
}
