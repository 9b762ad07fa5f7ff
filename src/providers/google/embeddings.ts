// Gemini's :batchEmbedContents for OpenAI-shaped embeddings requests: texts in, vectors back in OpenAI's format. Gemini
// reports no token usage, so the answer carries our count and the meter bills it (the record says `counted`).
import { InvalidRequestError, UpstreamError } from '../../errors'
import { embeddingsJson } from '../embeddings-format'
import { postJson } from '../http'
import type { EmbeddingsAdapter } from '../media'
import { parseJsonOrNull } from '../upstream-errors'
import { readGeminiError } from './errors'
import { GOOGLE_PROMPT, type GoogleSettings } from './index'

/** batchEmbedContents takes at most 100 requests per batch (Gemini API reference). */
const MAX_INPUTS = 100

interface BatchEmbedAnswer {
  embeddings?: { values?: unknown }[]
}

export function createGoogleEmbeddings(settings: GoogleSettings): EmbeddingsAdapter {
  const secrets = [settings.apiKey]
  const headers: Record<string, string> = settings.apiKey ? { 'x-goog-api-key': settings.apiKey } : {}
  return {
    id: 'google',
    textMargin: GOOGLE_PROMPT.textMargin,
    maxInputs: MAX_INPUTS,
    takesTokenIds: false,
    prepare(call) {
      if (!('texts' in call.input)) throw new InvalidRequestError(`'${call.model.id}' embeds text only; send 'input' as a string or an array of strings.`, 'input', 'unsupported_value')
      const model = call.model.upstreamModel
      const dimensions = call.dimensions === undefined ? {} : { outputDimensionality: call.dimensions }
      const requests = call.input.texts.map((text) => ({ model: `models/${model}`, content: { parts: [{ text }] }, ...dimensions }))
      return { url: `${settings.baseUrl}/v1beta/models/${encodeURIComponent(model)}:batchEmbedContents`, headers, body: JSON.stringify({ requests }) }
    },
    send: (request, signal) => postJson(request.url, request.headers, request.body, signal),
    read(body, call) {
      const answer = parseJsonOrNull(body) as BatchEmbedAnswer | null
      const vectors = answer?.embeddings?.map((embedding) => embedding?.values)
      if (!vectors || !vectors.every((values) => Array.isArray(values) && values.every((value) => typeof value === 'number'))) {
        throw new UpstreamError('The google upstream answered embeddings with something that is not a list of vectors.', 'upstream_bad_response')
      }
      return { body: embeddingsJson(vectors as number[][], call.model.upstreamModel, call.promptTokens, call.encodingFormat), usage: null }
    },
    readError: (status, body, responseHeaders) => readGeminiError(status, body, responseHeaders, secrets),
  }
}
