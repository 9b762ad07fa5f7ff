// A hostile fake of OpenAI, Anthropic and Gemini: records every request it receives and bills the most it could for it.
import type { Server } from 'bun'
import { get_encoding } from 'tiktoken'
import { buildCatalog } from '../../src/pricing/catalog'
import {
  anthropicJson,
  anthropicStream,
  geminiJson,
  geminiStream,
  openAiJson,
  openAiStream,
  type HostileAnswer,
  type HostileChoice,
  type HostileToolCall,
  type StreamItem,
} from './hostile-wire'

/**
 * What the fake generates, picked by `hostile:<scenario>` in the request (default `max`). Output is always the most a
 * provider could bill: the output cap it received (the largest, if it received several) times n, or the model's max
 * output when it received no cap.
 * max        all of it as visible text, one token per word, 64 words per chunk
 * reasoning  all but two tokens as hidden reasoning (completion_tokens_details.reasoning_tokens), then "Done."
 * refusal    all of it as `delta.refusal` pieces (OpenAI)
 * tools      tool calls with names of ~120 tokens each and `{}` arguments, as many as fit (OpenAI)
 * brief      a two-token reply billed as such (for tests that only look at what was sent)
 * `bill-input:<N>` makes the fake report N prompt tokens (e.g. a file it read); otherwise it counts the text it received.
 * `think-ms:<N>` makes it pause N ms before the first token (reasoning pauses 20 gaps), keeping many requests in flight.
 */
export type HostileScenario = 'max' | 'reasoning' | 'refusal' | 'tools' | 'brief'

/** The text to put in the last user message to steer the fake; `tag` lets a test find its own requests. */
export function hostileMarker(scenario: HostileScenario, options: { billInput?: number; thinkMs?: number; tag?: string } = {}): string {
  const parts = [`hostile:${scenario}`]
  if (options.billInput !== undefined) parts.push(`bill-input:${options.billInput}`)
  if (options.thinkMs !== undefined) parts.push(`think-ms:${options.thinkMs}`)
  if (options.tag !== undefined) parts.push(`tag:${options.tag}`)
  return parts.join(' ')
}

export type HostileProvider = 'openai' | 'anthropic' | 'gemini'

export interface ReceivedRequest {
  provider: HostileProvider
  path: string
  headers: Record<string, string>
  body: Record<string, unknown>
  /** The model the request names (Gemini: from the path). */
  model: string
  /** What the fake billed for it. */
  promptTokens: number
  outputTokens: number
}

export interface HostileUpstream {
  url: string
  requests: ReceivedRequest[]
  /** The requests whose body carries `tag:<tag>`. */
  tagged(tag: string): ReceivedRequest[]
  stop(): void
}

export interface HostileOptions {
  /** Output tokens a model generates when it received no cap; by default the catalog's max output of that upstream id. */
  maxOutputFor?: (upstreamModel: string) => number
  /** Pause between stream events (ms), so samplers see holds open; JSON answers wait ten of these. */
  gapMs?: number
}

const encoder = new TextEncoder()
const tiktoken = get_encoding('o200k_base')
const countTokens = (text: string) => (text.length === 0 ? 0 : tiktoken.encode_ordinary(text).length)

const WORDS_PER_PIECE = 64
/** Both are one o200k token each, so n words are n tokens. */
const TEXT_WORD = ' word'
const REFUSAL_WORD = ' no'

function catalogMaxOutput(): (upstreamModel: string) => number {
  const byUpstream = new Map(buildCatalog().models.map((model) => [model.upstreamModel, model.maxOutputTokens]))
  return (upstreamModel) => {
    const max = byUpstream.get(upstreamModel)
    if (max === undefined) throw new Error(`hostile upstream: ${upstreamModel} is not in the catalog`)
    return max
  }
}

/** `tokens` one-token words in pieces of 64. */
function pieces(tokens: number, word: string): string[] {
  const out: string[] = []
  for (let left = tokens; left > 0; left -= WORDS_PER_PIECE) out.push(word.repeat(Math.min(WORDS_PER_PIECE, left)))
  return out
}

/** Tool calls with long names until the next one would pass the budget; returns them and the tokens they cost. */
function longNamedToolCalls(budget: number): { calls: HostileToolCall[]; tokens: number } {
  const calls: HostileToolCall[] = []
  let tokens = 0
  for (let k = 0; ; k++) {
    const call = { name: `lookup_${k}_${'no_'.repeat(120)}end`, arguments: '{}' }
    const cost = countTokens(call.name) + countTokens(call.arguments)
    if (tokens + cost > budget) return { calls, tokens }
    calls.push(call)
    tokens += cost
  }
}

/** Prompt tokens as OpenAI frames chat: 3 per message, the role, the text, 1 more for a name, 3 to prime the reply. */
function openAiPromptTokens(body: Record<string, unknown>): number {
  let tokens = 3
  for (const message of (body.messages ?? []) as Record<string, unknown>[]) {
    tokens += 3 + countTokens(String(message.role))
    if (typeof message.content === 'string') tokens += countTokens(message.content)
    else if (Array.isArray(message.content)) tokens += textTokensIn(message.content)
    if (typeof message.name === 'string') tokens += 1 + countTokens(message.name)
  }
  if (Array.isArray(body.tools) && body.tools.length > 0) tokens += countTokens(JSON.stringify(body.tools))
  return tokens
}

/** Every `text` string anywhere in a value (Anthropic's and Gemini's bodies keep prompt text there). */
function textTokensIn(value: unknown): number {
  if (Array.isArray(value)) return value.reduce((sum: number, item) => sum + textTokensIn(item), 0)
  if (value === null || typeof value !== 'object') return 0
  let tokens = 0
  for (const [key, item] of Object.entries(value)) tokens += key === 'text' && typeof item === 'string' ? countTokens(item) : textTokensIn(item)
  return tokens
}

/** The output cap (the largest, if several) and the number of choices the request asks for, in the provider's fields. */
function capsOf(provider: HostileProvider, body: Record<string, unknown>): { cap: number | null; n: number } {
  const numbers = (...values: unknown[]) => values.filter((v): v is number => typeof v === 'number')
  if (provider === 'openai') {
    const caps = numbers(body.max_tokens, body.max_completion_tokens)
    return { cap: caps.length > 0 ? Math.max(...caps) : null, n: typeof body.n === 'number' ? body.n : 1 }
  }
  if (provider === 'anthropic') return { cap: numbers(body.max_tokens)[0] ?? null, n: 1 }
  const config = (body.generationConfig ?? {}) as Record<string, unknown>
  return { cap: numbers(config.maxOutputTokens)[0] ?? null, n: numbers(config.candidateCount)[0] ?? 1 }
}

function generate(scenario: HostileScenario, perChoice: number, n: number): Pick<HostileAnswer, 'choices' | 'outputTokens' | 'reasoningTokens' | 'finish'> {
  const choices: HostileChoice[] = []
  let outputTokens = 0
  let reasoningTokens = 0
  for (let i = 0; i < n; i++) {
    const choice: HostileChoice = { text: [], refusal: [], toolCalls: [] }
    if (scenario === 'brief') {
      choice.text = ['Hello', '!']
      outputTokens += 2
    } else if (scenario === 'reasoning') {
      const visible = Math.min(2, perChoice)
      choice.text = visible === 0 ? [] : ['Done.']
      reasoningTokens += perChoice - visible
      outputTokens += perChoice
    } else if (scenario === 'refusal') {
      choice.refusal = pieces(perChoice, REFUSAL_WORD)
      outputTokens += perChoice
    } else if (scenario === 'tools') {
      const { calls, tokens } = longNamedToolCalls(perChoice)
      choice.toolCalls = calls
      outputTokens += tokens
    } else {
      choice.text = pieces(perChoice, TEXT_WORD)
      outputTokens += perChoice
    }
    choices.push(choice)
  }
  const finish = scenario === 'tools' ? 'tool_calls' : scenario === 'brief' || scenario === 'refusal' ? 'stop' : 'length'
  return { choices, outputTokens, reasoningTokens, finish }
}

/** A stream that plays the items with a pause between events, and stops when the gateway goes away. */
function sseResponse(items: Iterable<StreamItem>, gapMs: number): Response {
  const iterator = items[Symbol.iterator]()
  let first = true
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      for (;;) {
        const next = iterator.next()
        if (next.done) {
          controller.close()
          return
        }
        if (typeof next.value === 'number') {
          await Bun.sleep(next.value)
          continue
        }
        if (!first && gapMs > 0) await Bun.sleep(gapMs)
        first = false
        controller.enqueue(encoder.encode(next.value))
        return
      }
    },
  })
  return new Response(body, { headers: { 'content-type': 'text/event-stream' } })
}

const ROUTES: [HostileProvider, RegExp][] = [
  ['openai', /^\/v1\/chat\/completions$/],
  ['anthropic', /^\/v1\/messages$/],
  ['gemini', /^\/v1beta\/models\/([^/:]+):(generateContent|streamGenerateContent)$/],
]

export function startHostileUpstream(options: HostileOptions = {}): HostileUpstream {
  const maxOutputFor = options.maxOutputFor ?? catalogMaxOutput()
  const gapMs = options.gapMs ?? 2
  const requests: ReceivedRequest[] = []

  async function answer(request: Request): Promise<Response> {
    const url = new URL(request.url)
    const route = ROUTES.map(([provider, pattern]) => [provider, pattern.exec(url.pathname)] as const).find(([, match]) => match)
    if (!route) return Response.json({ error: { message: 'no such route in the hostile fake' } }, { status: 404 })
    const [provider, match] = route
    const body = (await request.json()) as Record<string, unknown>
    const headers: Record<string, string> = {}
    request.headers.forEach((value, key) => (headers[key] = value))
    const text = JSON.stringify(body)
    const scenario = (/hostile:([a-z]+)/.exec(text)?.[1] ?? 'max') as HostileScenario
    const billInput = /bill-input:(\d+)/.exec(text)?.[1]
    const thinkMs = /think-ms:(\d+)/.exec(text)?.[1]
    const model = provider === 'gemini' ? match![1]! : String(body.model)
    const stream = provider === 'gemini' ? match![2] === 'streamGenerateContent' : body.stream === true

    const maxOutput = maxOutputFor(model)
    const { cap, n } = capsOf(provider, body)
    const perChoice = Math.min(cap ?? maxOutput, maxOutput)
    const promptTokens =
      billInput !== undefined ? Number(billInput) : provider === 'openai' ? openAiPromptTokens(body) : textTokensIn(body)
    const generated: HostileAnswer = {
      model,
      promptTokens,
      ...generate(scenario, perChoice, n),
      thinkMs: thinkMs !== undefined ? Number(thinkMs) : scenario === 'reasoning' ? 20 * gapMs : 0,
    }
    requests.push({ provider, path: url.pathname + url.search, headers, body, model, promptTokens, outputTokens: generated.outputTokens })

    if (stream) {
      if (provider === 'openai') {
        const includeUsage = (body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true
        return sseResponse(openAiStream(generated, includeUsage), gapMs)
      }
      return sseResponse(provider === 'anthropic' ? anthropicStream(generated) : geminiStream(generated), gapMs)
    }
    await Bun.sleep(10 * gapMs + generated.thinkMs)
    const json = provider === 'openai' ? openAiJson(generated) : provider === 'anthropic' ? anthropicJson(generated) : geminiJson(generated)
    return new Response(json, { headers: { 'content-type': 'application/json' } })
  }

  const server: Server<undefined> = Bun.serve({ port: 0, hostname: '127.0.0.1', idleTimeout: 0, fetch: answer })
  return {
    url: `http://127.0.0.1:${server.port}`,
    requests,
    tagged: (tag) => requests.filter((request) => JSON.stringify(request.body).includes(`tag:${tag}`)),
    stop: () => server.stop(true),
  }
}
