// The SDK's errors: MeterwayError for every failed API call (status, code, body), WebhookVerificationError for a delivery that does not verify.

/** The gateway's one error shape: `{error: {message, type, param, code}}`. */
export interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null }
}

/**
 * A call the gateway refused or could not answer. `status` is the HTTP status (0 when no answer came: the network
 * failed or the call timed out), `code` the gateway's error code (`session_expired`, `wallet_not_found`, …),
 * `body` the parsed answer (or its text when it was not JSON).
 */
export class MeterwayError extends Error {
  override readonly name = 'MeterwayError'
  readonly status: number
  readonly code: string | null
  readonly type: string | null
  readonly param: string | null
  readonly body: unknown
  /** The gateway's x-request-id, to quote when asking for help. */
  readonly requestId: string | null

  constructor(init: { status: number; message: string; code?: string | null; type?: string | null; param?: string | null; body?: unknown; requestId?: string | null }) {
    super(init.message)
    this.status = init.status
    this.code = init.code ?? null
    this.type = init.type ?? null
    this.param = init.param ?? null
    this.body = init.body ?? null
    this.requestId = init.requestId ?? null
  }
}

const isErrorBody = (body: unknown): body is ErrorBody =>
  typeof body === 'object' && body !== null && typeof (body as ErrorBody).error === 'object' && (body as ErrorBody).error !== null

/** The MeterwayError of a non-2xx answer. */
export function errorOfAnswer(status: number, body: unknown, requestId: string | null): MeterwayError {
  if (isErrorBody(body)) {
    const { message, type, param, code } = body.error
    return new MeterwayError({ status, message: String(message ?? `HTTP ${status}`), code, type, param, body, requestId })
  }
  return new MeterwayError({ status, message: `The gateway answered HTTP ${status}`, code: null, body, requestId })
}

/** A webhook delivery whose headers, timestamp or signature do not verify, or whose body is not JSON. */
export class WebhookVerificationError extends Error {
  override readonly name = 'WebhookVerificationError'
}
