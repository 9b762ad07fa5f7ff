// What the model routes served from Bun's table report of each request: its count in the metrics, and its span ended with its status.
import { countRequest } from '../../lib/metrics'
import { startRequestTrace, type RequestTrace } from '../../lib/tracing'

export interface ObservedRequest {
  /** The request's span when tracing is on. */
  readonly trace: RequestTrace | undefined
  /** Counts the response (and ends the span, unless an exchange owns it); returns it. */
  answered(response: Response): Response
  /** Runs the work with the span active (its log lines carry the trace id), the model and account named on it. */
  run<T>(model: string, accountId: string, work: () => Promise<T>): Promise<T>
}

/** `route` labels the metrics; the model label stays `none` until run() names a catalog id, never a made-up name. */
export function observeRequest(route: string, spanName: string, request: Request, requestId: string): ObservedRequest {
  const trace = startRequestTrace(spanName, request.headers, { 'meterway.request_id': requestId })
  let model = 'none'
  return {
    trace,
    answered(response) {
      countRequest(route, model, response.status)
      if (trace && !trace.ownedByExchange) trace.end(response.status)
      return response
    },
    run(catalogModel, accountId, work) {
      model = catalogModel
      if (!trace) return work()
      trace.setAttributes({ 'meterway.model': catalogModel, 'meterway.account_id': accountId })
      return trace.run(work)
    },
  }
}
