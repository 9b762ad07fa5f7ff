// Typed gateway errors, one class per meaning, and the single OpenAI-shaped JSON body every client error uses.

export interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null }
}

export class GatewayError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
    readonly code: string | null = null,
    readonly param: string | null = null,
    readonly headers: Record<string, string> = {},
  ) {
    super(message)
  }

  toBody(): ErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } }
  }
}

export class InvalidRequestError extends GatewayError {
  constructor(message: string, param: string | null = null, code: string | null = 'invalid_request') {
    super(400, 'invalid_request_error', message, code, param)
  }
}

export class AuthenticationError extends GatewayError {
  constructor(message = 'Missing or invalid API key. Pass it as "Authorization: Bearer <key>" or "X-API-Key: <key>".') {
    super(401, 'authentication_error', message, 'invalid_api_key')
  }
}

/** 401: a session token that was valid but has run out; the developer's backend mints a new one. */
export class SessionExpiredError extends GatewayError {
  constructor() {
    super(401, 'authentication_error', 'This session token has expired. Mint a new one (POST /v1/sessions) or refresh it before it expires.', 'session_expired')
  }
}

/** 403: the caller is known but may not do this (a setting of its project, its scope or its mode forbids it). */
export class PermissionError extends GatewayError {
  constructor(message: string, code: string, param: string | null = null) {
    super(403, 'permission_error', message, code, param)
  }
}

export class NotFoundError extends GatewayError {
  constructor(message: string, code = 'not_found', param: string | null = null) {
    super(404, 'invalid_request_error', message, code, param)
  }
}

export class ModelNotFoundError extends NotFoundError {
  constructor(model: string) {
    super(`The model '${model}' does not exist. GET /v1/models lists the available models.`, 'model_not_found', 'model')
  }
}

/** Where each kind of model is served, for the error that names the right endpoint. */
const ENDPOINT_OF_KIND: Record<string, string> = { chat: 'POST /v1/chat/completions', embedding: 'POST /v1/embeddings', image: 'POST /v1/images/generations' }

/** 400: the model exists but is not served by this endpoint (an embedding model sent to chat, a chat model to images). */
export class ModelKindError extends InvalidRequestError {
  constructor(model: string, kind: string, wanted: string) {
    super(
      `The model '${model}' is ${kind === 'image' ? 'an' : 'a'} ${kind} model; this endpoint takes ${wanted} models. Use it with ${ENDPOINT_OF_KIND[kind] ?? 'its own endpoint'}; GET /v1/models lists each model's kind.`,
      'model',
      'wrong_model_kind',
    )
  }
}

export class PayloadTooLargeError extends GatewayError {
  constructor(limitBytes: number) {
    super(413, 'invalid_request_error', `Request body is larger than the ${limitBytes}-byte limit.`, 'request_too_large')
  }
}

/** 429: over the request or token rate; Retry-After says when to come back. */
/** 409: the request conflicts with another one (an Idempotency-Key reused, or still in use). */
export class ConflictError extends GatewayError {
  constructor(message: string, code: string, param: string | null = null) {
    super(409, 'invalid_request_error', message, code, param)
  }
}

export class RateLimitError extends GatewayError {
  constructor(message: string, retryAfterSeconds: number, headers: Record<string, string> = {}) {
    super(429, 'rate_limit_error', message, 'rate_limit_exceeded', null, { ...headers, 'retry-after': String(retryAfterSeconds) })
  }
}

/**
 * 429: this address presented too many wrong keys or admin tokens; every credential from it is refused until
 * Retry-After, a right one too (otherwise the block would still answer which guess was right).
 */
export class TooManyFailedAttemptsError extends GatewayError {
  constructor(retryAfterSeconds: number) {
    super(
      429,
      'rate_limit_error',
      `Too many failed authentication attempts from your address. Try again in ${retryAfterSeconds} s.`,
      'too_many_failed_attempts',
      null,
      { 'retry-after': String(retryAfterSeconds) },
    )
  }
}

/** 402: the account must pay before this request can run (no subscription, cap reached, wallet empty). */
export class PaymentRequiredError extends GatewayError {
  constructor(message: string, code: 'subscription_required' | 'spending_cap_reached' | 'insufficient_balance' | 'session_spend_limit' | 'wallet_frozen', headers: Record<string, string> = {}) {
    super(402, 'billing_error', message, code, null, headers)
  }
}

/** 402: an x402 payment is missing or was refused; the code is the reason in x402's vocabulary (invalid_exact_evm_signature…). */
export class X402PaymentError extends GatewayError {
  constructor(message: string, reason: string, headers: Record<string, string> = {}) {
    super(402, 'payment_error', message, reason, null, headers)
  }
}

/** 502: the x402 facilitator could not be asked, or did not say whether it settled; nothing of the upstream is delivered. */
export class FacilitatorError extends GatewayError {
  constructor(message: string, code: 'facilitator_unavailable' | 'settlement_unknown', headers: Record<string, string> = {}) {
    super(502, 'upstream_error', message, code, null, headers)
  }
}

/** An upstream answered with a client error (4xx, 429): relayed with its status and a scrubbed message. */
export class UpstreamClientError extends GatewayError {
  constructor(status: number, type: string, message: string, code: string | null, param: string | null, headers: Record<string, string> = {}) {
    super(status, type, message, code, param, headers)
  }
}

/** The upstream failed, could not be reached, or answered something we cannot read. */
export class UpstreamError extends GatewayError {
  constructor(message: string, code = 'upstream_error') {
    super(502, 'upstream_error', message, code)
  }
}

/**
 * The upstream request never left the gateway: nothing reached the provider, so nothing may be billed for it.
 *
 * Contract (src/providers/http.ts `postJson` is the only thrower): an adapter's `send` rejects with a subclass when
 * the request waited for an upstream connection slot and got none, or failed before a byte was written (connection
 * refused, DNS, TLS handshake, no file descriptor or local port). Callers settle the hold at zero, record no usage
 * and answer with `status`. Anything else that goes wrong once `fetch` has started (reset, timeout, bad answer) may
 * have reached the provider and is never this class.
 */
export class UpstreamNotSentError extends GatewayError {
  readonly sent = false
  constructor(status: number, type: string, message: string, code: string, headers: Record<string, string> = {}, override readonly cause?: unknown) {
    super(status, type, message, code, null, headers)
  }
}

/** 503: the gateway itself had no room to send (its upstream pool stayed full, or the process is out of file descriptors or ports). */
export class GatewayCapacityError extends UpstreamNotSentError {
  constructor(message: string, retryAfterSeconds: number, cause?: unknown) {
    super(503, 'service_unavailable', message, 'gateway_capacity_exhausted', { 'retry-after': String(retryAfterSeconds) }, cause)
  }
}

/** 502: the upstream could not be reached (connection refused, name not resolved, TLS handshake refused). */
export class UpstreamUnreachableError extends UpstreamNotSentError {
  constructor(message: string, cause?: unknown) {
    super(502, 'upstream_error', message, 'upstream_unreachable', {}, cause)
  }
}

export class UpstreamTimeoutError extends GatewayError {
  constructor(message: string) {
    super(504, 'timeout_error', message, 'upstream_timeout')
  }
}

export class ServiceUnavailableError extends GatewayError {
  constructor(message: string, code = 'service_unavailable') {
    super(503, 'service_unavailable', message, code)
  }
}

/** The client left before we could answer; nothing is sent, the record says client_aborted. */
export class ClientGoneError extends GatewayError {
  constructor() {
    super(499, 'client_closed_request', 'The client closed the request.', 'client_closed_request')
  }
}

export class InternalError extends GatewayError {
  constructor(message = 'The gateway hit an internal error. The request id identifies it in our logs.') {
    super(500, 'server_error', message, 'internal_error')
  }
}

const JSON_HEADERS = { 'content-type': 'application/json' } as const

/** Serialises any GatewayError as the one error shape, merging its extra headers with the given ones. */
export function errorResponse(error: GatewayError, headers: Record<string, string | number> = {}): Response {
  return new Response(JSON.stringify(error.toBody()), {
    status: error.status,
    headers: { ...headers, ...error.headers, ...JSON_HEADERS } as Record<string, string>,
  })
}
