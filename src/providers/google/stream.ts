// Translates Gemini's alt=sse stream (one whole GenerateContentResponse per event) into OpenAI chat.completion.chunks.
import { UpstreamError, type GatewayError } from '../../errors'
import { chunkHead, deltaChunk, usageChunk } from '../openai-format'
import type { ResponseIdentity, StreamSink, StreamTranslator } from '../types'
import { mapFinishReason } from './finish'
import { newToolCallId } from './tool-calls'
import { readGeminiUsage } from './usage'
import type { GeminiErrorObject, GeminiResponse, GeminiUsageMetadata } from './wire'

export function createGeminiStreamTranslator(
  sink: StreamSink,
  identity: ResponseIdentity,
  errorFor: (error: GeminiErrorObject) => GatewayError,
): StreamTranslator {
  const head = chunkHead(identity)
  let started = false
  let finished = false
  let failed = false
  let toolCalls = 0
  let ended = false
  // usageMetadata rides on every event and is cumulative: keep the latest, read it once at the end.
  let usageMetadata: GeminiUsageMetadata | undefined

  function fail(error: GatewayError): void {
    failed = true
    sink.fail(error)
  }

  return {
    onEvent(_event, data) {
      if (failed) return
      let event: GeminiResponse
      try {
        event = JSON.parse(data)
      } catch {
        fail(new UpstreamError('The google upstream sent a stream event that is not JSON.', 'upstream_bad_response'))
        return
      }
      if (event === null || typeof event !== 'object') {
        fail(new UpstreamError('The google upstream sent a stream event that is not an object.', 'upstream_bad_response'))
        return
      }
      if (event.error) {
        fail(errorFor(event.error))
        return
      }
      if (event.usageMetadata) usageMetadata = event.usageMetadata
      if (!started) {
        started = true
        sink.chunk(deltaChunk(head, { role: 'assistant', content: '' }))
      }

      const candidate = event.candidates?.[0]
      if (candidate === undefined) {
        if (event.promptFeedback?.blockReason && !finished) {
          finished = true
          sink.chunk(deltaChunk(head, {}, 'content_filter'))
          sink.complete()
        }
        return
      }
      const parts = candidate.content?.parts
      if (parts !== undefined) {
        for (const part of parts) {
          const text = part.text
          if (typeof text === 'string') {
            if (text === '') continue
            if (part.thought === true) {
              // Thought summaries are billed as output (thoughtsTokenCount) but not shown to OpenAI clients.
              sink.output(text, 'reasoning')
              continue
            }
            sink.output(text, 'text')
            sink.chunk(deltaChunk(head, { content: text }))
          } else if (part.functionCall) {
            // Gemini sends a call whole, so it goes out as one delta carrying id, name and all its arguments.
            const args = JSON.stringify(part.functionCall.args ?? {})
            const call = { index: toolCalls++, id: newToolCallId(), type: 'function', function: { name: part.functionCall.name ?? '', arguments: args } }
            sink.output(call.function.name + args, 'tool')
            sink.chunk(deltaChunk(head, { tool_calls: [call] }))
          }
        }
      }
      if (candidate.finishReason !== undefined && !finished) {
        finished = true
        sink.chunk(deltaChunk(head, {}, mapFinishReason(candidate.finishReason, toolCalls > 0)))
        // Gemini has no end-of-stream marker: the event with finishReason (and the full usage) is the last one.
        sink.complete()
      }
    },
    onEnd() {
      // Also after a failure: a stream cut short still consumed its prompt, and the meter bills the larger output count.
      if (ended) return
      ended = true
      const usage = readGeminiUsage(usageMetadata)
      if (usage) sink.usage(usage, usageChunk(head, usage))
    },
  }
}
