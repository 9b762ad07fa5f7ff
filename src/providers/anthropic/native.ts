// The Messages API spoken natively: client bodies go to Anthropic as written (model and cap set), answers and events come back unchanged, metered.
import { InvalidRequestError, UpstreamError, type GatewayError } from '../../errors'
import type { NativeMessagesApi, NativeMessagesRelay, ProviderUsage, StreamSink, UpstreamRequest } from '../types'
import { anthropicStreamError } from './errors'
import { AnthropicUsageTally, readAnthropicUsage } from './usage'
import type { AnthropicResponse, AnthropicResponseBlock, AnthropicStreamEvent } from './wire'

interface Endpoint {
  url: string
  headers: Record<string, string>
}

/** Everything a block generated that Anthropic bills as output: text, tool names and inputs, thinking. */
function blockOutput(block: AnthropicResponseBlock): string {
  if (block.type === 'text' && typeof block.text === 'string') return block.text
  if (block.type === 'tool_use' && typeof block.name === 'string') return block.name + JSON.stringify(block.input ?? {})
  if (block.type === 'thinking' && typeof block.thinking === 'string') return block.thinking
  return ''
}

/** The generated piece of one content_block_delta event (text, tool input JSON, thinking); '' for the rest. */
export function readDeltaOutput(data: string): string {
  try {
    const delta = (JSON.parse(data) as AnthropicStreamEvent).delta
    if (!delta) return ''
    if (delta.type === 'text_delta') return delta.text ?? ''
    if (delta.type === 'input_json_delta') return delta.partial_json ?? ''
    if (delta.type === 'thinking_delta') return delta.thinking ?? ''
  } catch {
    // A delta that does not parse carries nothing we could count.
  }
  return ''
}

// Anthropic writes every event with this prefix, so a delta is told apart without parsing it.
const DELTA_PREFIX = '{"type":"content_block_delta"'

function createStreamRelay(sink: StreamSink, secrets: readonly string[]): NativeMessagesRelay {
  const tally = new AnthropicUsageTally()
  let failed = false
  let openBlock: number | null = null

  function reportUsage(): void {
    const usage = tally.once()
    if (!usage) return
    // No OpenAI usage chunk: the client reads usage from the events themselves.
    sink.usage(usage, '')
  }

  function fail(error: GatewayError): void {
    failed = true
    sink.fail(error)
  }

  return {
    onEvent(event, data) {
      if (failed) return
      const frame = event === 'message' ? `data: ${data}\n\n` : `event: ${event}\ndata: ${data}\n\n`
      if (data.startsWith(DELTA_PREFIX)) {
        sink.outputLater(data, readDeltaOutput)
        sink.chunk(frame)
        return
      }
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
      switch (parsed.type) {
        case 'message_start':
          tally.take(parsed.message?.usage)
          break
        case 'message_delta':
          tally.take(parsed.usage)
          break
        case 'content_block_start': {
          if (typeof parsed.index === 'number') openBlock = parsed.index
          const block = parsed.content_block
          if (block?.type === 'tool_use' && typeof block.name === 'string' && block.name !== '') sink.output(block.name, 'tool')
          break
        }
        case 'content_block_delta': {
          const piece = readDeltaOutput(data)
          if (piece !== '') sink.output(piece, parsed.delta?.type === 'thinking_delta' ? 'reasoning' : 'text')
          break
        }
        case 'content_block_stop':
          if (parsed.index === openBlock) openBlock = null
          break
        case 'error':
          // Framed by the relay in the client's format, like every failure after the first byte.
          fail(anthropicStreamError(parsed.error, secrets))
          return
      }
      sink.chunk(frame)
      if (parsed.type === 'message_stop') {
        reportUsage()
        sink.complete()
      }
    },
    openBlock: () => openBlock,
    onEnd() {
      // A stream cut short still consumed what message_start and message_delta reported.
      reportUsage()
    },
  }
}

function readMessage(body: string): { text: string; usage: ProviderUsage | null } {
  let parsed: AnthropicResponse | null
  try {
    parsed = JSON.parse(body)
  } catch {
    throw new UpstreamError('The anthropic upstream returned a response that is not JSON.', 'upstream_bad_response')
  }
  if (parsed === null || typeof parsed !== 'object' || !Array.isArray(parsed.content)) {
    throw new UpstreamError('The anthropic upstream returned a response without a content array.', 'upstream_bad_response')
  }
  let text = ''
  for (const block of parsed.content as AnthropicResponseBlock[]) {
    if (block !== null && typeof block === 'object') text += blockOutput(block)
  }
  return { text, usage: readAnthropicUsage(parsed.usage) }
}

/**
 * Tools Anthropic defines and the client runs (or that cost only tokens): their prompts are Anthropic's, so the hold
 * counts them as unmeasured (src/anthropic/measure.ts). Every other typed tool runs at Anthropic and is billed per use
 * (web search per search, code execution per container hour), which no token hold bounds.
 */
const TOKEN_ONLY_TOOL_PREFIXES = ['bash_', 'text_editor_', 'computer_', 'memory_', 'web_fetch_']

/** Refuses what Anthropic would bill beyond tokens: a 400 before anything is held, rather than a bill the hold did not cover. */
function refuseBilledBeyondTokens(body: Record<string, unknown>): void {
  const tools = body.tools
  if (!Array.isArray(tools)) return
  tools.forEach((tool: { type?: unknown }, i) => {
    const type = tool?.type
    if (type === undefined || type === 'custom' || (typeof type === 'string' && TOKEN_ONLY_TOOL_PREFIXES.some((prefix) => type.startsWith(prefix)))) return
    throw new InvalidRequestError(
      `The tool type '${String(type)}' is not supported: Anthropic bills it per use, beyond tokens, which the gateway's hold cannot bound.`,
      `tools[${i}].type`,
    )
  })
}

/** Messages API fields that shape the answer, not the prompt: count_tokens has no place for them. */
const NOT_THE_PROMPT = new Set(['max_tokens', 'stream', 'temperature', 'top_p', 'top_k', 'stop_sequences', 'metadata', 'service_tier'])

export function createNativeMessages(messages: Endpoint, countTokens: Endpoint, secrets: readonly string[]): NativeMessagesApi {
  return {
    prepare(body, upstreamModel, maxTokens): UpstreamRequest {
      refuseBilledBeyondTokens(body)
      // Spread keeps the client's fields in their order; only these two are the gateway's.
      return { url: messages.url, headers: messages.headers, body: JSON.stringify({ ...body, model: upstreamModel, max_tokens: maxTokens }) }
    },
    prepareCountTokens(body, upstreamModel): UpstreamRequest {
      // A whole Messages body may be counted as it is; Anthropic's count_tokens refuses the fields that are not the prompt.
      const prompt: Record<string, unknown> = {}
      for (const [field, value] of Object.entries(body)) if (!NOT_THE_PROMPT.has(field)) prompt[field] = value
      return { url: countTokens.url, headers: countTokens.headers, body: JSON.stringify({ ...prompt, model: upstreamModel }) }
    },
    createStreamRelay: (sink) => createStreamRelay(sink, secrets),
    readMessage,
  }
}
