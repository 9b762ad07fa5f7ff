// OpenAI (and any OpenAI-compatible upstream): the request passes through with the upstream model id and usage asked for.
import type { PromptProfile, ProviderAdapter } from '../types'
import { postJson } from '../http'
import { buildOpenAiBody } from './request'
import { upstreamError } from '../upstream-errors'
import { readOpenAiError } from './errors'
import { createOpenAiStreamTranslator, readOpenAiCompletion } from './response'

export interface OpenAiSettings {
  baseUrl: string
  apiKey: string
  /** An OpenAI-compatible upstream of the config file: its whole chat URL and its own headers (secrets, scrubbed from errors). */
  route?: { url: string; headers: Readonly<Record<string, string>> }
}

/**
 * Our o200k count is OpenAI's own tokenizer with its documented chat framing: the fixture conversation we count at 19
 * tokens OpenAI reported as 19. Tool definitions are rendered by OpenAI in a form a little longer than their JSON, hence
 * a small margin. Images: 85 tokens at low detail; at high detail a 2048×768 image (the largest after OpenAI's
 * rescaling) is 85 + 170 × 8 tiles = 1,445 (models that bill images differently override this in the catalog).
 */
export const OPENAI_PROMPT: PromptProfile = {
  textMargin: 1.05,
  toolPromptTokens: 0,
  imageMaxTokens: (detail) => (detail === 'low' ? 85 : 1_445),
}

export function createOpenAiAdapter(settings: OpenAiSettings): ProviderAdapter {
  const route = settings.route
  const secrets = route ? Object.values(route.headers).flatMap((v) => [v, v.replace(/^bearer\s+/i, '')]).filter((v) => v.length >= 8) : [settings.apiKey]
  const url = route ? route.url : `${settings.baseUrl}/chat/completions`
  const headers: Record<string, string> = route ? { ...route.headers } : settings.apiKey ? { authorization: `Bearer ${settings.apiKey}` } : {}
  const errorFor = (info: Parameters<typeof upstreamError>[0]) => upstreamError(info, secrets)
  // One for the adapter, not one a stream.
  const streamErrorFor = (info: Omit<Parameters<typeof upstreamError>[0], 'provider' | 'status'> & { status?: number }) => errorFor({ provider: 'openai', status: 500, ...info })

  return {
    id: 'openai',
    prompt: OPENAI_PROMPT,
    prepare: (call) => ({ url, headers, body: JSON.stringify(buildOpenAiBody(call)) }),
    send: (request, signal) => postJson(request.url, request.headers, request.body, signal),
    readCompletion: (body) => readOpenAiCompletion(body, 'openai'),
    createStreamTranslator: (sink, identity) => createOpenAiStreamTranslator(sink, identity, streamErrorFor, 'openai'),
    readError: (status, body, responseHeaders) => readOpenAiError(status, body, responseHeaders, secrets),
  }
}
