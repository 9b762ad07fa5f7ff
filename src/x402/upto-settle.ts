// Settling a taken upto payment (src/x402/upto-pending.ts) through the facilitator, and its payment record: one function for the finishing gateway and the crash sweeper.
import type { Logger } from '../lib/logger'
import type { Facilitator } from './facilitator'
import { withMarkup } from './markup'
import type { X402PaymentRecord, X402PaymentRecorder } from './payment-record'
import { uptoSettlement } from './upto'
import type { UptoMaterial } from './upto-pending'

export interface UptoSettleDeps {
  facilitator: Facilitator
  record: X402PaymentRecorder
  logger: Logger
}

/**
 * `settled` (and recorded: a transaction, or nothing owed at a cost of zero), `refused` (the facilitator said no;
 * recorded settle_failed), or `unreachable` (it could not be asked, or its answer was lost: nothing recorded, the
 * caller decides whether to retry or record the failure with `recordFailure`).
 */
export type UptoSettleOutcome = { kind: 'settled'; amount: bigint } | { kind: 'refused'; amount: bigint } | { kind: 'unreachable'; amount: bigint; message: string }

function recordOf(m: UptoMaterial, amount: bigint, transaction: string | null, status: X402PaymentRecord['status']): X402PaymentRecord {
  const r = m.requirements
  return { requestId: m.requestId, route: m.route, payer: m.payer, network: r.network, asset: r.asset, payTo: r.payTo, scheme: 'upto', amount: amount.toString(), transaction, status, startedAt: new Date(m.startedAt) }
}

/** What a metered cost settles: the cost plus the route's markup, rounded up to atomic units once, never above the signed maximum. */
export function uptoAmount(m: UptoMaterial, costNano: bigint): bigint {
  return uptoSettlement(withMarkup(costNano, m.markupBps ?? 0), BigInt(m.maxAtomic))
}

/** Settles the cost (with the markup, rounded up to atomic units, never above the signed maximum; nothing at zero). Never throws. */
export async function settleUpto(deps: UptoSettleDeps, m: UptoMaterial, costNano: bigint, why: string): Promise<UptoSettleOutcome> {
  const amount = uptoAmount(m, costNano)
  if (amount === 0n) {
    deps.record(recordOf(m, 0n, null, 'settled'))
    return { kind: 'settled', amount }
  }
  const settled = await deps.facilitator.settle(m.payload, { ...m.requirements, amount: amount.toString() }).catch((error: Error) => ({ kind: 'unknown' as const, message: error.message }))
  if (settled.kind === 'settled') {
    deps.record(recordOf(m, amount, settled.response.transaction || null, 'settled'))
    return { kind: 'settled', amount }
  }
  if (settled.kind === 'refused') {
    deps.logger.error(`x402 upto settlement refused ${why}`, { requestId: m.requestId, payer: m.payer, amount: amount.toString(), reason: settled.reason, message: settled.message })
    deps.record(recordOf(m, amount, null, 'settle_failed'))
    return { kind: 'refused', amount }
  }
  return { kind: 'unreachable', amount, message: settled.message }
}

/** The settlement is given up (the facilitator stayed unreachable): logged and recorded as settle_failed. */
export function recordFailure(deps: UptoSettleDeps, m: UptoMaterial, amount: bigint, why: string, message: string): void {
  deps.logger.error(`x402 upto settlement failed ${why}`, { requestId: m.requestId, payer: m.payer, amount: amount.toString(), message })
  deps.record(recordOf(m, amount, null, 'settle_failed'))
}
