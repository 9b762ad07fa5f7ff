// OpenAI-format answers read as they are: completions pass through byte for byte, stream chunks are observed and relayed.
import { UpstreamError } from '../../errors'
import type { CompletionResult, OutputKind, ResponseIdentity, StreamSink, StreamTranslator } from '../types'
import { upstreamError, type UpstreamErrorInfo } from '../upstream-errors'
import { EnvelopeBound } from './generated-bound'
import { readOpenAiUsage } from './usage'

/** A message or a delta: every field that carries generated (billed) tokens. */
interface Generated {
  content?: unknown
  refusal?: unknown
  /** Visible reasoning, as OpenAI-compatible upstreams (DeepSeek, vLLM, OpenRouter) send it. */
  reasoning_content?: unknown
  reasoning?: unknown
  tool_calls?: { function?: { name?: unknown; arguments?: unknown } }[] | null
}

interface Choice {
  message?: Generated
  delta?: Generated
}

/** Calls out(text, kind) for every generated piece of a message or delta, in the order a client sees them. */
function eachGenerated(part: Generated | undefined, out: (text: string, kind: OutputKind) => void): void {
  if (!part) return
  const reasoning = typeof part.reasoning_content === 'string' ? part.reasoning_content : part.reasoning
  if (typeof reasoning === 'string' && reasoning !== '') out(reasoning, 'reasoning')
  if (typeof part.content === 'string' && part.content !== '') out(part.content, 'text')
  if (typeof part.refusal === 'string' && part.refusal !== '') out(part.refusal, 'refusal')
  if (Array.isArray(part.tool_calls)) {
    for (const call of part.tool_calls) {
      const name = call?.function?.name
      if (typeof name === 'string' && name !== '') out(name, 'tool')
      const args = call?.function?.arguments
      if (typeof args === 'string' && args !== '') out(args, 'tool')
    }
  }
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
  for (const choice of parsed.choices) eachGenerated(choice?.message, (piece) => (text += piece))
  return { body, text, usage: readOpenAiUsage(parsed.usage) }
}

const USAGE_NULL_SUFFIX = ',"usage":null}'

/** Everything generated in one stream chunk (text of every choice, refusals, tool names and arguments). */
export function readChunkOutput(chunkJson: string): string {
  let text = ''
  try {
    const chunk = JSON.parse(chunkJson) as { choices?: Choice[] }
    for (const choice of chunk.choices ?? []) eachGenerated(choice?.delta, (piece) => (text += piece))
  } catch {
    // Checked for shape before it was relayed; a chunk that still does not parse carries nothing we could count.
  }
  return text
}

/**
 * An ordinary content chunk, told apart without parsing it: a JSON object, no usage in it, not an error. These are
 * relayed as they came (the measured cost of parsing every chunk was about a third of a stream's CPU) and read for
 * counting only when they must be.
 */
function isPlainChunk(data: string): boolean {
  // We always ask for usage, so OpenAI ends every content chunk with "usage":null: no scan needed for those.
  if (data.endsWith(USAGE_NULL_SUFFIX)) return !data.startsWith('{"error"')
  return data.charCodeAt(0) === 123 && data.charCodeAt(data.length - 1) === 125 && !data.startsWith('{"error"') && !data.includes('"usage":{')
}

type StreamErrorFor = (info: Omit<UpstreamErrorInfo, 'provider' | 'status'> & { status?: number }) => ReturnType<typeof upstreamError>

/**
 * Relays OpenAI chunks as they came. We always ask the upstream for usage; when the client did not,
 * the usage chunk is withheld and the `"usage":null` the upstream then adds to every chunk is removed.
 */
export function createOpenAiStreamTranslator(sink: StreamSink, identity: ResponseIdentity, errorFor: StreamErrorFor, provider: string): StreamTranslator {
  return new OpenAiStreamTranslator(sink, identity.includeUsage, errorFor, provider)
}

/** A class, not an object of closures: one lives as long as its stream, and 10,000 streams hold 10,000 of them. */
class OpenAiStreamTranslator implements StreamTranslator {
  /** Bounds this stream's chunks for a budget, its envelope scanned once (src/providers/openai/generated-bound.ts). */
  private readonly bound = new EnvelopeBound()

  constructor(
    private readonly sink: StreamSink,
    private readonly includeUsage: boolean,
    private readonly errorFor: StreamErrorFor,
    private readonly provider: string,
  ) {}

  onEvent(_event: string, data: string): void {
    const { sink } = this
    if (data === '[DONE]') {
      sink.complete()
      return
    }
    if (isPlainChunk(data)) {
      // We always ask for usage; a client that did not gets its chunks without the "usage":null that adds.
      const relayed = this.includeUsage || !data.includes('"usage":null') ? data : data.endsWith(USAGE_NULL_SUFFIX) ? data.slice(0, -USAGE_NULL_SUFFIX.length) + '}' : null
      if (relayed !== null) {
        sink.outputLater(data, readChunkOutput, this.bound)
        sink.chunk(relayed)
        return
      }
    }
    let chunk: { choices?: Choice[]; usage?: Parameters<typeof readOpenAiUsage>[0]; error?: { message?: string; type?: string; code?: string } }
    try {
      chunk = JSON.parse(data)
    } catch {
      sink.fail(new UpstreamError(`The ${this.provider} upstream sent a stream event that is not JSON.`, 'upstream_bad_response'))
      return
    }
    if (chunk.error) {
      sink.fail(this.errorFor({ status: 500, message: chunk.error.message ?? 'stream error', type: chunk.error.type, code: chunk.error.code }))
      return
    }
    const choices = chunk.choices ?? []
    for (const choice of choices) eachGenerated(choice?.delta, (piece, kind) => sink.output(piece, kind))
    const usage = readOpenAiUsage(chunk.usage)
    if (usage && choices.length === 0) {
      sink.usage(usage, data)
      return
    }
    if (usage) sink.usage(usage, '')
    if (this.includeUsage || chunk.usage !== null) sink.chunk(data)
    else if (data.endsWith(USAGE_NULL_SUFFIX)) sink.chunk(data.slice(0, -USAGE_NULL_SUFFIX.length) + '}')
    else {
      delete chunk.usage
      sink.chunk(JSON.stringify(chunk))
    }
  }

  onEnd(): void {}
}
