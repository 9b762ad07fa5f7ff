// Wiring of the upto sweeper: every HOLD_SWEEP_INTERVAL_MS, one sweep (workers/x402-upto/processor.ts) over the x402 upto payments whose gateway's lease ran out.
import type { Logger } from '../../src/lib/logger'
import { createProducerConnection } from '../../src/lib/queues'
import type { RedisTarget } from '../../src/lib/redis'
import { registerScripts } from '../../src/limits/scripts'
import type { Facilitator } from '../../src/x402/facilitator'
import type { X402PaymentRecorder } from '../../src/x402/payment-record'
import { UptoPending } from '../../src/x402/upto-pending'
import { sweepUptoOnce, type UptoSweepDeps } from './processor'
import { startPeriodic } from '../lib/periodic'

export interface UptoSweeperOptions {
  redis: RedisTarget | string
  queuePrefix: string
  facilitator: Facilitator
  record: X402PaymentRecorder
  logger: Logger
  intervalMs: number
  /** How long a taken payment stays this sweeper's before another may take it again (settleLeaseFor). */
  settleLeaseMs: number
  now?: () => number
}

export interface UptoSweeper {
  /** One sweep now (tests; the timer runs them on its own). */
  sweep(): ReturnType<typeof sweepUptoOnce>
  close(): Promise<void>
}

export function startUptoSweeper(o: UptoSweeperOptions): UptoSweeper {
  const redis = createProducerConnection(o.redis)
  // Failures surface as failed sweeps (logged there); the next sweep tries again.
  redis.on('error', () => {})
  const run = registerScripts(redis)
  const pending = new UptoPending({ script: run, command: (name, args) => redis.call(name, ...args) }, o.queuePrefix, 0)
  const now = o.now ?? (() => Date.now())
  const deps: UptoSweepDeps = {
    dueNow: (at, limit) => pending.dueNow(at, limit),
    take: (requestId, at) => pending.take(requestId, 'recover', o.settleLeaseMs, at),
    retryAt: (requestId, at) => pending.retryAt(requestId, at),
    end: (requestId) => pending.end(requestId),
    settle: { facilitator: o.facilitator, record: o.record, logger: o.logger },
    now,
    logger: o.logger,
  }

  // The connection comes up on its own (no offline queue): a sweep started before it waits for it, briefly.
  const ready = () =>
    redis.status === 'ready'
      ? Promise.resolve()
      : new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 2_000)
          redis.once('ready', () => (clearTimeout(timer), resolve()))
        })
  const sweep = async () => {
    await ready()
    return sweepUptoOnce(deps)
  }
  const periodic = startPeriodic(sweep, {
    intervalMs: o.intervalMs,
    onError: (error) => o.logger.warn('upto sweep failed; the next one tries again', { error: error.message }),
  })

  return {
    sweep,
    async close() {
      await periodic.close()
      await redis.quit().catch(() => redis.disconnect())
    },
  }
}
