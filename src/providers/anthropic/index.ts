// Anthropic Messages API adapter: wires request translation, answer translation and error reading to the gateway.
import { InvalidRequestError } from '../../errors'
import { postJson } from '../http'
import type { PromptProfile, ProviderAdapter } from '../types'
import { readAnthropicError } from './errors'
import { createNativeMessages } from './native'
import { buildAnthropicBody } from './request'
import { readAnthropicCompletion } from './response'
import { createAnthropicStreamTranslator } from './stream'

export interface AnthropicSettings {
  baseUrl: string
  apiKey: string
  /** A config file's route: its URL and headers (x-api-key, anthropic-version…) instead of baseUrl and apiKey. */
  route?: { url: string; headers: Readonly<Record<string, string>> }
}

const ANTHROPIC_VERSION = '2023-06-01'

/**
 * Anthropic's tokenizer is not ours: the fixture conversation we count at 19 tokens Anthropic reported as 25 (×1.32),
 * hence ×1.35. Declaring tools adds Anthropic's tool-use system prompt, 346 tokens for Claude 4 models (their pricing
 * page; 313 with tool_choice any/tool). An image costs about width × height / 750 tokens and larger images are scaled
 * down to fit about 1,600 tokens (their vision guide), whatever the detail.
 */
export const ANTHROPIC_PROMPT: PromptProfile = {
  textMargin: 1.35,
  toolPromptTokens: 346,
  imageMaxTokens: () => 1_600,
}

export function createAnthropicAdapter(settings: AnthropicSettings): ProviderAdapter {
  const route = settings.route
  // A route's header values are its secrets: never echoed from an upstream error.
  const secrets = route ? Object.values(route.headers).flatMap((v) => [v, v.replace(/^bearer\s+/i, '')]).filter((v) => v.length >= 8) : [settings.apiKey]
  const url = route ? route.url : `${settings.baseUrl}/v1/messages`
  const headers: Record<string, string> = { 'anthropic-version': ANTHROPIC_VERSION, ...route?.headers }
  if (!route && settings.apiKey) headers['x-api-key'] = settings.apiKey

  return {
    id: 'anthropic',
    prompt: ANTHROPIC_PROMPT,
    messages: createNativeMessages({ url, headers }, { url: `${url}/count_tokens`, headers }, secrets),
    prepare(call) {
      if (typeof call.request.n === 'number' && call.request.n > 1) throw new InvalidRequestError('anthropic models support n=1 only', 'n')
      return { url, headers, body: JSON.stringify(buildAnthropicBody(call)) }
    },
    send: (request, signal) => postJson(request.url, request.headers, request.body, signal),
    readCompletion: readAnthropicCompletion,
    createStreamTranslator: (sink, identity) => createAnthropicStreamTranslator(sink, identity, secrets),
    readError: (status, body, responseHeaders) => readAnthropicError(status, body, responseHeaders, secrets),
  }
}
