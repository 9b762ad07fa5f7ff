// OpenAI (and any OpenAI-compatible upstream): the request passes through with the upstream model id and usage asked for.
import type { ProviderAdapter, UpstreamCall } from '../types'
import { postJson } from '../http'
import { parseJsonOrNull, upstreamError } from '../upstream-errors'
import { createOpenAiStreamTranslator, readOpenAiCompletion } from './response'

export interface OpenAiSettings {
  baseUrl: string
  apiKey: string
}

interface OpenAiErrorBody {
  error?: { message?: string; type?: string; code?: string | null; param?: string | null }
}

export function buildOpenAiBody(call: UpstreamCall): Record<string, unknown> {
  const body: Record<string, unknown> = { ...call.request, model: call.model.upstreamModel }
  if (call.stream) {
    // Always ask for usage so a stream is billed on the provider's numbers; the relay hides it if the client did not ask.
    body.stream = true
    body.stream_options = { ...(call.request.stream_options ?? {}), include_usage: true }
  } else {
    delete body.stream
    delete body.stream_options
  }
  return body
}

export function createOpenAiAdapter(settings: OpenAiSettings): ProviderAdapter {
  const secrets = [settings.apiKey]
  const url = `${settings.baseUrl}/chat/completions`
  const headers: Record<string, string> = settings.apiKey ? { authorization: `Bearer ${settings.apiKey}` } : {}
  const errorFor = (info: Parameters<typeof upstreamError>[0]) => upstreamError(info, secrets)

  return {
    id: 'openai',
    send: (call) => postJson(url, headers, buildOpenAiBody(call), call.signal),
    readCompletion: (body) => readOpenAiCompletion(body, 'openai'),
    createStreamTranslator: (sink, identity) =>
      createOpenAiStreamTranslator(sink, identity, (info) => errorFor({ provider: 'openai', status: 500, ...info }), 'openai'),
    readError(status, body, responseHeaders) {
      const parsed = parseJsonOrNull(body) as OpenAiErrorBody | null
      const error = parsed?.error
      return errorFor({
        provider: 'openai',
        status,
        message: typeof error?.message === 'string' ? error.message : body.slice(0, 200),
        type: error?.type,
        code: error?.code,
        param: error?.param,
        retryAfter: responseHeaders.get('retry-after'),
      })
    },
  }
}
