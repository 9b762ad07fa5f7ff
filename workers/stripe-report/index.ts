// Wiring of the stripe-report worker: a timer that runs the reporter every STRIPE_REPORT_INTERVAL_MS (sooner when a retry falls due), and its shutdown.
import type Stripe from 'stripe'
import type { Config } from '../../src/config'
import { msUntilNextDue } from '../../src/db/queries/stripe-report'
import type { Sql } from '../../src/lib/db'
import type { Logger } from '../../src/lib/logger'
import { StripeReporter, type ReporterOptions, type RunStats } from './processor'

export { StripeReporter, TokenBucket, backoffMs, classifyError, type ReporterOptions, type RunStats } from './processor'

export interface StripeReporterDeps {
  sql: Sql
  /** From createStripeClient(config.stripe); the caller skips the reporter when Stripe is not configured (null). */
  stripe: Stripe
  logger: Logger
  settings: Config['stripeReport']
}

/** Knobs that are not configuration (tests, bench): see ReporterOptions. */
export type StripeReporterOverrides = Omit<Partial<ReporterOptions>, 'sql' | 'stripe' | 'logger'>

export interface RunningStripeReporter {
  reporter: StripeReporter
  /** Runs now (after any run in progress) and resolves with its stats. */
  runNow(): Promise<RunStats>
  /** Stops the timer and waits for the run in progress: every batch it took ends sent, retried or refused. */
  close(): Promise<void>
}

/** A retry due sooner than the interval wakes the reporter early, but not more often than this. */
const MIN_WAKE_MS = 20

/**
 * Postgres is the coordination point, not a BullMQ queue: claims use SKIP LOCKED and sends use leases, so every
 * worker process may run a reporter and none of them double-bills.
 */
export function startStripeReporter(deps: StripeReporterDeps, overrides: StripeReporterOverrides = {}): RunningStripeReporter {
  const { sql, logger, settings } = deps
  const reporter = new StripeReporter({
    sql,
    stripe: deps.stripe,
    logger,
    mode: settings.meterMode,
    spendEventName: settings.spendEventName,
    maxCallsPerSecond: settings.maxCallsPerSecond,
    ...overrides,
  })
  let closed = false
  let timer: ReturnType<typeof setTimeout> | undefined
  let running: Promise<RunStats> | null = null
  let lastError = ''

  const run = (): Promise<RunStats> => {
    const previous = running ?? Promise.resolve(null)
    const current: Promise<RunStats> = previous.catch(() => null).then(() => reporter.runOnce())
    running = current
    current.then(
      () => {
        if (running === current) running = null
      },
      () => {
        if (running === current) running = null
      },
    )
    return current
  }

  const tick = async () => {
    timer = undefined
    let wait = settings.intervalMs
    try {
      const stats = await run()
      lastError = ''
      if (stats.claimedRows || stats.sent || stats.retried || stats.refused) logger.info('stripe report run', { ...stats })
      const due = await msUntilNextDue(sql)
      if (due !== null) wait = Math.max(MIN_WAKE_MS, Math.min(wait, due))
    } catch (error) {
      // Postgres down: the same error every run; log each distinct one.
      const message = (error as Error).message
      if (message !== lastError) logger.error('stripe report run failed; retrying next interval', { error: message })
      lastError = message
    }
    if (!closed) timer = setTimeout(tick, wait)
  }
  timer = setTimeout(tick, 0)

  return {
    reporter,
    runNow: run,
    async close() {
      closed = true
      if (timer) clearTimeout(timer)
      await running?.catch(() => {})
    },
  }
}
