// Turns Gemini's error object (an error answer's body, or an error event mid-stream) into the client-facing GatewayError.
import type { GatewayError } from '../../errors'
import { parseJsonOrNull, upstreamError } from '../upstream-errors'
import type { GeminiErrorObject } from './wire'

/** Gemini answers a bad API key with 400 INVALID_ARGUMENT; only the ErrorInfo reason says it is our key, not the request. */
function rejectsCredentials(status: number, error: GeminiErrorObject | undefined): boolean {
  if (status === 401 || status === 403) return true
  const details = error?.details
  if (!Array.isArray(details)) return false
  return details.some((detail) => detail?.reason === 'API_KEY_INVALID')
}

export function geminiError(
  status: number,
  error: GeminiErrorObject | undefined,
  fallbackMessage: string,
  retryAfter: string | null,
  secrets: readonly string[],
): GatewayError {
  return upstreamError(
    {
      provider: 'google',
      status,
      message: typeof error?.message === 'string' ? error.message : fallbackMessage,
      code: typeof error?.status === 'string' ? error.status : null,
      retryAfter,
      credentialsRejected: rejectsCredentials(status, error),
    },
    secrets,
  )
}

export function readGeminiError(status: number, body: string, headers: Headers, secrets: readonly string[]): GatewayError {
  const parsed = parseJsonOrNull(body) as { error?: unknown } | null
  const error = parsed !== null && typeof parsed === 'object' && typeof parsed.error === 'object' && parsed.error !== null
    ? (parsed.error as GeminiErrorObject)
    : undefined
  return geminiError(status, error, body.slice(0, 200), headers.get('retry-after'), secrets)
}
