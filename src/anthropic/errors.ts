// Our typed errors in the Anthropic Messages API's error shape, in one place: the same HTTP status, Anthropic's error type.
import type { GatewayError } from '../errors'

/** Anthropic's documented error types (docs.claude.com/en/api/errors, read 2026-12-01). */
const ANTHROPIC_TYPES = new Set([
  'invalid_request_error',
  'authentication_error',
  'billing_error',
  'permission_error',
  'not_found_error',
  'request_too_large',
  'rate_limit_error',
  'api_error',
  'timeout_error',
  'overloaded_error',
])

const TYPE_BY_STATUS: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  402: 'billing_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  500: 'api_error',
  502: 'api_error',
  503: 'overloaded_error',
  504: 'timeout_error',
  529: 'overloaded_error',
}

/** Anthropic's own type where the error came from Anthropic (its code keeps it), else the type of its status. */
export function anthropicErrorType(error: GatewayError): string {
  if (error.code !== null && ANTHROPIC_TYPES.has(error.code)) return error.code
  // Anthropic uses invalid_request_error for the 4xx it does not list, api_error for the 5xx.
  return TYPE_BY_STATUS[error.status] ?? (error.status >= 500 ? 'api_error' : 'invalid_request_error')
}

export interface AnthropicErrorBody {
  type: 'error'
  error: { type: string; message: string }
  request_id?: string
}

export function anthropicErrorBody(error: GatewayError, requestId?: string): AnthropicErrorBody {
  const body: AnthropicErrorBody = { type: 'error', error: { type: anthropicErrorType(error), message: error.message } }
  if (requestId) body.request_id = requestId
  return body
}

/** The whole answer for a refused or failed request, with the error's own headers (Retry-After) and the given ones. */
export function anthropicErrorResponse(error: GatewayError, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(anthropicErrorBody(error, headers['x-request-id'])), {
    status: error.status,
    headers: { ...headers, ...error.headers, 'content-type': 'application/json' },
  })
}

/** A failure after the stream started, as Anthropic sends it: an `error` event. */
export function anthropicErrorEvent(error: GatewayError): string {
  return `event: error\ndata: ${JSON.stringify(anthropicErrorBody(error))}\n\n`
}
