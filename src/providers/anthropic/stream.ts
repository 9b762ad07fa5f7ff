// Translates Messages API stream events into OpenAI chat.completion.chunk JSON, one event at a time.
import { UpstreamError } from '../../errors'
import { chunkHead, deltaChunk, usageChunk } from '../openai-format'
import type { ResponseIdentity, StreamSink, StreamTranslator } from '../types'
import { anthropicStreamError } from './errors'
import { AnthropicUsageTally, finishReasonOf } from './usage'
import type { AnthropicStreamEvent } from './wire'

export function createAnthropicStreamTranslator(
  sink: StreamSink,
  identity: ResponseIdentity,
  secrets: readonly string[],
): StreamTranslator {
  let head = chunkHead(identity)
  const tally = new AnthropicUsageTally()
  let finishSent = false
  let failed = false
  let toolCount = 0
  // OpenAI numbers tool calls from 0; Anthropic numbers every content block, text included.
  const toolIndexOfBlock: number[] = []

  function reportUsage(): void {
    const usage = tally.once()
    if (!usage) return
    sink.usage(usage, usageChunk(head, usage))
  }

  function fail(error: Parameters<StreamSink['fail']>[0]): void {
    failed = true
    sink.fail(error)
  }

  return {
    onEvent(event, data) {
      if (failed || event === 'ping') return
      let parsed: AnthropicStreamEvent | null
      try {
        parsed = JSON.parse(data)
      } catch {
        fail(new UpstreamError('The anthropic upstream sent a stream event that is not JSON.', 'upstream_bad_response'))
        return
      }
      if (parsed === null || typeof parsed !== 'object') {
        fail(new UpstreamError('The anthropic upstream sent a stream event that is not an object.', 'upstream_bad_response'))
        return
      }
      switch (parsed.type ?? event) {
        case 'content_block_delta': {
          const delta = parsed.delta
          if (!delta) return
          if (delta.type === 'text_delta') {
            const text = delta.text
            if (!text) return
            sink.output(text, 'text')
            sink.chunk(deltaChunk(head, { content: text }))
          } else if (delta.type === 'input_json_delta') {
            const json = delta.partial_json
            const index = toolIndexOfBlock[parsed.index ?? -1]
            if (!json || index === undefined) return
            sink.output(json, 'tool')
            sink.chunk(deltaChunk(head, { tool_calls: [{ index, function: { arguments: json } }] }))
          } else if (delta.type === 'thinking_delta' && typeof delta.thinking === 'string' && delta.thinking !== '') {
            // Billed as output though OpenAI clients have no place for it: counted, not shown.
            sink.output(delta.thinking, 'reasoning')
          }
          // signature_delta carries no tokens of its own.
          return
        }
        case 'content_block_start': {
          const block = parsed.content_block
          if (block?.type !== 'tool_use' || typeof parsed.index !== 'number') return
          const index = toolCount++
          toolIndexOfBlock[parsed.index] = index
          if (typeof block.name === 'string' && block.name !== '') sink.output(block.name, 'tool')
          sink.chunk(
            deltaChunk(head, { tool_calls: [{ index, id: block.id, type: 'function', function: { name: block.name, arguments: '' } }] }),
          )
          return
        }
        case 'message_start': {
          const message = parsed.message
          // The upstream names its exact model version here; every later chunk carries it.
          if (typeof message?.model === 'string' && message.model !== '' && message.model !== identity.model) {
            head = chunkHead({ ...identity, model: message.model })
          }
          tally.take(message?.usage)
          sink.chunk(deltaChunk(head, { role: 'assistant', content: '' }))
          return
        }
        case 'message_delta':
          tally.take(parsed.usage)
          if (!finishSent) {
            finishSent = true
            sink.chunk(deltaChunk(head, {}, finishReasonOf(parsed.delta?.stop_reason)))
          }
          return
        case 'message_stop':
          reportUsage()
          sink.complete()
          return
        case 'error':
          fail(anthropicStreamError(parsed.error, secrets))
          return
        default:
          // content_block_stop, ping sent as data, and event types newer than this adapter.
          return
      }
    },
    onEnd() {
      // A stream cut short still consumed the tokens message_start and message_delta reported.
      reportUsage()
    },
  }
}
