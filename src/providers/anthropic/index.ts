// Anthropic Messages API adapter: wires request translation, answer translation and error reading to the gateway.
import { InvalidRequestError } from '../../errors'
import { postJson } from '../http'
import type { ProviderAdapter } from '../types'
import { readAnthropicError } from './errors'
import { buildAnthropicBody } from './request'
import { readAnthropicCompletion } from './response'
import { createAnthropicStreamTranslator } from './stream'

export interface AnthropicSettings {
  baseUrl: string
  apiKey: string
}

const ANTHROPIC_VERSION = '2023-06-01'

export function createAnthropicAdapter(settings: AnthropicSettings): ProviderAdapter {
  const secrets = [settings.apiKey]
  const url = `${settings.baseUrl}/v1/messages`
  const headers: Record<string, string> = { 'anthropic-version': ANTHROPIC_VERSION }
  if (settings.apiKey) headers['x-api-key'] = settings.apiKey

  return {
    id: 'anthropic',
    validate(request) {
      if (typeof request.n === 'number' && request.n > 1) throw new InvalidRequestError('anthropic models support n=1 only', 'n')
    },
    // async so a request that cannot be translated rejects like any other send failure instead of throwing synchronously.
    send: async (call) => postJson(url, headers, buildAnthropicBody(call), call.signal),
    readCompletion: readAnthropicCompletion,
    createStreamTranslator: (sink, identity) => createAnthropicStreamTranslator(sink, identity, secrets),
    readError: (status, body, responseHeaders) => readAnthropicError(status, body, responseHeaders, secrets),
  }
}
