// Failure injection: which calls fail (deterministic share, count, path) and the answer each failure mode gives.
import { stripeError, type Answer } from './form'

export type FailureMode = 'rate_limit' | 'server_error' | 'hang'

export interface FailurePlan {
  /** Several modes take turns, failure after failure: ['rate_limit', 'server_error', 'hang'] mixes all three. */
  mode: FailureMode | FailureMode[]
  /** Share of the matching calls that fail, spread evenly and deterministically: 0.5 fails every second call. Default 1. */
  share?: number
  /** Stop failing after this many failures. Default: no limit. */
  count?: number
  /** Only calls whose path starts with this (e.g. '/v1/billing/meter_events'). */
  path?: string
  /** Apply the call (remembering its answer for its Idempotency-Key) and then fail: the effect happened, the answer was lost. */
  afterEffect?: boolean
}

export function failureInjector() {
  let failure: (FailurePlan & { seen: number; failed: number }) | null = null

  return {
    set(plan: FailurePlan | null) {
      failure = plan ? { ...plan, seen: 0, failed: 0 } : null
    },
    /** Deterministic spread: call n fails when floor((n+1)·share) steps past floor(n·share). */
    shouldFail(path: string): (FailurePlan & { mode: FailureMode }) | null {
      if (!failure || (failure.path && !path.startsWith(failure.path))) return null
      if (failure.count !== undefined && failure.failed >= failure.count) return null
      const share = failure.share ?? 1
      const n = failure.seen++
      if (Math.floor((n + 1) * share) <= Math.floor(n * share)) return null
      const modes = Array.isArray(failure.mode) ? failure.mode : [failure.mode]
      return { ...failure, mode: modes[failure.failed++ % modes.length]! }
    },
  }
}

export function failureAnswer(mode: FailureMode): Answer | 'hang' {
  if (mode === 'hang') return 'hang'
  if (mode === 'rate_limit') {
    return stripeError(429, 'invalid_request_error', 'Request rate limit exceeded. Learn more about rate limits here https://stripe.com/docs/rate-limits.', { code: 'rate_limit' })
  }
  return stripeError(500, 'api_error', 'An unknown error occurred.')
}
