// The usage record: exactly one per request, whatever way it ended, built from the meter's observations.
import type { ProviderId } from '../pricing/catalog'

/**
 * ok: answered (a stream the gateway cut at its budget too); client_aborted: the client left; upstream_error, timeout:
 * the upstream failed or was too slow; gateway_lost: the gateway died mid-request, and the hold sweeper wrote its last
 * checkpoint.
 */
export type UsageStatus = 'ok' | 'client_aborted' | 'upstream_error' | 'timeout' | 'gateway_lost'
/** provider: the provider's numbers only; counted: ours only (no provider usage); both: provider's, with our count beside. */
export type UsageSource = 'provider' | 'counted' | 'both'

export interface UsageRecord {
  requestId: string
  /** Id of the key used (never the key itself). */
  keyId: string
  accountId: string
  model: string
  provider: ProviderId
  upstreamModel: string
  stream: boolean
  status: UsageStatus
  /** HTTP status the client got (200 for streams that started, even if they broke later). */
  httpStatus: number
  inputTokens: number
  outputTokens: number
  cachedInputTokens: number
  cacheWriteTokens: number
  reasoningTokens: number
  /**
   * Image tokens read and generated (subsets of inputTokens and outputTokens): image models. Optional, as are the two
   * below: records queued by a gateway older than migration 007 have none (stored as 0 and null).
   */
  imageInputTokens?: number
  imageOutputTokens?: number
  /** Images billed per image, and the quality and size they were priced at ("hd/1024x1792"); 0 and null otherwise. */
  images?: number
  imageTier?: string | null
  /**
   * Cost in nano-USD at the catalog version below (a number: exact for any single request below $9M), at most what the
   * request held when it held money.
   */
  costNano: number
  /** The part of the usage's price above the hold, which was not billed (the provider used more than the worst case we could foresee). */
  overHoldNano: number
  catalogVersion: string
  /** How it was paid: none (postpaid, no cap), prepaid (wallet; the ledger gets the debit), cap (postpaid under a cap). */
  moneyMode: 'none' | 'prepaid' | 'cap'
  /** Whose limits and wallet (Redis hash tag): the account, or the key of a static key. */
  subject: string
  source: UsageSource
  /** Our own count, kept beside the provider's so drift is visible. */
  countedInputTokens: number
  countedOutputTokens: number
  /** provider − counted, when both exist. */
  inputTokensDiff: number | null
  outputTokensDiff: number | null
  /** Milliseconds from request arrival to the first byte sent to the client; null if none was sent. */
  ttfbMs: number | null
  totalMs: number
  startedAt: string
  errorCode: string | null
  /** Platform mode: the project, end customer, session and mode (absent for agents and static keys). */
  platform?: PlatformUsage
}

/** Whose end user paid, for a request made with a session token (platform mode). */
export interface PlatformUsage {
  projectId: string
  endCustomerId: string
  sessionId: string
  mode: 'live' | 'test'
}

export type UsageSink = (record: UsageRecord) => void
