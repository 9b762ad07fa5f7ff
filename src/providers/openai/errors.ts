// OpenAI's error answer (`{"error":{message,type,code,param}}`) as the client-facing GatewayError, for every OpenAI endpoint.
import type { GatewayError } from '../../errors'
import { parseJsonOrNull, upstreamError } from '../upstream-errors'

interface OpenAiErrorBody {
  error?: { message?: string; type?: string; code?: string | null; param?: string | null }
}

export function readOpenAiError(status: number, body: string, headers: Headers, secrets: readonly string[]): GatewayError {
  const parsed = parseJsonOrNull(body) as OpenAiErrorBody | null
  const error = parsed?.error
  return upstreamError(
    {
      provider: 'openai',
      status,
      message: typeof error?.message === 'string' ? error.message : body.slice(0, 200),
      type: error?.type,
      code: error?.code,
      param: error?.param,
      retryAfter: headers.get('retry-after'),
    },
    secrets,
  )
}
