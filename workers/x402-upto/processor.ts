// One sweep of the upto sweeper: x402 upto payments whose gateway died (lease run out) are taken once and settled at their last checkpoint, before the permit's deadline.
import type { Logger } from '../../src/lib/logger'
import type { Taken } from '../../src/x402/upto-pending'
import { DEADLINE_MARGIN_MS, retryDelayMs } from '../../src/x402/upto-pending'
import { recordFailure, settleUpto, uptoAmount, type UptoSettleDeps } from '../../src/x402/upto-settle'

export interface UptoSweepDeps {
  dueNow(now: number, limit: number): Promise<string[]>
  /** The one transition to "settling" (upto-take-2): a payment another taker holds, or already ended, is not taken. */
  take(requestId: string, now: number): Promise<Taken>
  retryAt(requestId: string, at: number): Promise<void>
  end(requestId: string): Promise<void>
  settle: UptoSettleDeps
  now(): number
  logger: Logger
}

export interface UptoSweepResult {
  /** Settled at their last checkpoint (or nothing owed at a cost of zero), and recorded. */
  settled: number
  /** Never checkpointed: the gateway died before its stream's first checkpoint (or before serving); nothing is known to settle. */
  unmetered: number
  /** The facilitator could not be reached: given back, taken again later. */
  retried: number
  /** Refused, or the facilitator stayed unreachable until the permit's deadline: recorded settle_failed. */
  failed: number
  /** Taken by someone else meanwhile, or already ended. */
  skipped: number
}

/** Payments looked at per sweep; the rest wait for the next one. */
const BATCH = 200

export async function sweepUptoOnce(deps: UptoSweepDeps): Promise<UptoSweepResult> {
  const result: UptoSweepResult = { settled: 0, unmetered: 0, retried: 0, failed: 0, skipped: 0 }
  for (const requestId of await deps.dueNow(deps.now(), BATCH)) {
    const now = deps.now()
    const taken = await deps.take(requestId, now)
    if (taken.kind !== 'taken') {
      result.skipped++
      continue
    }
    const { material: m, costNano, attempts } = taken
    const deadlineMs = m.deadline * 1000
    if (costNano === null) {
      result.unmetered++
      await deps.end(requestId)
      deps.logger.warn('gateway lost an upto payment before its first checkpoint; nothing to settle', { requestId, payer: m.payer })
      continue
    }
    if (now >= deadlineMs) {
      result.failed++
      recordFailure(deps.settle, m, uptoAmount(m, costNano), 'after its gateway died', `the permit's deadline ${m.deadline} passed before it could be settled`)
      await deps.end(requestId)
      continue
    }
    const outcome = await settleUpto(deps.settle, m, costNano, 'after its gateway died')
    if (outcome.kind === 'unreachable') {
      const next = deps.now() + retryDelayMs(attempts)
      // The last try leaves the facilitator time before the deadline; after it, the failure is recorded.
      if (next < deadlineMs - DEADLINE_MARGIN_MS / 3) {
        result.retried++
        await deps.retryAt(requestId, next)
        deps.logger.warn('x402 upto settlement did not reach the facilitator; retrying later', { requestId, attempts, retryAt: new Date(next).toISOString(), message: outcome.message })
        continue
      }
      result.failed++
      recordFailure(deps.settle, m, outcome.amount, 'after its gateway died', outcome.message)
      await deps.end(requestId)
      continue
    }
    if (outcome.kind === 'settled') result.settled++
    else result.failed++
    await deps.end(requestId)
    if (outcome.kind === 'settled') deps.logger.info('gateway lost an upto payment; settled its last checkpoint', { requestId, payer: m.payer, costNano: costNano.toString(), amount: outcome.amount.toString() })
  }
  return result
}
