// An x402 payment: no account and no wallet; the signed maximum bounds the cost, and the finish settles what was used (upto) or nothing more (exact, paid up front).
import type { PaymentMethod } from '../payment'

export interface X402PaymentTerms {
  /** Whose request: "x402_<payer>" (the usage row's account and subject). */
  subject: string
  /** The most the request may cost, in nano-USD: the signed maximum (upto) or what was settled up front (exact). */
  maxNano: bigint
  /**
   * Called once at the finish with the cost the meter measured (at most maxNano); settles it with the facilitator
   * (upto) or only records the payment (exact). Must never throw.
   */
  settle(costNano: number): Promise<void>
  /** upto: a live stream's cost so far (nano-USD), kept where a worker settles it if this gateway dies. Must never throw. */
  checkpoint?(costNano: number): void
}

/**
 * Rate limits and wallets do not apply: each request brings its own money, signed for this request only. An upto
 * payment is written down in Redis before the first byte and checkpointed as the stream runs, so a gateway that dies
 * mid-stream still has its last checkpoint settled by a worker (src/x402/upto-pending.ts).
 */
export function x402Payment(terms: X402PaymentTerms): PaymentMethod {
  return {
    mode: 'none',
    subject: terms.subject,
    progressive: false,
    reserve: async () => ({
      headers: {},
      limitNano: () => terms.maxNano,
      extend: async () => 0n,
      checkpoint: (record) => {
        if (!terms.checkpoint) return
        const costNano = (JSON.parse(record) as { costNano?: unknown }).costNano
        if (typeof costNano === 'number') terms.checkpoint(costNano)
      },
      tracked: () => false,
      settle: (costNano) => terms.settle(costNano),
    }),
  }
}
