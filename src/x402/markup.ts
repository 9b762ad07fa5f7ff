// A metered route's markup (basis points) on a cost in nano-USD: what is quoted and settled, and the cost a signed amount covers.

const BPS = 10_000n
const NANO_PER_ATOMIC = 1_000n

/**
 * cost × (10000 + bps) / 10000, rounded UP to a nano-USD. Rounding it again up to atomic units (nanoToAtomicUp) is
 * the same as rounding the exact marked-up cost once: ⌈⌈x⌉ / 1000⌉ = ⌈x / 1000⌉.
 */
export function withMarkup(costNano: bigint, markupBps: number): bigint {
  if (costNano <= 0n) return 0n
  if (markupBps === 0) return costNano
  const scaled = costNano * (BPS + BigInt(markupBps))
  return (scaled + BPS - 1n) / BPS
}

/** The largest cost (nano-USD, before the markup) whose marked-up price fits in `atomic` units: the exchange's limit. */
export function costCoveredNano(atomic: bigint, markupBps: number): bigint {
  return (atomic * NANO_PER_ATOMIC * BPS) / (BPS + BigInt(markupBps))
}
