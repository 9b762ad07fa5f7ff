// OpenAI-format answers read as they are: completions pass through byte for byte, stream chunks are observed and relayed.
import { UpstreamError } from '../../errors'
import type { CompletionResult, ResponseIdentity, StreamSink, StreamTranslator } from '../types'
import { upstreamError, type UpstreamErrorInfo } from '../upstream-errors'
import { readOpenAiUsage } from './usage'

interface Choice {
  message?: { content?: unknown; tool_calls?: { function?: { arguments?: unknown } }[] | null }
  delta?: { content?: unknown; tool_calls?: { function?: { arguments?: unknown } }[] | null }
}

function generatedText(part: Choice['message']): string {
  if (!part) return ''
  let text = typeof part.content === 'string' ? part.content : ''
  if (Array.isArray(part.tool_calls)) {
    for (const call of part.tool_calls) {
      const args = call?.function?.arguments
      if (typeof args === 'string') text += args
    }
  }
  return text
}

export function readOpenAiCompletion(body: string, provider: string): CompletionResult {
  let parsed: { choices?: Choice[]; usage?: Parameters<typeof readOpenAiUsage>[0] }
  try {
    parsed = JSON.parse(body)
  } catch {
    throw new UpstreamError(`The ${provider} upstream returned a response that is not JSON.`, 'upstream_bad_response')
  }
  if (!parsed || !Array.isArray(parsed.choices)) {
    throw new UpstreamError(`The ${provider} upstream returned a response without choices.`, 'upstream_bad_response')
  }
  let text = ''
  for (const choice of parsed.choices) text += generatedText(choice?.message)
  return { body, text, usage: readOpenAiUsage(parsed.usage) }
}

const USAGE_NULL_SUFFIX = ',"usage":null}'

/**
 * Relays OpenAI chunks as they came. We always ask the upstream for usage; when the client did not,
 * the usage chunk is withheld and the `"usage":null` the upstream then adds to every chunk is removed.
 */
export function createOpenAiStreamTranslator(
  sink: StreamSink,
  identity: ResponseIdentity,
  errorFor: (info: Omit<UpstreamErrorInfo, 'provider' | 'status'> & { status?: number }) => ReturnType<typeof upstreamError>,
  provider: string,
): StreamTranslator {
  return {
    onEvent(_event, data) {
      if (data === '[DONE]') {
        sink.complete()
        return
      }
      let chunk: { choices?: Choice[]; usage?: Parameters<typeof readOpenAiUsage>[0]; error?: { message?: string; type?: string; code?: string } }
      try {
        chunk = JSON.parse(data)
      } catch {
        sink.fail(new UpstreamError(`The ${provider} upstream sent a stream event that is not JSON.`, 'upstream_bad_response'))
        return
      }
      if (chunk.error) {
        sink.fail(errorFor({ status: 500, message: chunk.error.message ?? 'stream error', type: chunk.error.type, code: chunk.error.code }))
        return
      }
      const choices = chunk.choices ?? []
      for (const choice of choices) {
        const text = generatedText(choice?.delta)
        if (text) sink.text(text)
      }
      const usage = readOpenAiUsage(chunk.usage)
      if (usage && choices.length === 0) {
        sink.usage(usage, data)
        return
      }
      if (usage) sink.usage(usage, '')
      if (identity.includeUsage || chunk.usage !== null) sink.chunk(data)
      else if (data.endsWith(USAGE_NULL_SUFFIX)) sink.chunk(data.slice(0, -USAGE_NULL_SUFFIX.length) + '}')
      else {
        delete chunk.usage
        sink.chunk(JSON.stringify(chunk))
      }
    },
    onEnd() {},
  }
}
