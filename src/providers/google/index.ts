// Google Gemini: OpenAI requests become generateContent calls; answers and streams are translated back to OpenAI's format.
import { InvalidRequestError } from '../../errors'
import { postJson } from '../http'
import type { PromptProfile, ProviderAdapter } from '../types'
import { geminiError, readGeminiError } from './errors'
import { translateRequest, withOutputCap } from './request'
import { readGeminiCompletion } from './response'
import { createGeminiStreamTranslator } from './stream'
import type { GeminiErrorObject } from './wire'

export interface GoogleSettings {
  baseUrl: string
  apiKey: string
}

/**
 * Gemini counts the fixture conversation at 8 prompt tokens where we count 19 (its framing is lighter), and its
 * SentencePiece vocabulary is about as dense as o200k on English ("about 4 characters a token", their token guide);
 * ×1.2 covers code and other scripts where it is less dense. An image up to 384 px is 258 tokens; larger ones are cut
 * into 768 × 768 tiles of 258 tokens each: a 3,072 × 3,072 image, the largest it keeps, is 16 tiles, 4,128 tokens.
 */
export const GOOGLE_PROMPT: PromptProfile = {
  textMargin: 1.2,
  toolPromptTokens: 0,
  imageMaxTokens: () => 4_128,
}

export function createGoogleAdapter(settings: GoogleSettings): ProviderAdapter {
  const secrets = [settings.apiKey]
  const modelsUrl = `${settings.baseUrl}/v1beta/models/`
  const headers: Record<string, string> = settings.apiKey ? { 'x-goog-api-key': settings.apiKey } : {}
  const streamError = (error: GeminiErrorObject) =>
    geminiError(typeof error.code === 'number' ? error.code : 500, error, 'stream error', null, secrets)

  return {
    id: 'google',
    prompt: GOOGLE_PROMPT,
    prepare(call) {
      if (call.request.n != null && call.request.n > 1) throw new InvalidRequestError('google models support n=1 only', 'n')
      const model = encodeURIComponent(call.model.upstreamModel)
      const url = call.stream ? `${modelsUrl}${model}:streamGenerateContent?alt=sse` : `${modelsUrl}${model}:generateContent`
      return { url, headers, body: JSON.stringify(withOutputCap(translateRequest(call.request), call.maxTokens)) }
    },
    send: (request, signal) => postJson(request.url, request.headers, request.body, signal),
    readCompletion: readGeminiCompletion,
    createStreamTranslator: (sink, identity) => createGeminiStreamTranslator(sink, identity, streamError),
    readError: (status, body, responseHeaders) => readGeminiError(status, body, responseHeaders, secrets),
  }
}
