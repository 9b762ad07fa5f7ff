// Anthropic's stream events written from an OpenAI-form chunk stream (translated providers): message_start, content blocks, message_delta, message_stop.
import type { ProviderUsage, StreamSink, StreamTranslator } from '../providers/types'
import { messagesUsage, stopReasonOf, type StopReason } from './usage'

/** One SSE event in Anthropic's framing: the event name is the data's type. */
export function sseEvent(type: string, data: Record<string, unknown>): string {
  return `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`
}

/** The events that end a message: the open block's stop, the stop reason with the usage, message_stop. */
export function closingEvents(openBlock: number | null, stopReason: StopReason, usage: Record<string, number>): string {
  const stop = openBlock === null ? '' : sseEvent('content_block_stop', { index: openBlock })
  return stop + sseEvent('message_delta', { delta: { stop_reason: stopReason, stop_sequence: null }, usage }) + sseEvent('message_stop', {})
}

export interface EventsIdentity {
  /** msg_… id of the message. */
  id: string
  /** The model named until the upstream names its own. */
  model: string
  /** Our count of the prompt, what message_start says until the provider's usage comes with message_delta. */
  promptTokens: number
}

interface ToolCallDelta {
  index?: number
  id?: string
  function?: { name?: string; arguments?: string }
}

interface Chunk {
  model?: unknown
  choices?: { delta?: { content?: unknown; tool_calls?: ToolCallDelta[] | null }; finish_reason?: string | null }[]
}

/**
 * Sits between a provider's OpenAI-form translator and the relay: every chunk becomes Anthropic events, the output and
 * usage pass on to the meter, and the message is closed once the provider marked its end and its usage is in (Gemini
 * reports usage only when its stream ends, so the close waits for the translator's end).
 */
export class AnthropicEventWriter {
  private started = false
  private model: string
  private openBlock: { index: number; kind: 'text' | 'tool' } | null = null
  private nextBlock = 0
  private readonly blockOfTool = new Map<number, number>()
  private finishReason: string | null = null
  private usage: ProviderUsage | null = null
  private completed = false
  private closed = false

  constructor(private readonly identity: EventsIdentity) {
    this.model = identity.model
  }

  /** The provider's translator (built by translatorFor on the writer's sink), with the message closed at its end. */
  translator(down: StreamSink, translatorFor: (sink: StreamSink) => StreamTranslator): StreamTranslator {
    const inner = translatorFor(this.sinkOver(down))
    return {
      onEvent: (event, data) => inner.onEvent(event, data),
      onEnd: () => {
        inner.onEnd()
        if (!this.completed || this.closed) return
        this.closed = true
        down.chunk(this.start() + closingEvents(this.openIndex(), stopReasonOf(this.finishReason), this.finalUsage()))
      },
    }
  }

  /** The end of an answer a budget cut: billed for what was delivered, so that is what it reports. */
  cut(outputTokens: number): string[] {
    if (this.closed) return []
    this.closed = true
    const usage = { ...this.finalUsage(), output_tokens: outputTokens }
    return [this.start() + closingEvents(this.openIndex(), 'max_tokens', usage)]
  }

  private openIndex(): number | null {
    return this.openBlock?.index ?? null
  }

  private finalUsage(): Record<string, number> {
    return { ...messagesUsage(this.usage, this.identity.promptTokens) }
  }

  /** message_start, the first time anything is written. */
  private start(): string {
    if (this.started) return ''
    this.started = true
    return sseEvent('message_start', {
      message: {
        id: this.identity.id,
        type: 'message',
        role: 'assistant',
        model: this.model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { input_tokens: this.identity.promptTokens, output_tokens: 0 },
      },
    })
  }

  private openNew(kind: 'text' | 'tool', block: Record<string, unknown>): string {
    const close = this.openBlock ? sseEvent('content_block_stop', { index: this.openBlock.index }) : ''
    const index = this.nextBlock++
    this.openBlock = { index, kind }
    return close + sseEvent('content_block_start', { index, content_block: block })
  }

  private eventsOf(chunkJson: string): string {
    let chunk: Chunk
    try {
      chunk = JSON.parse(chunkJson)
    } catch {
      // Translators only hand on chunks that parsed; one that does not carries nothing to show.
      return ''
    }
    if (!this.started && typeof chunk.model === 'string' && chunk.model !== '') this.model = chunk.model
    let out = this.start()
    const choice = chunk.choices?.[0]
    if (!choice) return out
    const delta = choice.delta
    if (typeof delta?.content === 'string' && delta.content !== '') {
      if (this.openBlock?.kind !== 'text') out += this.openNew('text', { type: 'text', text: '' })
      out += sseEvent('content_block_delta', { index: this.openBlock!.index, delta: { type: 'text_delta', text: delta.content } })
    }
    for (const call of delta?.tool_calls ?? []) {
      const toolIndex = typeof call.index === 'number' ? call.index : 0
      let block = this.blockOfTool.get(toolIndex)
      if (block === undefined || (typeof call.id === 'string' && call.id !== '')) {
        out += this.openNew('tool', { type: 'tool_use', id: call.id ?? `toolu_${this.identity.id}_${toolIndex}`, name: call.function?.name ?? '', input: {} })
        block = this.openBlock!.index
        this.blockOfTool.set(toolIndex, block)
      }
      const args = call.function?.arguments
      if (typeof args === 'string' && args !== '') {
        out += sseEvent('content_block_delta', { index: block, delta: { type: 'input_json_delta', partial_json: args } })
      }
    }
    if (choice.finish_reason) this.finishReason = choice.finish_reason
    return out
  }

  private sinkOver(down: StreamSink): StreamSink {
    return {
      chunk: (json) => {
        const events = this.eventsOf(json)
        if (events !== '') down.chunk(events)
      },
      output: (delta, kind) => down.output(delta, kind),
      outputLater: (chunkJson, read, bytesAtMost) => down.outputLater(chunkJson, read, bytesAtMost),
      usage: (usage) => {
        this.usage = usage
        // The client reads usage from message_delta, never from an OpenAI usage chunk.
        down.usage(usage, '')
      },
      fail: (error) => down.fail(error),
      complete: () => {
        this.completed = true
        down.complete()
      },
    }
  }
}
