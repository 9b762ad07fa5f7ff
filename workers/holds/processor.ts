// One sweep of the hold sweeper: tracked requests whose hold expired are written to Postgres from their open record, and their hold pays that cost.
import type { Logger } from '../../src/lib/logger'
import type { IndexEntry, Inspection } from '../../src/limits/open-requests'
import type { UsageRecord } from '../../src/metering/usage-record'

export interface SweepDeps {
  shards: number
  due(shard: number, now: number, limit: number): Promise<IndexEntry[]>
  inspect(entry: IndexEntry, now: number): Promise<Inspection>
  /** Writes the records (once per request id, with their ledger debits) and says what cost Postgres holds for each. */
  write(records: UsageRecord[]): Promise<Map<string, number>>
  settleLost(entry: IndexEntry, costNano: number, now: number): Promise<string>
  lookAgainAt(entry: IndexEntry, at: number): Promise<void>
  forget(entry: IndexEntry): Promise<void>
  /** True for a write error caused by a record's content (workers/lib/record-error.ts), not by Postgres being away. */
  isRecordError(error: unknown): boolean
  now(): number
  logger: Logger
}

export interface SweepResult {
  /** Written from a checkpoint: their gateway died mid-request. */
  lost: number
  /** Written from a settled record their gateway never sent. */
  unwritten: number
  /** Still kept alive by their gateway. */
  live: number
  /** Already in Postgres. */
  gone: number
}

interface ToWrite {
  entry: IndexEntry
  record: UsageRecord
}

/**
 * How long a record Postgres refuses is set aside before a sweep tries it again. Its open record stays in Redis (nothing
 * is lost: an operator can read and mend it), and it no longer stops its shard: the records swept after it were never
 * written while one failed batch was retried on every sweep.
 */
export const SET_ASIDE_MS = 3_600_000

/** Entries looked at per shard per sweep; the rest wait for the next one. */
const BATCH = 500

/**
 * Order matters for "never twice": Postgres first (ON CONFLICT DO NOTHING keeps whichever row came first), then Redis
 * pays the cost of the row that is there. A sweep that dies between the two is redone by the next one: the insert is
 * a no-op, and the hold pays once (settle-lost marks it settled).
 */
export async function sweepOnce(deps: SweepDeps): Promise<SweepResult> {
  const result: SweepResult = { lost: 0, unwritten: 0, live: 0, gone: 0 }
  const now = deps.now()
  for (let shard = 0; shard < deps.shards; shard++) {
    const entries = await deps.due(shard, now, BATCH)
    const toWrite: ToWrite[] = []
    for (const entry of entries) {
      const found = await deps.inspect(entry, now)
      if (found.state === 'gone') {
        result.gone++
        await deps.forget(entry)
      } else if (found.state === 'live') {
        result.live++
        await deps.lookAgainAt(entry, found.expiresAt)
      } else {
        result[found.state]++
        toWrite.push({ entry, record: found.record })
      }
    }
    if (toWrite.length === 0) continue
    const { written, costs } = await writeOrSetAside(deps, toWrite, now)
    for (const { entry, record } of written) {
      const cost = record.moneyMode === 'none' ? 0 : (costs.get(entry.requestId) ?? record.costNano)
      await deps.settleLost(entry, cost, now)
      await deps.forget(entry)
      deps.logger.info('gateway lost a request; billed its last checkpoint', {
        requestId: entry.requestId,
        subject: entry.subject,
        status: record.status,
        outputTokens: record.outputTokens,
        costNano: cost,
      })
    }
  }
  return result
}

/**
 * Writes the batch; when Postgres refuses it for a record's content, the halves are written apart, down to the one
 * record at fault, which is set aside (SET_ASIDE_MS). Any other error (Postgres away) fails the sweep, as before: the
 * next one tries the whole batch again.
 */
async function writeOrSetAside(deps: SweepDeps, toWrite: ToWrite[], now: number): Promise<{ written: ToWrite[]; costs: Map<string, number> }> {
  try {
    return { written: toWrite, costs: await deps.write(toWrite.map((w) => w.record)) }
  } catch (error) {
    if (!deps.isRecordError(error)) throw error
    if (toWrite.length === 1) {
      const { entry } = toWrite[0]!
      await deps.lookAgainAt(entry, now + SET_ASIDE_MS)
      deps.logger.error('hold sweeper: Postgres refused a lost request\'s record; set aside, its open record kept in Redis', {
        requestId: entry.requestId,
        subject: entry.subject,
        error: (error as Error).message,
        retryInMs: SET_ASIDE_MS,
      })
      return { written: [], costs: new Map() }
    }
    const half = Math.ceil(toWrite.length / 2)
    const first = await writeOrSetAside(deps, toWrite.slice(0, half), now)
    const second = await writeOrSetAside(deps, toWrite.slice(half), now)
    return { written: [...first.written, ...second.written], costs: new Map([...first.costs, ...second.costs]) }
  }
}
