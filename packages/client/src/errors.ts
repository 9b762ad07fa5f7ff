// The client's one error type: the gateway's status, its error code and body, or a network failure (status 0).
export class MeterwayClientError extends Error {
  override readonly name = 'MeterwayClientError'
  constructor(
    message: string,
    /** HTTP status; 0 when the request never got an answer. */
    readonly status: number,
    /** The gateway's `error.code` (e.g. `session_expired`, `insufficient_balance`), or null. */
    readonly code: string | null,
    /** The parsed error body, when there was one. */
    readonly body: unknown = null,
  ) {
    super(message)
  }
}

/** The error a non-2xx gateway answer stands for; the body is the gateway's `{error: {message, type, code}}`. */
export async function errorFromResponse(response: Response): Promise<MeterwayClientError> {
  const text = await response.text().catch(() => '')
  let body: unknown = null
  try {
    body = text ? JSON.parse(text) : null
  } catch {
    body = text
  }
  const error = (body as { error?: { message?: unknown; code?: unknown } } | null)?.error
  const message = typeof error?.message === 'string' ? error.message : `Meterway answered ${response.status}`
  return new MeterwayClientError(message, response.status, typeof error?.code === 'string' ? error.code : null, body)
}
