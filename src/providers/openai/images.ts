// OpenAI's /images/generations: the client's body goes through with the upstream model id; usage is read from the answer
// (gpt-image-1 reports tokens; dall-e-3 reports none and is priced per image delivered).
import { InvalidRequestError, UpstreamError } from '../../errors'
import { postJson } from '../http'
import type { ImagesAdapter } from '../media'
import type { ProviderUsage } from '../types'
import { parseJsonOrNull } from '../upstream-errors'
import { readOpenAiError } from './errors'
import { OPENAI_PROMPT, type OpenAiSettings } from './index'

interface OpenAiImagesAnswer {
  data?: unknown
  usage?: {
    input_tokens?: unknown
    input_tokens_details?: { image_tokens?: unknown; text_tokens?: unknown }
    output_tokens?: unknown
    output_tokens_details?: { image_tokens?: unknown; text_tokens?: unknown }
  }
}

const count = (value: unknown): number | null => (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : null)

/**
 * Token usage where the model reports it. gpt-image-1's output is image tokens (newer answers split them out in
 * output_tokens_details); without any usage a token-billed model is billed the most its images could bill.
 */
function imagesUsage(answer: OpenAiImagesAnswer, images: number, tokenBilled: boolean, outputTokensPerImage: number): ProviderUsage {
  const usage = answer.usage
  const input = count(usage?.input_tokens)
  const output = count(usage?.output_tokens)
  if (tokenBilled && input !== null && output !== null) {
    return {
      inputTokens: input,
      outputTokens: output,
      cachedInputTokens: 0,
      cacheWriteTokens: 0,
      reasoningTokens: 0,
      imageInputTokens: count(usage?.input_tokens_details?.image_tokens) ?? 0,
      imageOutputTokens: count(usage?.output_tokens_details?.image_tokens) ?? output,
      images,
    }
  }
  const worst = tokenBilled ? images * outputTokensPerImage : 0
  return { inputTokens: 0, outputTokens: worst, cachedInputTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0, imageOutputTokens: worst, images }
}

export function createOpenAiImages(settings: OpenAiSettings): ImagesAdapter {
  const secrets = [settings.apiKey]
  const url = `${settings.baseUrl}/images/generations`
  const headers: Record<string, string> = settings.apiKey ? { authorization: `Bearer ${settings.apiKey}` } : {}
  return {
    id: 'openai',
    textMargin: OPENAI_PROMPT.textMargin,
    prepare(call) {
      const body: Record<string, unknown> = { ...call.body, model: call.model.upstreamModel, n: call.n, quality: call.quality, size: call.size }
      if (call.model.images?.outputTokens) {
        // GPT Image models always answer base64 and take no response_format (OpenAI's API reference).
        if (body.response_format === 'url') throw new InvalidRequestError(`'${call.model.id}' answers base64 images only: leave out response_format or send "b64_json".`, 'response_format', 'unsupported_value')
        delete body.response_format
      }
      return { url, headers, body: JSON.stringify(body) }
    },
    send: (request, signal) => postJson(request.url, request.headers, request.body, signal),
    read(body, call) {
      const answer = parseJsonOrNull(body) as OpenAiImagesAnswer | null
      if (!answer || !Array.isArray(answer.data)) throw new UpstreamError('The openai upstream answered an image request with something that is not an image list.', 'upstream_bad_response')
      // More images than asked for are not billed: the hold covered n.
      const images = Math.min(answer.data.length, call.n)
      return { body, usage: imagesUsage(answer, images, call.model.images?.outputTokens != null, call.outputTokensPerImage) }
    },
    readError: (status, body, responseHeaders) => readOpenAiError(status, body, responseHeaders, secrets),
  }
}
