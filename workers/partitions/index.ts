// The partition keeper: once at start and then daily, usage_events' coming months are created and months past USAGE_RETENTION_MONTHS dropped.
import { defaultPartitionRows, dropPartition, ensureMonthPartitions, monthPartitions, unreportedRows } from '../../src/db/queries/partitions'
import type { Sql } from '../../src/lib/db'
import type { Logger } from '../../src/lib/logger'
import { startPeriodic } from '../lib/periodic'

/** Months created ahead: a keeper that stops running leaves a year before rows fall into the default partition. */
export const MONTHS_AHEAD = 12
const DAY_MS = 24 * 60 * 60 * 1000

export interface PartitionKeeperOptions {
  sql: Sql
  logger: Logger
  /** Whole months of usage kept besides the current one; 0 keeps everything. */
  retentionMonths: number
  intervalMs?: number
}

export interface KeeperRun {
  dropped: string[]
  /** Past retention but still holding postpaid usage Stripe has not been told about. */
  kept: string[]
}

/** One pass: ensure the coming months, then drop whole months older than the retention (never unreported usage). */
export async function keepPartitions(o: PartitionKeeperOptions, now = new Date()): Promise<KeeperRun> {
  await ensureMonthPartitions(o.sql, now, MONTHS_AHEAD + 1)
  const run: KeeperRun = { dropped: [], kept: [] }
  if (o.retentionMonths > 0) {
    const oldestKept = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - o.retentionMonths, 1))
    for (const partition of await monthPartitions(o.sql)) {
      if (partition.month >= oldestKept) continue
      const unreported = await unreportedRows(o.sql, partition.name)
      if (unreported > 0) {
        o.logger.warn('usage partition past retention kept: it holds usage not yet reported to Stripe', { partition: partition.name, unreported })
        run.kept.push(partition.name)
        continue
      }
      await dropPartition(o.sql, partition.name)
      o.logger.info('usage partition past retention dropped', { partition: partition.name, retentionMonths: o.retentionMonths })
      run.dropped.push(partition.name)
    }
  }
  const stray = await defaultPartitionRows(o.sql)
  if (stray > 0) o.logger.warn('usage rows outside every month partition (in usage_events_default)', { rows: stray })
  return run
}

export interface PartitionKeeper {
  close(): Promise<void>
}

export function startPartitionKeeper(o: PartitionKeeperOptions): PartitionKeeper {
  return startPeriodic(() => keepPartitions(o), {
    intervalMs: o.intervalMs ?? DAY_MS,
    runNow: true,
    unref: true,
    onError: (error) => o.logger.warn('usage partition upkeep failed; the next run tries again', { error: error.message }),
  })
}
