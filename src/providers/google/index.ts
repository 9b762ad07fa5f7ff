// Google Gemini: OpenAI requests become generateContent calls; answers and streams are translated back to OpenAI's format.
import { InvalidRequestError } from '../../errors'
import type { ChatRequest } from '../../modules/chat/model'
import { postJson } from '../http'
import type { ProviderAdapter } from '../types'
import { geminiError, readGeminiError } from './errors'
import { translateRequest, withOutputCap, type GeminiRequestBody } from './request'
import { readGeminiCompletion } from './response'
import { createGeminiStreamTranslator } from './stream'
import type { GeminiErrorObject } from './wire'

export interface GoogleSettings {
  baseUrl: string
  apiKey: string
}

export function createGoogleAdapter(settings: GoogleSettings): ProviderAdapter {
  const secrets = [settings.apiKey]
  const modelsUrl = `${settings.baseUrl}/v1beta/models/`
  const headers: Record<string, string> = settings.apiKey ? { 'x-goog-api-key': settings.apiKey } : {}
  // validate() translates so that untranslatable requests fail before anything is sent; send() reuses that work.
  const translated = new WeakMap<ChatRequest, GeminiRequestBody>()
  const streamError = (error: GeminiErrorObject) =>
    geminiError(typeof error.code === 'number' ? error.code : 500, error, 'stream error', null, secrets)

  function translate(request: ChatRequest): GeminiRequestBody {
    let body = translated.get(request)
    if (body === undefined) {
      body = translateRequest(request)
      translated.set(request, body)
    }
    return body
  }

  return {
    id: 'google',
    validate(request) {
      if (request.n != null && request.n > 1) throw new InvalidRequestError('google models support n=1 only', 'n')
      translate(request)
    },
    async send(call) {
      const model = encodeURIComponent(call.model.upstreamModel)
      const url = call.stream ? `${modelsUrl}${model}:streamGenerateContent?alt=sse` : `${modelsUrl}${model}:generateContent`
      return postJson(url, headers, withOutputCap(translate(call.request), call), call.signal)
    },
    readCompletion: readGeminiCompletion,
    createStreamTranslator: (sink, identity) => createGeminiStreamTranslator(sink, identity, streamError),
    readError: (status, body, responseHeaders) => readGeminiError(status, body, responseHeaders, secrets),
  }
}
