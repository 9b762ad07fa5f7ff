// One JSON call to the gateway: the bearer key, an optional Idempotency-Key, the answer parsed, a non-2xx thrown as MeterwayError.
import { errorOfAnswer, MeterwayError } from './errors'

export type FetchLike = (input: string, init: RequestInit) => Promise<Response>

export interface Transport {
  baseUrl: string
  secretKey: string
  fetch: FetchLike
  timeoutMs: number
}

export interface CallOptions {
  body?: unknown
  query?: Record<string, string | number | undefined>
  idempotencyKey?: string
  /** Another credential than the secret key (a session token, for refresh). */
  bearer?: string
}

export async function request<T>(transport: Transport, method: string, path: string, options: CallOptions = {}): Promise<T> {
  const url = new URL(path.replace(/^\//, ''), transport.baseUrl.endsWith('/') ? transport.baseUrl : `${transport.baseUrl}/`)
  for (const [name, value] of Object.entries(options.query ?? {})) if (value !== undefined) url.searchParams.set(name, String(value))
  const headers: Record<string, string> = { authorization: `Bearer ${options.bearer ?? transport.secretKey}`, accept: 'application/json' }
  if (options.body !== undefined) headers['content-type'] = 'application/json'
  if (options.idempotencyKey !== undefined) headers['idempotency-key'] = options.idempotencyKey
  let response: Response
  try {
    response = await transport.fetch(url.toString(), {
      method,
      headers,
      ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
      signal: AbortSignal.timeout(transport.timeoutMs),
    })
  } catch (error) {
    const timedOut = (error as Error)?.name === 'TimeoutError'
    throw new MeterwayError({
      status: 0,
      code: timedOut ? 'timeout' : 'connection_error',
      message: timedOut ? `No answer from ${url.origin} within ${transport.timeoutMs} ms` : `Could not reach ${url.origin}: ${(error as Error)?.message ?? error}`,
    })
  }
  const text = await response.text()
  let body: unknown = text
  try {
    body = text === '' ? null : JSON.parse(text)
  } catch {
    // Not JSON (a proxy's HTML page): kept as text in the error.
  }
  if (!response.ok) throw errorOfAnswer(response.status, body, response.headers.get('x-request-id'))
  return body as T
}

/** A path segment from a caller's id: encoded, and never empty (an empty id would call another route). */
export function segment(name: string, value: string): string {
  if (typeof value !== 'string' || value === '') throw new MeterwayError({ status: 0, code: 'invalid_argument', param: name, message: `${name} must be a non-empty string` })
  return encodeURIComponent(value)
}

/** Amounts go out as decimal USD strings: 5 → "5.000000000" (nano-USD precision), "5.00" as is. */
export function usdString(name: string, amount: number | string): string {
  if (typeof amount === 'string') return amount
  if (typeof amount !== 'number' || !Number.isFinite(amount)) throw new MeterwayError({ status: 0, code: 'invalid_argument', param: name, message: `${name} must be a finite number or a decimal string` })
  return amount.toFixed(9)
}
