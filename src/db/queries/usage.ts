// Usage event writes: a batch of usage records in one multi-row INSERT, with the ledger debits of prepaid ones, idempotent by request id.
import type { Queryable, Sql } from '../../lib/db'
import type { UsageRecord } from '../../metering/usage-record'

const COLUMNS = [
  'request_id', 'account_id', 'key_id', 'model', 'provider', 'upstream_model', 'stream', 'status', 'http_status',
  'input_tokens', 'output_tokens', 'cached_input_tokens', 'cache_write_tokens', 'reasoning_tokens', 'source',
  'counted_input_tokens', 'counted_output_tokens', 'cost_nano', 'catalog_version', 'ttfb_ms', 'total_ms', 'error_code',
  'started_at', 'money_mode', 'over_hold_nano', 'image_input_tokens', 'image_output_tokens', 'images', 'image_tier',
] as const
/** Written only by batches that hold a session-token request (migration 012): agents' batches insert as before it. */
const PLATFORM_COLUMNS = ['project_id', 'end_customer_id', 'session_id', 'platform_mode'] as const
const ALL_COLUMNS = [...COLUMNS, ...PLATFORM_COLUMNS]

type UsageRow = Record<(typeof ALL_COLUMNS)[number], string | number | boolean | null>

/** Postgres binds at most 65,535 parameters in one statement; USAGE_BATCH_SIZE may go above the rows that fit. */
const MAX_ROWS = Math.floor(65_535 / ALL_COLUMNS.length)

function toRow(r: UsageRecord): UsageRow {
  return {
    request_id: r.requestId,
    account_id: r.accountId,
    key_id: r.keyId,
    model: r.model,
    provider: r.provider,
    upstream_model: r.upstreamModel,
    stream: r.stream,
    status: r.status,
    http_status: r.httpStatus,
    input_tokens: r.inputTokens,
    output_tokens: r.outputTokens,
    cached_input_tokens: r.cachedInputTokens,
    cache_write_tokens: r.cacheWriteTokens,
    reasoning_tokens: r.reasoningTokens,
    source: r.source,
    counted_input_tokens: r.countedInputTokens,
    counted_output_tokens: r.countedOutputTokens,
    cost_nano: r.costNano,
    catalog_version: r.catalogVersion,
    ttfb_ms: r.ttfbMs,
    total_ms: r.totalMs,
    error_code: r.errorCode,
    started_at: r.startedAt,
    money_mode: r.moneyMode,
    // Records queued by a gateway of the previous version have none.
    over_hold_nano: r.overHoldNano ?? 0,
    image_input_tokens: r.imageInputTokens ?? 0,
    image_output_tokens: r.imageOutputTokens ?? 0,
    images: r.images ?? 0,
    image_tier: r.imageTier ?? null,
    project_id: r.platform?.projectId ?? null,
    end_customer_id: r.platform?.endCustomerId ?? null,
    session_id: r.platform?.sessionId ?? null,
    platform_mode: r.platform?.mode ?? null,
  }
}

/**
 * Inserts the records, skipping request ids already stored (a retried job, a replayed batch); returns how many rows
 * were new. Batches above MAX_ROWS go in several statements: harmless without a transaction, since a failure is
 * retried whole and the rows already in are skipped.
 */
export async function insertUsageEvents(sql: Sql, records: readonly UsageRecord[]): Promise<number> {
  const debits = records.filter((r) => r.moneyMode === 'prepaid' && r.costNano > 0)
  if (debits.length === 0) return insertRows(sql, records)
  // A prepaid request's usage row and its ledger debit commit together, or neither does.
  return sql.begin(async (tx) => {
    const inserted = await insertRows(tx, records)
    await insertLedgerDebits(tx, debits)
    return inserted
  })
}

/** One debit per request (reference = request id), so a replayed batch debits nothing twice. */
async function insertLedgerDebits(sql: Queryable, records: readonly UsageRecord[]): Promise<void> {
  for (let start = 0; start < records.length; start += MAX_ROWS) {
    const rows = records.slice(start, start + MAX_ROWS).map((r) => ({
      account_id: r.accountId,
      kind: 'usage',
      amount_nano: String(-r.costNano),
      reference: r.requestId,
      reason: r.model,
    }))
    await sql`INSERT INTO ledger ${sql(rows, 'account_id', 'kind', 'amount_nano', 'reference', 'reason')} ON CONFLICT (reference) DO NOTHING`
  }
}

async function insertRows(sql: Queryable, records: readonly UsageRecord[]): Promise<number> {
  let inserted = 0
  for (let start = 0; start < records.length; start += MAX_ROWS) {
    const slice = records.slice(start, start + MAX_ROWS)
    const columns = slice.some((r) => r.platform) ? ALL_COLUMNS : COLUMNS
    const result = await sql`INSERT INTO usage_events ${sql(slice.map(toRow), ...columns)} ON CONFLICT DO NOTHING`
    inserted += result.count
  }
  return inserted
}

/** The cost Postgres holds for each of these requests (a replayed record may differ from the row that got in first). */
export async function storedCosts(sql: Queryable, requestIds: readonly string[]): Promise<Map<string, number>> {
  if (requestIds.length === 0) return new Map()
  const rows = await sql<{ request_id: string; cost_nano: string }[]>`SELECT request_id, cost_nano FROM usage_events WHERE request_id = ANY(${requestIds as string[]})`
  return new Map(rows.map((row) => [row.request_id, Number(row.cost_nano)]))
}
