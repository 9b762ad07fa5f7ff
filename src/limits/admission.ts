// Admission and settlement on Redis: rate limits and the money check in one script call per request (a busy rate-only subject: from a lease), one more at the end.
import { walletSnapshot } from '../db/queries/ledger'
import { GatewayError, ServiceUnavailableError } from '../errors'
import type { Sql } from '../lib/db'
import type { Logger } from '../lib/logger'
import { countRefusal } from '../lib/metrics'
import { currentMonthId, lineageKey, monthId, monthStart, openIndexKeys, openIndexMember, openIndexShard, subjectKeys, type SubjectKeys } from './keys'
import type { ScriptReply } from './scripts'
import type { HotRedis } from '../lib/hot-redis'
import { leaseCap, RateLeases, type RateVerdict } from './rate-lease'
import type { AdmissionRequest, AdmissionSettings, MoneyMode, Ticket } from './admission-types'
import { FLOAT_USE_MS, MoneyFloats, NO_PLAN, type Float, type FloatPlan } from './money-float'
import { rateHeaders, rateLimited, refusal } from './refusals'

export type { AdmissionRequest, AdmissionSettings, MoneyMode, SpendLineage, Ticket } from './admission-types'

/** How long a lineage's spend is kept in Redis after its last admission: longer than any chain of refreshes is used. */
const LINEAGE_TTL_MS = 7 * 24 * 3_600_000

const LOAD_ATTEMPTS = 3
/** How many floats on their way a request waits for before it is admitted by its own round trip. */
const FLOAT_WAIT_TURNS = 3
/** Settlements of one subject's float requests in one settle-floats-6 call, at most. */
const FLOAT_SETTLEMENTS_A_CALL = 256
/** Settlement retries after a Redis error: idempotent (a settled request is marked), so retrying is always safe. */
const SETTLE_RETRY_DELAYS_MS = [100, 500, 2_000, 10_000, 30_000]

export class Admission {
  private readonly openIndex: string[]
  /** Settlements waiting to be retried after a Redis error, by request id: what a stop could not settle. */
  private readonly retrying = new Map<string, { costNano: number; timer: ReturnType<typeof setTimeout> }>()
  private readonly leases: RateLeases
  private readonly floats: MoneyFloats

  constructor(
    private readonly redis: HotRedis,
    private readonly sql: Sql,
    private readonly settings: AdmissionSettings,
    private readonly logger: Logger,
  ) {
    this.openIndex = openIndexKeys(settings.queuePrefix)
    this.leases = new RateLeases(redis)
    this.floats = new MoneyFloats(redis, logger)
  }

  /**
   * Admits the request or throws the 429/402/503 it gets. One script call at most (none from a rate lease); a wallet not
   * in Redis is first rebuilt. Synchronous when a lease and a float admit it here, as most of a busy subject's requests
   * are: no promise, no await between the request and its upstream call.
   */
  admit(request: AdmissionRequest): Ticket | Promise<Ticket> {
    const keys = subjectKeys(request.subject)
    const rpm = request.limits.rpm ?? this.settings.defaultRpm
    const tpm = request.limits.tpm ?? this.settings.defaultTpm
    const month = currentMonthId()
    const ticket: Ticket = {
      requestId: request.requestId,
      subject: request.subject,
      keys,
      lineageKey: lineageKey(request.subject, request.lineage?.id ?? null),
      mode: request.mode,
      tpm,
      chargeTokens: request.chargeTokens,
      heldNano: request.mode === 'none' ? 0n : request.holdNano,
      tracked: false,
      headers: {},
    }
    // No limit and no money to check (DEFAULT_RPM=0, no TPM, postpaid without a cap): nothing to ask Redis.
    if (rpm === 0 && tpm === 0 && request.mode === 'none') return ticket
    // Nothing but the buckets to check: the one-key script (admit-rate-1), a third of admit-8's bytes and Redis CPU.
    const ratesOnly = request.mode === 'none' && !request.lineage
    // Only the request rate to check, and a limit high enough to lease from: most requests of a busy subject skip Redis.
    if (ratesOnly && tpm === 0 && leaseCap(rpm) >= 2) return this.admitByLease(request, ticket, rpm)
    // A wallet or cap with at most a leased request rate to check: a busy subject's requests are held from a float.
    const floatable = (request.mode === 'prepaid' || request.mode === 'cap') && !request.lineage && tpm === 0 && (rpm === 0 || leaseCap(rpm) >= 2) && request.holdNano > 0n
    if (floatable) {
      // Only a float in hand or on its way is awaited: otherwise this request asks Redis at once (and may bring the next float).
      const float = this.floats.take(request.subject, request.mode, request.capNano, month, request.holdNano, true)
      if (float || this.floats.hasPending(request.subject)) return this.admitFromFloat(request, ticket, rpm, tpm, month, float)
    }
    return this.admitDirect(request, ticket, rpm, tpm, month, floatable)
  }

  /** One admit-8 (or admit-rate-1) round trip; a floatable request's also gives back this gateway's float and may bring the next. */
  private async admitDirect(request: AdmissionRequest, ticket: Ticket, rpm: number, tpm: number, month: string, floatable: boolean): Promise<Ticket> {
    const { keys } = ticket
    const ratesOnly = request.mode === 'none' && !request.lineage
    for (let attempt = 1; ; attempt++) {
      let reply: ScriptReply
      const plan = floatable ? this.floats.plan(request.subject, request.holdNano) : NO_PLAN
      try {
        const call = ratesOnly
          ? this.redis.script('admit-rate-1', keys.rateList, [Date.now(), rpm, tpm, request.chargeTokens])
          : this.redis.script('admit-8', ticket.lineageKey === keys.noLineage ? keys.admitList : [keys.limits, keys.wallet, keys.holds, keys.holdExpiry, keys.posted, keys.settled, keys.open, ticket.lineageKey], [
              Date.now(), rpm, tpm, request.chargeTokens, request.mode, request.holdNano.toString(),
              (request.capNano ?? 0n).toString(), month, request.requestId, this.settings.holdTtlMs,
              request.lineage ? request.lineage.maxSpendNano.toString() : '', LINEAGE_TTL_MS,
              ...(floatable ? floatArgs(plan, FLOAT_USE_MS + this.settings.holdTtlMs) : []),
            ])
        if (plan.newId !== '') this.floats.setPending(request.subject, call)
        reply = await call
      } catch (error) {
        return this.redisFailed(error, request.mode, ticket)
      }
      const [verdict, rpmLeft, rpmFullMs, tpmLeft, , retryMs, money, floatNano] = reply as [string, number, number, number, number, number, number, number?]
      ticket.headers = rateHeaders(rpm, rpmLeft, rpmFullMs, tpm, tpmLeft)
      if (verdict !== 'ok' && verdict !== 'load') countRefusal(verdict)
      switch (verdict) {
        case 'ok':
          if (floatNano) this.floats.granted(request.subject, plan, BigInt(floatNano), request.mode, request.capNano, month)
          return ticket
        case 'load':
          if (attempt >= LOAD_ATTEMPTS) throw new ServiceUnavailableError('The wallet could not be loaded; try again.', 'wallet_unavailable')
          await this.loadWallet(request.accountId, keys, month).catch((error) => this.redisFailed(error, request.mode, ticket))
          continue
        case 'rpm':
        case 'tpm':
          throw rateLimited(verdict === 'rpm' ? `${rpm} requests` : `${tpm} tokens`, retryMs, ticket.headers)
        case 'tpm_too_large':
        case 'insufficient_balance':
        case 'spending_cap_reached':
        case 'session_spend_limit':
          throw refusal(verdict, request, tpm, BigInt(money), ticket.headers)
        default:
          throw new ServiceUnavailableError(`Unexpected admission verdict ${verdict}.`)
      }
    }
  }

  /**
   * A request held from its subject's float (src/limits/money-float.ts), if the float covers it: no round trip unless
   * its rate lease needs one. Requests arriving while a float is on its way wait for it (a few turns); one it does not
   * cover is admitted directly.
   */
  private admitFromFloat(request: AdmissionRequest, ticket: Ticket, rpm: number, tpm: number, month: string, taken: Float | null): Ticket | Promise<Ticket> {
    return taken ? this.heldFromFloat(request, ticket, rpm, taken) : this.awaitFloat(request, ticket, rpm, tpm, month)
  }

  /** Waits for the next float rather than asking Redis alone; a few turns at most, then this request asks itself. */
  private async awaitFloat(request: AdmissionRequest, ticket: Ticket, rpm: number, tpm: number, month: string): Promise<Ticket> {
    const { subject, mode, capNano, holdNano } = request
    for (let turn = 0; turn < FLOAT_WAIT_TURNS; turn++) {
      // Nothing on its way: this request asks, at once (before any other waiter wakes, so one of them brings the next float).
      if (!(await this.floats.waitForPending(subject))) return this.admitDirect(request, ticket, rpm, tpm, month, true)
      const float = this.floats.take(subject, mode, capNano, month, holdNano, false)
      if (float) return this.heldFromFloat(request, ticket, rpm, float)
    }
    return this.admitDirect(request, ticket, rpm, tpm, month, true)
  }

  /** The request's money is taken from the float; its rate is charged to the lease (if it has a limit), or the float gets it back. */
  private heldFromFloat(request: AdmissionRequest, ticket: Ticket, rpm: number, float: Float): Ticket | Promise<Ticket> {
    if (rpm > 0) {
      let leased: Ticket | Promise<Ticket>
      try {
        leased = this.admitByLease(request, ticket, rpm)
      } catch (error) {
        this.floats.untake(request.subject, float, request.holdNano)
        throw error
      }
      if (leased instanceof Promise) {
        return leased.then(
          () => this.fromFloat(ticket, float),
          (error: unknown) => {
            this.floats.untake(request.subject, float, request.holdNano)
            throw error
          },
        )
      }
    }
    return this.fromFloat(ticket, float)
  }

  private fromFloat(ticket: Ticket, float: Float): Ticket {
    ticket.float = float
    return ticket
  }

  /** A stopping gateway gives back its floats' unused money. */
  returnFloats(): Promise<void> {
    return this.floats.returnAll()
  }

  /** A request with only its rate to check, admitted from its subject's lease (src/limits/rate-lease.ts). */
  private admitByLease(request: AdmissionRequest, ticket: Ticket, rpm: number): Ticket | Promise<Ticket> {
    let rate: RateVerdict | Promise<RateVerdict>
    try {
      rate = this.leases.take(request.subject, ticket.keys.rateList, rpm)
    } catch (error) {
      return this.redisFailed(error, request.mode, ticket)
    }
    if (rate instanceof Promise) {
      return rate.then(
        (leased) => this.leaseVerdict(ticket, rpm, leased),
        (error: unknown) => this.redisFailed(error, request.mode, ticket),
      )
    }
    return this.leaseVerdict(ticket, rpm, rate)
  }

  /** The lease's answer on the ticket: its rate headers, and the request admitted or refused (429). */
  private leaseVerdict(ticket: Ticket, rpm: number, rate: RateVerdict): Ticket {
    ticket.headers = rateHeaders(rpm, rate.rpmLeft, rate.rpmFullMs, 0, 0)
    if (rate.verdict === 'ok') return ticket
    countRefusal('rpm')
    throw rateLimited(`${rpm} requests`, rate.retryMs, ticket.headers)
  }

  /**
   * Pays for a finished request: debits the cost, releases the rest of the hold, corrects the token bucket, and (for a
   * tracked request) leaves the final record beside it until Postgres has it. Never throws. If Redis fails, it is
   * retried in the background (a hold that expires meanwhile is given back, and the late settlement still debits the
   * cost in full); a settled request is marked, so a retry never pays twice.
   */
  async settle(ticket: Ticket, costNano: number, tokensUsed: number, finalRecord: string | null, attempt = 0): Promise<void> {
    // No hold, no open record and no token bucket to correct: nothing to settle, and no round trip spent on it.
    if (ticket.mode === 'none' && ticket.tpm === 0 && !ticket.tracked) return
    const { keys } = ticket
    try {
      if (ticket.float) {
        // Held from a float (so without a token limit) and never tracked (tracking gives it a hold of its own): settled with the others of its subject given meanwhile, in one call
        // (settle-floats-6), gathered for at most 2 ms: the next requests are held from the float, so nothing waits
        // for it. Removing these settlements entirely saved 19.5 µs of a JSON request's 150 (bench:ab, prepaid): Redis's
        // wake-up runs inside each write to it, and a settle-9 took 27 µs of Redis's CPU beside the gateway. The usage
        // record still goes out behind it, on the same ordered connection.
        await this.redis.gathered('settle-floats-6', keys.floatSettleList, [Date.now()], [ticket.requestId, costNano, ticket.mode, ticket.float.id, ticket.heldNano.toString()], FLOAT_SETTLEMENTS_A_CALL)
      } else {
        // At once, not gathered (the 'later' lane): a settlement left waiting went out with the next admission, ahead
        // of it, and that admission waited for its script (50–75 µs in Redis): the added time to first byte of a wallet
        // request one at a time was 0.17 ms more (bench:ab --ttfb 2000 --method prepaid).
        const keyList = ticket.lineageKey === keys.noLineage ? keys.settleList : [keys.limits, keys.wallet, keys.holds, keys.holdExpiry, keys.unposted, keys.posted, keys.settled, keys.open, ticket.lineageKey]
        await this.redis.script('settle-9', keyList, [
          ticket.requestId, costNano, ticket.mode, ticket.tpm, ticket.chargeTokens, tokensUsed, Date.now(), ticket.tracked ? (finalRecord ?? '') : '',
        ])
      }
      this.retrying.delete(ticket.requestId)
    } catch (error) {
      const delay = SETTLE_RETRY_DELAYS_MS[attempt]
      const fields = { requestId: ticket.requestId, costNano, attempt: attempt + 1, error: (error as Error).message }
      if (delay === undefined) {
        // Redis keeps the wallet too high by this cost until it is rebuilt from Postgres (which has the usage row).
        this.retrying.delete(ticket.requestId)
        this.logger.error('settlement abandoned after retries', fields)
        return
      }
      this.logger.warn('settlement failed; retrying', { ...fields, retryInMs: delay })
      const timer = setTimeout(() => void this.settle(ticket, costNano, tokensUsed, finalRecord, attempt + 1), delay)
      this.retrying.set(ticket.requestId, { costNano, timer })
    }
  }

  /** A progressive hold asks for more, checkpointing the stream; returns the nano-USD granted (0: the wallet is empty, or Redis failed). */
  async extend(ticket: Ticket, wantNano: bigint, checkpoint: string): Promise<bigint> {
    this.startTracking(ticket)
    try {
      const [granted] = (await this.redis.script('extend-hold-4', [ticket.keys.wallet, ticket.keys.holds, ticket.keys.holdExpiry, ticket.keys.open], [
        ticket.requestId, wantNano.toString(), Date.now(), this.settings.holdTtlMs, checkpoint,
      ])) as [number, number]
      ticket.heldNano += BigInt(granted)
      return BigInt(granted)
    } catch (error) {
      this.logger.warn('hold extension failed; the stream ends at its current hold', { requestId: ticket.requestId, error: (error as Error).message })
      return 0n
    }
  }

  /** Records a tracked stream's usage so far and keeps its hold alive. Fire and forget: a missed one is caught up by the next. */
  checkpoint(ticket: Ticket, record: string): void {
    this.startTracking(ticket)
    this.redis.script('checkpoint-4', ticket.keys.checkpointList, [ticket.requestId, record, Date.now(), this.settings.holdTtlMs], 'later').catch(
      (error: Error) => this.logger.debug('checkpoint not recorded', { requestId: ticket.requestId, error: error.message }),
    )
  }

  /** Stops retrying settlements and says which could not be settled (stop() logs them). */
  abandonRetries(): { requestId: string; costNano: number }[] {
    const left = [...this.retrying].map(([requestId, { costNano, timer }]) => (clearTimeout(timer), { requestId, costNano }))
    this.retrying.clear()
    return left
  }

  /**
   * A stream's first checkpoint (or slice) starts tracking it: from then on its settlement leaves the final record in
   * Redis too. Streams that end within one checkpoint interval are never tracked, and cost no more Redis work than a
   * JSON request (measured: tracking every stream from admission cost ~90 µs of gateway CPU per stream).
   */
  private startTracking(ticket: Ticket): void {
    if (ticket.tracked) return
    ticket.tracked = true
    if (ticket.float) {
      this.floats.split(ticket.subject, ticket.float, ticket.requestId, ticket.heldNano, this.settings.holdTtlMs)
      ticket.float = undefined
    }
    this.index(ticket)
  }

  /** Puts a tracked request where the hold sweeper will look at it once its hold could have expired. */
  private index(ticket: Ticket): void {
    const key = this.openIndex[openIndexShard(ticket.requestId)]!
    this.redis.send('ZADD', [key, Date.now() + this.settings.holdTtlMs, openIndexMember(ticket.requestId, ticket.subject)], 'later').catch((error: Error) => {
      // The open record stays; only a crash of this gateway before the request ends would leave it unswept.
      this.logger.warn('tracked request not indexed', { requestId: ticket.requestId, error: error.message })
    })
  }

  /** The wallet as the hot path sees it (rebuilt from Postgres first if Redis does not have it). */
  async balance(accountId: string): Promise<{ availableNano: bigint; heldNano: bigint }> {
    const keys = subjectKeys(accountId)
    const month = monthId()
    let [loaded, avail, held, walletMonth] = (await this.redis.send('HMGET', [keys.wallet, 'loaded', 'avail', 'held', 'month'])) as (string | null)[]
    if (loaded !== '1' || walletMonth !== month) {
      await this.loadWallet(accountId, keys, month)
      ;[avail, held] = (await this.redis.send('HMGET', [keys.wallet, 'avail', 'held'])) as (string | null)[]
    }
    return { availableNano: BigInt(avail ?? '0'), heldNano: BigInt(held ?? '0') }
  }

  /** A committed ledger credit raises the wallet in Redis (if loaded and not already counted). */
  async credit(subject: string, amountNano: bigint, ledgerId: string): Promise<void> {
    await this.redis.script('credit-1', [subjectKeys(subject).wallet], [amountNano.toString(), ledgerId])
  }

  /**
   * Takes back up to `wantNano` of the wallet's available balance (never below zero), once per claim: a refund runs
   * this before writing its ledger row, and writes what it returns. The wallet is loaded first if Redis lacks it.
   */
  async reverse(subject: string, wantNano: bigint, claim: string): Promise<bigint> {
    const keys = subjectKeys(subject)
    for (let attempt = 0; attempt < 2; attempt++) {
      const taken = await this.redis.script('reverse-1', [keys.wallet], [wantNano.toString(), claim])
      if (String(taken) !== '-1') return BigInt(String(taken))
      await this.balance(subject)
    }
    throw new ServiceUnavailableError('The wallet could not be loaded to reverse a refund. Try again shortly.', 'wallet_unavailable')
  }

  /**
   * Rebuilds the wallet from Postgres: ledger balance and month spend, minus what Redis settled that Postgres does not
   * have yet. The unposted ids are read before Postgres, so one posted in between is seen there and dropped here.
   */
  private async loadWallet(accountId: string, keys: SubjectKeys, month: string): Promise<void> {
    const pendingIds = (await this.redis.send('HKEYS', [keys.unposted])) as string[]
    const snapshot = await walletSnapshot(this.sql, accountId, monthStart(), pendingIds)
    await this.redis.script('load-wallet-4', [keys.wallet, keys.unposted, keys.posted, keys.settled], [
      snapshot.balanceNano.toString(), snapshot.monthSpendNano.toString(), month, snapshot.watermark, ...snapshot.postedRequestIds,
    ])
  }

  private redisFailed(error: unknown, mode: MoneyMode, ticket: Ticket): Ticket {
    if (error instanceof GatewayError) throw error
    const message = (error as Error).message
    if (mode !== 'none') {
      countRefusal('redis_unavailable')
      this.logger.warn('admission refused: Redis unavailable for a money check', { requestId: ticket.requestId, error: message })
      throw new ServiceUnavailableError('Billing state is unavailable right now; no money was held. Try again shortly.')
    }
    if (this.settings.onRedisError === 'deny') {
      countRefusal('redis_unavailable')
      this.logger.warn('admission refused: Redis unavailable for rate limits', { requestId: ticket.requestId, error: message })
      throw new ServiceUnavailableError('Rate limiting is unavailable right now. Try again shortly.')
    }
    return ticket
  }
}

/** admit-8's float arguments (ARGV[13..18]). */
function floatArgs(plan: FloatPlan, ttlMs: number): (string | number)[] {
  return [plan.backId, plan.backNano.toString(), plan.newId, plan.wantNano.toString(), plan.minNano.toString(), ttlMs]
}
