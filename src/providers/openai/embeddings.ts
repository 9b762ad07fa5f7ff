// OpenAI's /embeddings: the client's body goes through with the upstream model id; the answer comes back as it is.
import { UpstreamError } from '../../errors'
import { postJson } from '../http'
import type { EmbeddingsAdapter } from '../media'
import { parseJsonOrNull } from '../upstream-errors'
import { readOpenAiError } from './errors'
import { OPENAI_PROMPT, type OpenAiSettings } from './index'

interface OpenAiEmbeddingsAnswer {
  data?: unknown
  usage?: { prompt_tokens?: unknown }
}

/** OpenAI takes at most 2,048 inputs per request (its API reference). */
const MAX_INPUTS = 2_048

export function createOpenAiEmbeddings(settings: OpenAiSettings): EmbeddingsAdapter {
  const secrets = [settings.apiKey]
  const url = `${settings.baseUrl}/embeddings`
  const headers: Record<string, string> = settings.apiKey ? { authorization: `Bearer ${settings.apiKey}` } : {}
  return {
    id: 'openai',
    textMargin: OPENAI_PROMPT.textMargin,
    maxInputs: MAX_INPUTS,
    takesTokenIds: true,
    prepare: (call) => ({ url, headers, body: JSON.stringify({ ...call.body, model: call.model.upstreamModel }) }),
    send: (request, signal) => postJson(request.url, request.headers, request.body, signal),
    read(body) {
      const answer = parseJsonOrNull(body) as OpenAiEmbeddingsAnswer | null
      if (!answer || !Array.isArray(answer.data)) throw new UpstreamError('The openai upstream answered embeddings with something that is not an embeddings list.', 'upstream_bad_response')
      const promptTokens = answer.usage?.prompt_tokens
      const usage =
        typeof promptTokens === 'number' && Number.isSafeInteger(promptTokens) && promptTokens >= 0
          ? { inputTokens: promptTokens, outputTokens: 0, cachedInputTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 }
          : null
      return { body, usage }
    },
    readError: (status, body, responseHeaders) => readOpenAiError(status, body, responseHeaders, secrets),
  }
}
