// Starts this process's background workers (ROLE all or worker) and closes them together.
import type { Config } from '../src/config'
import type { Sql } from '../src/lib/db'
import type { Logger } from '../src/lib/logger'
import { startUsageWorker } from './usage'
import { startUsageInboxMover } from './usage/inbox-mover'
import { lowBalanceCrossings, walletLowBalanceCrossings } from '../src/db/queries/low-balance'
import { createEventEmitter } from '../src/modules/webhooks/emitter'
import { formatNanoAsUsd } from '../src/pricing/money'
import { startWebhookWorker } from './webhooks'
import { startStripeReporter } from './stripe-report'
import { startHoldSweeper } from './holds'
import { startPartitionKeeper } from './partitions'
import { startX402PaymentWorker } from './x402-payments'
import { createStripeClient } from '../src/lib/stripe'
import { createFacilitator } from '../src/x402/facilitator'
import { createX402PaymentQueue } from '../src/x402/payment-queue'
import { settleLeaseFor } from '../src/x402/upto-pending'
import { startUptoSweeper } from './x402-upto'

export interface WorkerDeps {
  config: Readonly<Config>
  sql: Sql
  logger: Logger
}

/** Knobs that are not configuration: tests use their own key prefix and shorter lock/stall timings. */
export interface WorkerOverrides {
  prefix?: string
  lockDurationMs?: number
  stalledIntervalMs?: number
}

export interface RunningWorkers {
  /** Stops fetching jobs, lets active ones finish (their batches are flushed), then closes the connections. */
  close(): Promise<void>
}

/** How long boot waits for Redis before going on; the workers keep reconnecting in the background either way. */
const READY_WAIT_MS = 2_000

export async function startWorkers(deps: WorkerDeps, overrides: WorkerOverrides = {}): Promise<RunningWorkers> {
  const { config, sql, logger } = deps
  // Prepaid wallets that a batch took below their threshold hear about it, once per crossing.
  const prefix = overrides.prefix ?? config.queuePrefix
  const events = createEventEmitter(sql, config.redis, logger, prefix)
  const usage = startUsageWorker({
    afterCommit: async (records) => {
      const prepaid = records.filter((r) => r.moneyMode === 'prepaid' && r.costNano > 0).map((r) => r.requestId)
      for (const crossing of await lowBalanceCrossings(sql, prepaid, config.webhooks.lowBalanceThresholdNano)) {
        events.emit({
          accountId: crossing.accountId,
          type: 'wallet.low_balance',
          id: `evt_low_${crossing.accountId}_${crossing.lastLedgerId}`,
          data: { balance_usd: formatNanoAsUsd(crossing.balanceNano), threshold_usd: formatNanoAsUsd(crossing.thresholdNano) },
        })
      }
      for (const crossing of await walletLowBalanceCrossings(sql, prepaid)) {
        events.emit({
          accountId: crossing.projectAccountId,
          project: { id: crossing.projectId, mode: crossing.mode },
          type: 'wallet.low_balance',
          id: `evt_low_${crossing.walletId}_${crossing.lastLedgerId}`,
          data: {
            wallet_id: crossing.walletId,
            end_customer_id: crossing.endCustomerId,
            mode: crossing.mode,
            balance_usd: formatNanoAsUsd(crossing.balanceNano),
            threshold_usd: formatNanoAsUsd(crossing.thresholdNano),
          },
        })
      }
    },
    redis: config.redis,
    sql,
    logger,
    batchSize: config.usage.batchSize,
    flushMs: config.usage.flushMs,
    // A lock this long is also how long a killed worker's jobs wait before another worker runs them again.
    lockDurationMs: config.workerLockMs,
    stalledIntervalMs: config.workerLockMs,
    ...overrides,
    prefix,
  })

  // The gateways push usage batches onto a Redis list (src/metering/usage-inbox.ts); each becomes one `usage` job.
  const inbox = startUsageInboxMover({ redis: config.redis, prefix, logger })

  // Its lock must outlast the 15 s delivery timeout; WORKER_LOCK_MS (30 s by default) does.
  const webhooks = startWebhookWorker({
    redis: config.redis,
    sql,
    logger,
    allowHttpLoopback: config.webhooks.allowHttpLoopback,
    lockDurationMs: config.workerLockMs,
    stalledIntervalMs: config.workerLockMs,
    prefix,
  })

  // Usage becomes meter events on the Stripe customers' invoices; without a Stripe key there is nothing to report to.
  const stripe = createStripeClient(config.stripe)
  const stripeReport = stripe ? startStripeReporter({ sql, stripe, logger, settings: config.stripeReport }) : null

  // Requests whose gateway died mid-answer are billed from their last checkpoint once their hold expires.
  const holds = startHoldSweeper({ redis: config.redis, sql, logger, queuePrefix: prefix, intervalMs: config.admission.sweepIntervalMs })
  const partitions = startPartitionKeeper({ sql, logger, retentionMonths: config.usage.retentionMonths })
  // x402 payment records of paid routes (src/x402/payment-queue.ts) into x402_payments.
  const payments = startX402PaymentWorker({ redis: config.redis, sql, logger, lockDurationMs: config.workerLockMs, stalledIntervalMs: config.workerLockMs, prefix })

  // x402 upto payments whose gateway died mid-stream are settled at their last checkpoint (needs the config file's facilitator).
  const file = config.gatewayFile
  const uptoRecords = file && file.accepts.length > 0 ? createX402PaymentQueue(config.redis, logger, { prefix }) : null
  const upto = file && uptoRecords
    ? startUptoSweeper({
        redis: config.redis,
        queuePrefix: prefix,
        facilitator: createFacilitator({ url: file.facilitator.url, headers: file.facilitator.headers, timeoutMs: config.x402.facilitatorTimeoutMs }),
        record: uptoRecords.record,
        logger,
        intervalMs: config.admission.sweepIntervalMs,
        settleLeaseMs: settleLeaseFor(config.x402.facilitatorTimeoutMs),
      })
    : null

  let timer: ReturnType<typeof setTimeout> | undefined
  const ready = await Promise.race([
    usage.worker.waitUntilReady().then(
      () => true,
      (error: Error) => (logger.error('usage worker could not start', { error: error.message }), false),
    ),
    new Promise<false>((resolve) => (timer = setTimeout(resolve, READY_WAIT_MS, false))),
  ])
  clearTimeout(timer)
  if (ready) logger.info('workers started', { queues: ['usage', 'webhooks', 'x402-payments'], batchSize: config.usage.batchSize, flushMs: config.usage.flushMs })
  else logger.warn('workers started without Redis yet; they will connect when it is reachable')

  return {
    async close() {
      await upto?.close()
      await inbox.close()
      await uptoRecords?.drain(5_000)
      await Promise.all([usage.close(), webhooks.close(), payments.close(), stripeReport?.close(), holds.close(), partitions.close(), uptoRecords?.close()])
      await events.close()
    },
  }
}
