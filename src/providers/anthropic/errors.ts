// Anthropic error answers, whole-body or mid-stream, turned into the client-facing GatewayError.
import type { GatewayError } from '../../errors'
import { parseJsonOrNull, upstreamError } from '../upstream-errors'
import type { AnthropicErrorDetail } from './wire'

/** Anthropic error types with an obvious OpenAI counterpart; the rest keep their own name. */
const OPENAI_TYPES: Record<string, string> = {
  invalid_request_error: 'invalid_request_error',
  not_found_error: 'invalid_request_error',
  request_too_large: 'invalid_request_error',
  authentication_error: 'authentication_error',
  permission_error: 'permission_error',
  rate_limit_error: 'rate_limit_error',
  api_error: 'server_error',
  overloaded_error: 'server_error',
}

/** A stream has already answered 200, so the error event's type is the only hint of what status it stands for. */
function streamErrorStatus(type: string | undefined): number {
  if (type === 'overloaded_error') return 529
  if (type === 'rate_limit_error') return 429
  return 500
}

function errorFromDetail(
  detail: AnthropicErrorDetail | undefined,
  status: number,
  fallbackMessage: string,
  retryAfter: string | null,
  secrets: readonly string[],
): GatewayError {
  const type = typeof detail?.type === 'string' ? detail.type : undefined
  return upstreamError(
    {
      provider: 'anthropic',
      status,
      message: typeof detail?.message === 'string' ? detail.message : fallbackMessage,
      type: type === undefined ? null : (OPENAI_TYPES[type] ?? type),
      code: type ?? null,
      retryAfter,
    },
    secrets,
  )
}

export function readAnthropicError(status: number, body: string, headers: Headers, secrets: readonly string[]): GatewayError {
  const parsed = parseJsonOrNull(body) as { error?: AnthropicErrorDetail } | null
  const detail = parsed !== null && typeof parsed === 'object' ? parsed.error : undefined
  return errorFromDetail(detail, status, body.slice(0, 200), headers.get('retry-after'), secrets)
}

export function anthropicStreamError(detail: AnthropicErrorDetail | undefined, secrets: readonly string[]): GatewayError {
  const type = typeof detail?.type === 'string' ? detail.type : undefined
  return errorFromDetail(detail, streamErrorStatus(type), 'stream error', null, secrets)
}
