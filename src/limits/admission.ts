// Admission and settlement on Redis: rate limits and the money check in one script call per request, one more at the end.
import { walletSnapshot } from '../db/queries/ledger'
import { GatewayError, PaymentRequiredError, RateLimitError, ServiceUnavailableError, InvalidRequestError } from '../errors'
import type { Sql } from '../lib/db'
import type { Logger } from '../lib/logger'
import { formatNanoAsUsd } from '../pricing/money'
import { currentPeriod } from '../modules/usage/period'
import { monthId, subjectKeys, type SubjectKeys } from './keys'
import { registerScripts, type ScriptReply, type ScriptRunner } from './scripts'
import type Redis from 'ioredis'

/** none: postpaid without a cap; prepaid: a wallet hold; cap: postpaid under a monthly spending cap. */
export type MoneyMode = 'none' | 'prepaid' | 'cap'

export interface AdmissionSettings {
  defaultRpm: number
  /** 0: no token limit by default. */
  defaultTpm: number
  holdTtlMs: number
  /** What rate limiting does when Redis cannot answer; money checks always fail closed. */
  onRedisError: 'allow' | 'deny'
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
}

export interface Ticket {
  requestId: string
  keys: SubjectKeys
  mode: MoneyMode
  tpm: number
  chargeTokens: number
  /** Rate-limit headers for the response (empty when Redis could not be asked and limits were let through). */
  headers: Record<string, string>
}

const LOAD_ATTEMPTS = 3
/** Settlement retries after a Redis error: idempotent (a settled request is marked), so retrying is always safe. */
const SETTLE_RETRY_DELAYS_MS = [100, 500, 2_000, 10_000, 30_000]

export class Admission {
  private readonly run: ScriptRunner

  constructor(
    private readonly redis: Redis,
    private readonly sql: Sql,
    private readonly settings: AdmissionSettings,
    private readonly logger: Logger,
  ) {
    this.run = registerScripts(redis)
  }

  /** Admits the request or throws the 429/402/503 it gets. One script call; a wallet not in Redis is first rebuilt. */
  async admit(request: AdmissionRequest): Promise<Ticket> {
    const keys = subjectKeys(request.subject)
    const rpm = request.limits.rpm ?? this.settings.defaultRpm
    const tpm = request.limits.tpm ?? this.settings.defaultTpm
    const month = monthId()
    const ticket: Ticket = { requestId: request.requestId, keys, mode: request.mode, tpm, chargeTokens: request.chargeTokens, headers: {} }
    // No limit and no money to check (DEFAULT_RPM=0, no TPM, postpaid without a cap): nothing to ask Redis.
    if (rpm === 0 && tpm === 0 && request.mode === 'none') return ticket
    for (let attempt = 1; ; attempt++) {
      let reply: ScriptReply
      try {
        reply = await this.run('admit-6', [keys.limits, keys.wallet, keys.holds, keys.holdExpiry, keys.posted, keys.settled], [
          Date.now(), rpm, tpm, request.chargeTokens, request.mode, request.holdNano.toString(),
          (request.capNano ?? 0n).toString(), month, request.requestId, this.settings.holdTtlMs,
        ])
      } catch (error) {
        return this.redisFailed(error, request.mode, ticket)
      }
      const [verdict, rpmLeft, rpmFullMs, tpmLeft, , retryMs, money] = reply as [string, number, number, number, number, number, number]
      ticket.headers = rateHeaders(rpm, rpmLeft, rpmFullMs, tpm, tpmLeft)
      switch (verdict) {
        case 'ok':
          return ticket
        case 'load':
          if (attempt >= LOAD_ATTEMPTS) throw new ServiceUnavailableError('The wallet could not be loaded; try again.', 'wallet_unavailable')
          await this.loadWallet(request.accountId, keys, month).catch((error) => this.redisFailed(error, request.mode, ticket))
          continue
        case 'rpm':
        case 'tpm': {
          const seconds = Math.max(1, Math.ceil(retryMs / 1000))
          const what = verdict === 'rpm' ? `${rpm} requests` : `${tpm} tokens`
          throw new RateLimitError(`Rate limit reached: ${what} per minute. Try again in ${seconds} s.`, seconds, ticket.headers)
        }
        case 'tpm_too_large':
          throw new InvalidRequestError(
            `This request needs ${request.chargeTokens} tokens (prompt and max_tokens), more than the ${tpm} tokens per minute allowed. Lower max_tokens or the prompt.`,
            'max_tokens',
            'request_too_large_for_tpm',
          )
        case 'insufficient_balance':
          throw new PaymentRequiredError(
            `Insufficient balance: $${formatNanoAsUsd(BigInt(money))} available, and this request holds up to $${formatNanoAsUsd(request.holdNano)}. Top up the wallet or lower max_tokens.`,
            'insufficient_balance',
            ticket.headers,
          )
        case 'spending_cap_reached':
          throw new PaymentRequiredError(
            `Spending cap reached: $${formatNanoAsUsd(BigInt(money))} spent or held this month against a cap of $${formatNanoAsUsd(request.capNano ?? 0n)}, and this request holds up to $${formatNanoAsUsd(request.holdNano)}.`,
            'spending_cap_reached',
            ticket.headers,
          )
        default:
          throw new ServiceUnavailableError(`Unexpected admission verdict ${verdict}.`)
      }
    }
  }

  /**
   * Pays for a finished request: debits the cost, releases the rest of the hold, corrects the token bucket. Never
   * throws. If Redis fails, it is retried in the background (a hold that expires meanwhile is given back, and the
   * late settlement still debits the cost in full).
   */
  async settle(ticket: Ticket, costNano: number, tokensUsed: number, attempt = 0): Promise<void> {
    // No money held and no token bucket to correct: nothing to settle, and no round trip spent on it.
    if (ticket.mode === 'none' && ticket.tpm === 0) return
    const { keys } = ticket
    try {
      await this.run('settle-7', [keys.limits, keys.wallet, keys.holds, keys.holdExpiry, keys.unposted, keys.posted, keys.settled], [
        ticket.requestId, costNano, ticket.mode, ticket.tpm, ticket.chargeTokens, tokensUsed, Date.now(),
      ])
    } catch (error) {
      const delay = SETTLE_RETRY_DELAYS_MS[attempt]
      const fields = { requestId: ticket.requestId, costNano, attempt: attempt + 1, error: (error as Error).message }
      if (delay === undefined) {
        // Redis keeps the wallet too high by this cost until it is rebuilt from Postgres (which has the usage row).
        this.logger.error('settlement abandoned after retries', fields)
        return
      }
      this.logger.warn('settlement failed; retrying', { ...fields, retryInMs: delay })
      setTimeout(() => void this.settle(ticket, costNano, tokensUsed, attempt + 1), delay)
    }
  }

  /** A progressive hold asks for more; returns the nano-USD granted (0: the wallet is empty, or Redis failed). */
  async extend(ticket: Ticket, wantNano: bigint): Promise<bigint> {
    try {
      const [granted] = (await this.run('extend-hold-3', [ticket.keys.wallet, ticket.keys.holds, ticket.keys.holdExpiry], [
        ticket.requestId, wantNano.toString(), Date.now(), this.settings.holdTtlMs,
      ])) as [number, number]
      return BigInt(granted)
    } catch (error) {
      this.logger.warn('hold extension failed; the stream ends at its current hold', { requestId: ticket.requestId, error: (error as Error).message })
      return 0n
    }
  }

  /** The wallet as the hot path sees it (rebuilt from Postgres first if Redis does not have it). */
  async balance(accountId: string): Promise<{ availableNano: bigint; heldNano: bigint }> {
    const keys = subjectKeys(accountId)
    const month = monthId()
    let [loaded, avail, held, walletMonth] = await this.redis.hmget(keys.wallet, 'loaded', 'avail', 'held', 'month')
    if (loaded !== '1' || walletMonth !== month) {
      await this.loadWallet(accountId, keys, month)
      ;[avail, held] = await this.redis.hmget(keys.wallet, 'avail', 'held')
    }
    return { availableNano: BigInt(avail ?? '0'), heldNano: BigInt(held ?? '0') }
  }

  /**
   * The usage worker committed these requests' costs: Redis drops what it kept for them, and marks the ones it has
   * not settled yet, so their late settlement or expiring hold pays exactly once. Throws on Redis errors (the worker's
   * batch then runs again, which is harmless).
   */
  async posted(subject: string, requests: { requestId: string; costNano: number }[]): Promise<void> {
    const keys = subjectKeys(subject)
    const args = requests.flatMap((r) => [r.requestId, String(r.costNano)])
    await this.run('post-usage-3', [keys.unposted, keys.posted, keys.settled], args)
  }

  /** A committed ledger credit raises the wallet in Redis (if loaded and not already counted). */
  async credit(subject: string, amountNano: bigint, ledgerId: string): Promise<void> {
    await this.run('credit-1', [subjectKeys(subject).wallet], [amountNano.toString(), ledgerId])
  }

  /**
   * Rebuilds the wallet from Postgres: ledger balance and month spend, minus what Redis settled that Postgres does not
   * have yet. The unposted ids are read before Postgres, so one posted in between is seen there and dropped here.
   */
  private async loadWallet(accountId: string, keys: SubjectKeys, month: string): Promise<void> {
    const pendingIds = await this.redis.hkeys(keys.unposted)
    const snapshot = await walletSnapshot(this.sql, accountId, currentPeriod().start, pendingIds)
    await this.run('load-wallet-4', [keys.wallet, keys.unposted, keys.posted, keys.settled], [
      snapshot.balanceNano.toString(), snapshot.monthSpendNano.toString(), month, snapshot.watermark, ...snapshot.postedRequestIds,
    ])
  }

  private redisFailed(error: unknown, mode: MoneyMode, ticket: Ticket): Ticket {
    if (error instanceof GatewayError) throw error
    const message = (error as Error).message
    if (mode !== 'none') {
      this.logger.warn('admission refused: Redis unavailable for a money check', { requestId: ticket.requestId, error: message })
      throw new ServiceUnavailableError('Billing state is unavailable right now; no money was held. Try again shortly.')
    }
    if (this.settings.onRedisError === 'deny') {
      this.logger.warn('admission refused: Redis unavailable for rate limits', { requestId: ticket.requestId, error: message })
      throw new ServiceUnavailableError('Rate limiting is unavailable right now. Try again shortly.')
    }
    return ticket
  }
}

function rateHeaders(rpm: number, rpmLeft: number, rpmFullMs: number, tpm: number, tpmLeft: number): Record<string, string> {
  const headers: Record<string, string> = {}
  if (rpm > 0) {
    const reset = String(Math.ceil((Date.now() + rpmFullMs) / 1000))
    headers['x-ratelimit-limit'] = String(rpm)
    headers['x-ratelimit-remaining'] = String(Math.max(0, rpmLeft))
    headers['x-ratelimit-reset'] = reset
    headers['x-ratelimit-limit-requests'] = String(rpm)
    headers['x-ratelimit-remaining-requests'] = String(Math.max(0, rpmLeft))
  }
  if (tpm > 0) {
    headers['x-ratelimit-limit-tokens'] = String(tpm)
    headers['x-ratelimit-remaining-tokens'] = String(Math.max(0, tpmLeft))
  }
  return headers
}
