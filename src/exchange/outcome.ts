// How a request ended, as finish() needs it: the usage status, what the client got, and whether anything was billable.
import type { GatewayError } from '../errors'
import type { UsageStatus } from '../metering/usage-record'
import type { UpstreamDeadline } from './deadline'

export interface Outcome {
  status: Exclude<UsageStatus, 'gateway_lost'>
  /** What the client got (200 for a stream that started, however it ended; 499 when it left first). */
  httpStatus: number
  errorCode: string | null
  /** The provider marked a proper end of its answer: the usage it reported is whole. */
  complete: boolean
  /** False when the request never left the gateway (refused connection, no capacity): nothing is billed. */
  reachedUpstream: boolean
}

export const answered = (httpStatus = 200): Outcome => ({ status: 'ok', httpStatus, errorCode: null, complete: true, reachedUpstream: true })

/** The gateway ended the answer itself (a budget ran dry): billed for exactly what was delivered. */
export const cut = (): Outcome => ({ status: 'ok', httpStatus: 200, errorCode: null, complete: false, reachedUpstream: true })

export const clientGone = (httpStatus = 499): Outcome => ({ status: 'client_aborted', httpStatus, errorCode: null, complete: false, reachedUpstream: true })

/** A GatewayError that says the request never left this gateway (see UpstreamNotSentError). */
export function neverSent(error: unknown): boolean {
  return (error as { sent?: unknown } | null)?.sent === false
}

/** A failure: a timeout if the deadline fired, an upstream error otherwise; httpStatus is what the client is told. */
export function failed(error: GatewayError, deadline: UpstreamDeadline, httpStatus = error.status): Outcome {
  if (deadline.reason === 'client_gone') return clientGone()
  return {
    status: deadline.timedOut ? 'timeout' : 'upstream_error',
    httpStatus,
    errorCode: error.code,
    complete: false,
    reachedUpstream: !neverSent(error),
  }
}
