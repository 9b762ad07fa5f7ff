// Wiring of the hold sweeper: every HOLD_SWEEP_INTERVAL_MS, one sweep (workers/holds/processor.ts) over the open-request index.
import { insertUsageEvents, storedCosts } from '../../src/db/queries/usage'
import type { Sql } from '../../src/lib/db'
import type { Logger } from '../../src/lib/logger'
import { createProducerConnection } from '../../src/lib/queues'
import type { RedisTarget } from '../../src/lib/redis'
import { OpenRequests } from '../../src/limits/open-requests'
import { sweepOnce, type SweepDeps } from './processor'
import { startPeriodic } from '../lib/periodic'
import { isRecordError } from '../lib/record-error'

export interface HoldSweeperOptions {
  redis: RedisTarget | string
  sql: Sql
  logger: Logger
  queuePrefix: string
  intervalMs: number
}

export interface HoldSweeper {
  /** One sweep now (tests; the timer runs them on its own). */
  sweep(): ReturnType<typeof sweepOnce>
  close(): Promise<void>
}

export function startHoldSweeper(o: HoldSweeperOptions): HoldSweeper {
  const redis = createProducerConnection(o.redis)
  // Failures surface as failed sweeps (logged there); the next sweep tries again.
  redis.on('error', () => {})
  const open = new OpenRequests(redis, o.queuePrefix)
  const deps: SweepDeps = {
    shards: open.shards,
    due: (shard, now, limit) => open.due(shard, now, limit),
    inspect: (entry, now) => open.inspect(entry, now),
    async write(records) {
      await insertUsageEvents(o.sql, records)
      return storedCosts(o.sql, records.map((r) => r.requestId))
    },
    settleLost: (entry, cost, now) => open.settleLost(entry, cost, now),
    lookAgainAt: (entry, at) => open.lookAgainAt(entry, at),
    forget: (entry) => open.forget(entry),
    isRecordError,
    now: () => Date.now(),
    logger: o.logger,
  }

  const sweep = () => sweepOnce(deps)
  const periodic = startPeriodic(sweep, {
    intervalMs: o.intervalMs,
    onError: (error) => o.logger.warn('hold sweep failed; the next one tries again', { error: error.message }),
  })

  return {
    sweep,
    async close() {
      await periodic.close()
      await redis.quit().catch(() => redis.disconnect())
    },
  }
}
