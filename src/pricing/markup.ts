// Markup on end-user top-ups (pure): what a wallet is credited from a payment, and the project's margin, in nano-USD.

export const BPS = 10_000n
export const NANO_PER_CENT = 10_000_000n

/** net = floor(amount × 10000 / (10000 + bps)): the wallet never gets more than the markup allows; margin = amount − net. */
export function splitTopUp(amountNano: bigint, markupBps: number): { netNano: bigint; marginNano: bigint } {
  if (amountNano < 0n || !Number.isInteger(markupBps) || markupBps < 0) throw new RangeError(`splitTopUp: bad amount ${amountNano} or markup ${markupBps}`)
  const netNano = (amountNano * BPS) / (BPS + BigInt(markupBps))
  return { netNano, marginNano: amountNano - netNano }
}
