// What an admission is asked (the request's rates and money) and what it gives back (the ticket its settlement pays).
import type { SubjectKeys } from './keys'
import type { Float } from './money-float'

/** none: postpaid without a cap; prepaid: a wallet hold; cap: postpaid under a monthly spending cap. */
export type MoneyMode = 'none' | 'prepaid' | 'cap'

export interface AdmissionSettings {
  defaultRpm: number
  /** 0: no token limit by default. */
  defaultTpm: number
  holdTtlMs: number
  /** What rate limiting does when Redis cannot answer; money checks always fail closed. */
  onRedisError: 'allow' | 'deny'
  /** Names the sweeper's index (see openIndexKeys). */
  queuePrefix: string
}

export interface AdmissionRequest {
  requestId: string
  /** Whose buckets and wallet: the account, or the key for static keys. */
  subject: string
  accountId: string
  limits: { rpm: number | null; tpm: number | null }
  mode: MoneyMode
  capNano: bigint | null
  holdNano: bigint
  /** Tokens charged to the token bucket now: the prompt estimate plus the output tokens held for. */
  chargeTokens: number
  /** An end-user session lineage whose max_spend this hold must fit (spent + held + hold), checked in the same script. */
  lineage?: SpendLineage | undefined
}

export interface SpendLineage {
  id: string
  maxSpendNano: bigint
}

export interface Ticket {
  requestId: string
  subject: string
  keys: SubjectKeys
  /** The session lineage's spend key (the unused `:lin:-` key without one). */
  lineageKey: string
  mode: MoneyMode
  tpm: number
  chargeTokens: number
  /** Nano-USD held for this request so far (progressive holds grow it); 0 without money. */
  heldNano: bigint
  /** Has been checkpointed: its record waits in Redis beside a hold entry, and in the sweeper's index. */
  tracked: boolean
  /**
   * Admitted from this gateway's float (its hold is part of the float's until it settles or is tracked). Absent, not
   * null, on every other ticket: one more field on every ticket measured ~3 KB more RSS per open stream at 9,950
   * streams (bun run bench --only memory: 38.0 KB without it, 40.7–41.8 with it).
   */
  float?: Float
  /** Rate-limit headers for the response (empty when Redis could not be asked and limits were let through). */
  headers: Record<string, string>
}
