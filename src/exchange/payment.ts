// How a request is paid: one small interface, one implementation per way of paying (src/exchange/payments/).
import type { MoneyMode } from '../limits/admission'

export interface HoldRequest {
  requestId: string
  /** The worst case, in nano-USD (see Estimate.holdNano). */
  holdNano: bigint
  /** Charged to the token bucket now. */
  chargeTokens: number
}

/** What admission granted a request, and how it pays at the end. */
export interface Reservation {
  /** Rate-limit headers for the response. */
  readonly headers: Record<string, string>
  /** The most this request may be billed so far (nano-USD): what it held. Null: no money held; billed what it used. */
  limitNano(): bigint | null
  /** A progressive hold asks for more (checkpointing the stream); resolves with the nano-USD granted (0: no more). */
  extend(wantNano: bigint, checkpoint: string): Promise<bigint>
  /** Records a stream's usage so far (fire and forget); the first one starts tracking the request. */
  checkpoint(record: string): void
  /** Checkpointed (or given a slice): its settlement must leave the final record in Redis too. */
  tracked(): boolean
  /** Pays the cost, releases the rest, corrects the rate limits; never throws. */
  settle(costNano: number, tokensUsed: number, finalRecord: string | null): Promise<void>
}

export interface PaymentMethod {
  /** How the usage record names the way it was paid. */
  readonly mode: MoneyMode
  /** Whose buckets and wallet. */
  readonly subject: string
  /** A stream without its own output cap may hold slice by slice (the money can run out mid-answer). */
  readonly progressive: boolean
  /**
   * Charges the rate limits and holds the money in one round trip (none when this gateway's lease and float cover it:
   * then synchronously); throws the refusal (429, 402, 503).
   */
  reserve(hold: HoldRequest): Reservation | Promise<Reservation>
}
