// Stripe report state: claiming unreported usage into batches (one transaction), the send lifecycle of a batch, and reconciliation sums.
import { createHash } from 'node:crypto'
import type { Queryable, Sql } from '../../lib/db'

export type MeterMode = 'spend' | 'tokens'
export type BatchStatus = 'pending' | 'sent' | 'refused'

const HOUR_MS = 3_600_000
const DAY_MS = 86_400_000
/** Stripe refuses meter events older than 35 days. */
export const STRIPE_PAST_LIMIT_MS = 35 * DAY_MS
/** Stripe's meter event identifiers are at most 100 characters, event names too. */
const MAX_EVENT_NAME = 100
const NANO_PER_MICRO = 1000n
/** Keeps every INSERT under Postgres's 65,535 bound parameters (16 columns a batch). */
const INSERT_CHUNK = 1000

export interface ClaimOptions {
  mode: MeterMode
  /** The spend meter's event name (spend mode). */
  spendEventName: string
  /** At most this many usage rows per claim transaction. */
  limit: number
  /** The reporter's clock, ms. */
  now: number
  /**
   * How long before Stripe's 35-day limit usage is given up to a manual adjustment: a batch claimed now is sent within
   * this margin (retries included), or Stripe refuses it and it is flagged then.
   */
  pastMarginMs: number
}

export interface ClaimResult {
  rows: number
  batches: number
  /** Batches flagged at once because their usage is older than Stripe accepts. */
  refused: number
}

export interface DueBatch {
  id: string
  customer: string
  event_name: string
  value: string
  event_timestamp: string
  identifier: string
  attempts: number
}

interface UnreportedRow {
  request_id: string
  account_id: string
  customer: string
  model: string
  cost_nano: string
  input_tokens: number
  output_tokens: number
  started_at: Date
}

interface Claim {
  id: string
  customer: string
  accountId: string
  model: string
  windowStart: number
  late: boolean
  requestIds: string[]
  costNano: bigint
  inputTokens: bigint
  outputTokens: bigint
}

interface BatchRow {
  id: string
  claim_id: string
  customer: string
  account_id: string
  event_name: string
  value: string
  cost_nano: string
  carry_in_nano: string
  carry_out_nano: string
  window_start: Date
  window_end: Date
  event_timestamp: string
  identifier: string
  status: BatchStatus
  last_error: string | null
  sent_at: Date | null
}

/** `openai/gpt-4o-mini` → `openai_gpt_4o_mini`: Stripe event names are plain identifiers. */
export function modelSlug(model: string): string {
  return model.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_+|_+$/g, '') || 'unknown'
}

export function tokenEventNames(model: string): { input: string; output: string } {
  const slug = modelSlug(model)
  return { input: `llm_input_tokens_${slug}`.slice(0, MAX_EVENT_NAME), output: `llm_output_tokens_${slug}`.slice(0, MAX_EVENT_NAME) }
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex')

/**
 * The claim id is a hash of what the claim contains, so the same rows always give the same id; the request ids are
 * sorted because row order from Postgres is not stable.
 */
function claimId(claim: Omit<Claim, 'id'>): string {
  const ids = [...claim.requestIds].sort().join(',')
  return `mw_${sha256(`${claim.customer}|${claim.model}|${claim.windowStart}|${claim.late ? 'late' : 'ok'}|${ids}`)}`
}

const LATE_ERROR = 'usage older than Stripe accepts (35 days): needs a manual adjustment'

/**
 * In ONE transaction: takes up to `limit` unreported rows of accounts with a Stripe customer (postpaid and capped
 * usage; prepaid usage is paid from the wallet), groups them per (customer, meter group, hour of started_at), writes
 * one batch per meter event owed, and marks the rows with their claim id. A crash before COMMIT leaves nothing; after
 * it, the batches are pending and the next run sends them.
 */
export async function claimUnreported(sql: Sql, o: ClaimOptions): Promise<ClaimResult> {
  return sql.begin(async (tx) => {
    const rows = await tx<UnreportedRow[]>`
      SELECT u.request_id, u.account_id, a.stripe_customer_id AS customer, u.model, u.cost_nano,
             u.input_tokens, u.output_tokens, u.started_at
      FROM usage_events u JOIN accounts a ON a.id = u.account_id
      WHERE u.report_batch_id IS NULL AND u.money_mode <> 'prepaid' AND a.stripe_customer_id IS NOT NULL
      ORDER BY u.started_at
      LIMIT ${o.limit}
      FOR UPDATE OF u SKIP LOCKED`
    if (rows.length === 0) return { rows: 0, batches: 0, refused: 0 }

    const cutoff = o.now - STRIPE_PAST_LIMIT_MS + o.pastMarginMs
    const claims = new Map<string, Omit<Claim, 'id'>>()
    for (const row of rows) {
      const startedMs = row.started_at.getTime()
      const windowStart = Math.floor(startedMs / HOUR_MS) * HOUR_MS
      const late = startedMs < cutoff
      const model = o.mode === 'spend' ? '' : row.model
      const key = `${row.customer}\u0000${model}\u0000${windowStart}\u0000${late}`
      let claim = claims.get(key)
      if (!claim) {
        claim = { customer: row.customer, accountId: row.account_id, model, windowStart, late, requestIds: [], costNano: 0n, inputTokens: 0n, outputTokens: 0n }
        claims.set(key, claim)
      }
      claim.requestIds.push(row.request_id)
      claim.costNano += BigInt(row.cost_nano)
      claim.inputTokens += BigInt(row.input_tokens)
      claim.outputTokens += BigInt(row.output_tokens)
    }
    // Window order per customer, so the carried remainder flows forward in time.
    const ordered: Claim[] = [...claims.values()]
      .sort((a, b) => (a.customer < b.customer ? -1 : a.customer > b.customer ? 1 : a.windowStart - b.windowStart))
      .map((c) => ({ ...c, id: claimId(c) }))

    const carry = o.mode === 'spend' ? await lockCarry(tx, [...new Set(ordered.map((c) => c.customer))], o.spendEventName) : new Map<string, bigint>()
    const batches: BatchRow[] = []
    for (const c of ordered) {
      // Never a timestamp Stripe refuses: the window start, clamped into [cutoff, now] (usage stamped in the future by a skewed clock).
      const eventTimestamp = String(Math.floor(Math.min(Math.max(c.windowStart, cutoff), o.now) / 1000))
      const base = {
        claim_id: c.id,
        customer: c.customer,
        account_id: c.accountId,
        window_start: new Date(c.windowStart),
        window_end: new Date(c.windowStart + HOUR_MS),
        event_timestamp: eventTimestamp,
      }
      const make = (id: string, eventName: string, value: bigint, extra: { cost: bigint; carryIn: bigint; carryOut: bigint }): BatchRow => ({
        ...base,
        id,
        identifier: id,
        event_name: eventName,
        value: String(value),
        cost_nano: String(extra.cost),
        carry_in_nano: String(extra.carryIn),
        carry_out_nano: String(extra.carryOut),
        // Zero is owed nothing: recorded as sent without a call. Late usage is flagged, never sent.
        status: c.late ? 'refused' : value === 0n ? 'sent' : 'pending',
        last_error: c.late ? LATE_ERROR : null,
        sent_at: !c.late && value === 0n ? new Date(o.now) : null,
      })
      if (o.mode === 'spend') {
        const carryIn = carry.get(c.customer) ?? 0n
        const total = carryIn + c.costNano
        const value = total / NANO_PER_MICRO
        const carryOut = total % NANO_PER_MICRO
        carry.set(c.customer, carryOut)
        batches.push(make(c.id, o.spendEventName, value, { cost: c.costNano, carryIn, carryOut }))
      } else {
        const names = tokenEventNames(c.model)
        batches.push(make(`${c.id}_in`, names.input, c.inputTokens, { cost: c.costNano, carryIn: 0n, carryOut: 0n }))
        batches.push(make(`${c.id}_out`, names.output, c.outputTokens, { cost: 0n, carryIn: 0n, carryOut: 0n }))
      }
    }

    for (let start = 0; start < batches.length; start += INSERT_CHUNK) {
      const chunk = batches.slice(start, start + INSERT_CHUNK)
      await tx`INSERT INTO stripe_report_batches ${tx(
        chunk,
        'id', 'claim_id', 'customer', 'account_id', 'event_name', 'value', 'cost_nano', 'carry_in_nano', 'carry_out_nano',
        'window_start', 'window_end', 'event_timestamp', 'identifier', 'status', 'last_error', 'sent_at',
      )}`
    }
    const ids: string[] = []
    const claimIds: string[] = []
    for (const c of ordered) for (const id of c.requestIds) (ids.push(id), claimIds.push(c.id))
    await tx`
      UPDATE usage_events u SET report_batch_id = v.claim
      FROM unnest(${ids}::text[], ${claimIds}::text[]) AS v(id, claim)
      WHERE u.request_id = v.id`
    if (o.mode === 'spend' && carry.size > 0) {
      const customers = [...carry.keys()]
      await tx`
        UPDATE stripe_report_carry c SET remainder_nano = v.remainder
        FROM unnest(${customers}::text[], ${customers.map((k) => String(carry.get(k)))}::bigint[]) AS v(customer, remainder)
        WHERE c.customer = v.customer AND c.event_name = ${o.spendEventName}`
    }
    return { rows: rows.length, batches: batches.length, refused: batches.filter((b) => b.status === 'refused').length }
  })
}

/**
 * Locks each customer's carried remainder for this transaction, in customer order so two reporters never deadlock;
 * a second reporter claiming other rows of the same customer waits here and then chains on the committed remainder.
 */
async function lockCarry(tx: Queryable, customers: string[], eventName: string): Promise<Map<string, bigint>> {
  const sorted = [...customers].sort()
  await tx`
    INSERT INTO stripe_report_carry (customer, event_name, remainder_nano)
    SELECT c, ${eventName}, 0 FROM unnest(${sorted}::text[]) AS c
    ON CONFLICT DO NOTHING`
  const rows = await tx<{ customer: string; remainder_nano: string }[]>`
    SELECT customer, remainder_nano FROM stripe_report_carry
    WHERE event_name = ${eventName} AND customer = ANY(${sorted}::text[])
    ORDER BY customer
    FOR UPDATE`
  return new Map(rows.map((r) => [r.customer, BigInt(r.remainder_nano)]))
}

/**
 * Pending batches whose time has come, leased for `leaseMs`: another reporter skips them until the lease ends, and
 * after a crash they come back by themselves (a re-send carries the same identifier, so it is harmless).
 */
export async function takeDueBatches(sql: Sql, limit: number, leaseMs: number): Promise<DueBatch[]> {
  return sql<DueBatch[]>`
    UPDATE stripe_report_batches SET next_attempt_at = now() + make_interval(secs => ${leaseMs / 1000})
    WHERE id IN (
      SELECT id FROM stripe_report_batches
      WHERE status = 'pending' AND next_attempt_at <= now()
      ORDER BY next_attempt_at
      LIMIT ${limit}
      FOR UPDATE SKIP LOCKED)
    RETURNING id, customer, event_name, value, event_timestamp, identifier, attempts`
}

export async function markSent(sql: Sql, id: string): Promise<void> {
  await sql`UPDATE stripe_report_batches SET status = 'sent', sent_at = now(), attempts = attempts + 1, last_error = NULL WHERE id = ${id} AND status = 'pending'`
}

export async function markRetry(sql: Sql, id: string, error: string, delayMs: number): Promise<void> {
  await sql`
    UPDATE stripe_report_batches
    SET attempts = attempts + 1, last_error = ${error}, next_attempt_at = now() + make_interval(secs => ${delayMs / 1000})
    WHERE id = ${id} AND status = 'pending'`
}

export async function markRefused(sql: Sql, id: string, error: string): Promise<void> {
  await sql`UPDATE stripe_report_batches SET status = 'refused', attempts = attempts + 1, last_error = ${error} WHERE id = ${id} AND status = 'pending'`
}

/** ms until the earliest pending batch is due (0: now), or null when none is pending. */
export async function msUntilNextDue(sql: Sql): Promise<number | null> {
  const [row] = await sql<{ ms: number | null }[]>`
    SELECT greatest(0, extract(epoch FROM min(next_attempt_at) - now()) * 1000)::float8 AS ms
    FROM stripe_report_batches WHERE status = 'pending'`
  return row?.ms ?? null
}

/** Work left: reportable rows not claimed yet, and batches not sent yet. Zero of both: drained. */
export async function outstanding(sql: Sql): Promise<{ unclaimedRows: number; pendingBatches: number }> {
  const [row] = await sql<{ unclaimed: number; pending: number }[]>`
    SELECT
      (SELECT count(*)::int FROM usage_events u JOIN accounts a ON a.id = u.account_id
       WHERE u.report_batch_id IS NULL AND u.money_mode <> 'prepaid' AND a.stripe_customer_id IS NOT NULL) AS unclaimed,
      (SELECT count(*)::int FROM stripe_report_batches WHERE status = 'pending') AS pending`
  return { unclaimedRows: row?.unclaimed ?? 0, pendingBatches: row?.pending ?? 0 }
}

// ——— Reconciliation ———

export interface UsageSide {
  account_id: string
  customer: string
  cost_nano: string
  reported_nano: string
  pending_nano: string
  refused_nano: string
  unclaimed_nano: string
}

export interface StripeSide {
  account_id: string
  event_name: string
  sent: string
  pending: string
  refused: string
}

/**
 * Per account with a Stripe customer, the cost of its reportable usage in [start, end), split by where its claim is:
 * sent to Stripe, pending, refused (manual adjustment), or not claimed yet. A claim in tokens mode has two batches:
 * it counts as refused if either was, pending if either is.
 */
export async function usageSide(sql: Sql, start: Date, end: Date): Promise<UsageSide[]> {
  return sql<UsageSide[]>`
    WITH r AS (
      SELECT u.account_id, a.stripe_customer_id AS customer, u.cost_nano, u.report_batch_id
      FROM usage_events u JOIN accounts a ON a.id = u.account_id
      WHERE a.stripe_customer_id IS NOT NULL AND u.money_mode <> 'prepaid' AND u.started_at >= ${start} AND u.started_at < ${end}
    ), c AS (
      SELECT claim_id,
             CASE WHEN bool_or(status = 'refused') THEN 'refused' WHEN bool_or(status = 'pending') THEN 'pending' ELSE 'sent' END AS status
      FROM stripe_report_batches
      WHERE window_start >= ${new Date(start.getTime() - HOUR_MS)} AND window_start < ${end}
      GROUP BY claim_id
    )
    SELECT r.account_id, min(r.customer) AS customer,
           sum(r.cost_nano)::text AS cost_nano,
           coalesce(sum(r.cost_nano) FILTER (WHERE c.status = 'sent'), 0)::text AS reported_nano,
           coalesce(sum(r.cost_nano) FILTER (WHERE c.status = 'pending'), 0)::text AS pending_nano,
           coalesce(sum(r.cost_nano) FILTER (WHERE c.status = 'refused'), 0)::text AS refused_nano,
           coalesce(sum(r.cost_nano) FILTER (WHERE r.report_batch_id IS NULL), 0)::text AS unclaimed_nano
    FROM r LEFT JOIN c ON c.claim_id = r.report_batch_id
    GROUP BY r.account_id
    ORDER BY r.account_id`
}

/** Σ value of the batches per account and meter in [start, end), by status: what Stripe was told, will be, or never will be. */
export async function stripeSide(sql: Sql, start: Date, end: Date): Promise<StripeSide[]> {
  return sql<StripeSide[]>`
    SELECT account_id, event_name,
           coalesce(sum(value) FILTER (WHERE status = 'sent'), 0)::text AS sent,
           coalesce(sum(value) FILTER (WHERE status = 'pending'), 0)::text AS pending,
           coalesce(sum(value) FILTER (WHERE status = 'refused'), 0)::text AS refused
    FROM stripe_report_batches
    WHERE window_start >= ${start} AND window_start < ${end}
    GROUP BY account_id, event_name
    ORDER BY account_id, event_name`
}

export interface RefusedBatch {
  id: string
  account_id: string
  customer: string
  event_name: string
  value: string
  cost_nano: string
  window_start: Date
  window_end: Date
  attempts: number
  last_error: string | null
  created_at: Date
}

/** Refused batches (oldest first): usage Stripe will not take, to be billed by a manual adjustment. */
export async function refusedBatches(sql: Sql, limit: number, start?: Date, end?: Date): Promise<RefusedBatch[]> {
  const inPeriod = start && end ? sql`AND window_start >= ${start} AND window_start < ${end}` : sql``
  return sql<RefusedBatch[]>`
    SELECT id, account_id, customer, event_name, value::text AS value, cost_nano::text AS cost_nano, window_start, window_end,
           attempts, last_error, created_at
    FROM stripe_report_batches
    WHERE status = 'refused' ${inPeriod}
    ORDER BY created_at, id
    LIMIT ${limit}`
}
