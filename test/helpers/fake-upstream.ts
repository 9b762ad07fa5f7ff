// A local fake of OpenAI, Anthropic and Gemini replaying the fixtures byte for byte; scenarios picked by a marker in the prompt.
import type { Server } from 'bun'
import { readFixture } from './fixtures'

/**
 * Put one of these in a user message to steer the fake:
 * scenario:tools      the provider's tool-call stream fixture
 * scenario:error-429  the provider's 429 error body (with Retry-After)
 * scenario:error-529  (Anthropic) its 529 overloaded error body
 * scenario:error-401  an authentication error naming our key
 * scenario:garbage    200 with a body that is not the provider's format
 * scenario:stall      accept the request and never answer
 * scenario:stall-mid  start the stream, send one chunk, then stall
 * scenario:slow       stream the fixture's events 40 ms apart (long enough to disconnect mid-stream)
 * scenario:midstream-error  Anthropic's stream that breaks with `event: error`
 * scenario:long       (OpenAI) a stream of 1,000 one-token words in the fixture's chunk format, then its usage
 * scenario:break      like slow, but the connection ends after a few events, with no end marker and no usage
 * scenario:drip       (OpenAI, Anthropic) DRIP_STREAM_WORDS one-token words, DRIP_GAP_MS apart (a stream open for seconds)
 * Embeddings (OpenAI, Gemini batchEmbedContents) and images (by body.model: dall-e-3 or gpt-image-1) answer their
 * fixture; `slow` delays it MEDIA_SLOW_MS, and the error, garbage and stall scenarios work as above.
 */
export type Scenario = 'tools' | 'error-429' | 'error-529' | 'error-401' | 'garbage' | 'stall' | 'stall-mid' | 'slow' | 'midstream-error' | 'long' | 'break' | 'drip' | 'default'

export const LONG_STREAM_WORDS = 1_000
export const DRIP_STREAM_WORDS = 200
export const DRIP_GAP_MS = 25
export const MEDIA_SLOW_MS = 100

/** OpenAI chunks in the fixture's exact shape: a role chunk, one word per chunk, the finish chunk, usage, [DONE]. */
function longOpenAiStream(words = LONG_STREAM_WORDS): string[] {
  const head = '{"id":"chatcmpl-long","object":"chat.completion.chunk","created":1741570283,"model":"gpt-4o-2024-08-06","service_tier":"default","system_fingerprint":"fp_f9f4fb6dbf"'
  const chunk = (delta: string, finish: string | null) =>
    `data: ${head},"choices":[{"index":0,"delta":${delta},"logprobs":null,"finish_reason":${finish === null ? 'null' : `"${finish}"`}}],"usage":null}\n\n`
  const events = [chunk('{"role":"assistant","content":"","refusal":null}', null)]
  for (let i = 0; i < words; i++) events.push(chunk(`{"content":" word"}`, null))
  events.push(chunk('{}', 'stop'))
  events.push(`data: ${head},"choices":[],"usage":{"prompt_tokens":19,"completion_tokens":${words},"total_tokens":${19 + words}}}\n\n`)
  events.push('data: [DONE]\n\n')
  return events
}

/** Anthropic's stream in the fixture's event shape: message_start, one word per text delta, message_delta with usage, message_stop. */
function longAnthropicStream(words: number): string[] {
  const event = (name: string, data: string) => `event: ${name}\ndata: ${data}\n\n`
  const events = [
    event('message_start', '{"type":"message_start","message":{"id":"msg_drip","type":"message","role":"assistant","content":[],"model":"claude-sonnet-4-20250514","stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":25,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":1}}}'),
    event('content_block_start', '{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}'),
  ]
  for (let i = 0; i < words; i++) events.push(event('content_block_delta', '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" word"}}'))
  events.push(event('content_block_stop', '{"type":"content_block_stop","index":0}'))
  events.push(event('message_delta', `{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":${words}}}`))
  events.push(event('message_stop', '{"type":"message_stop"}'))
  return events
}

/** What the fake's count_tokens answers: a deterministic stand-in for Anthropic's tokenizer (a token per 4 characters of the messages). */
export function fakeTokenCount(body: Record<string, unknown>): number {
  return Math.ceil(JSON.stringify(body.messages ?? []).length / 4)
}

export interface RecordedRequest {
  path: string
  headers: Record<string, string>
  body: Record<string, unknown>
  /** scenario:stall: performance.now() when the gateway gave up on the request and closed it. */
  abortedAt?: number
}

export interface StreamLifecycle {
  path: string
  startedAt: number
  /** performance.now() when the gateway's connection for this stream went away or the stream ended. */
  closedAt: number | null
  cancelled: boolean
}

export interface FakeUpstream {
  url: string
  requests: RecordedRequest[]
  streams: StreamLifecycle[]
  stop(): void
}

const encoder = new TextEncoder()

function scenarioOf(body: unknown): Scenario {
  const match = /scenario:([a-z0-9-]+)/.exec(JSON.stringify(body))
  return (match?.[1] as Scenario | undefined) ?? 'default'
}

/** Splits a fixture into its SSE events, keeping each event's own bytes (and line endings) intact. */
function sseEvents(fixture: string): string[] {
  const separator = fixture.includes('\r\n\r\n') ? '\r\n\r\n' : '\n\n'
  return fixture
    .split(separator)
    .filter((event) => event.trim() !== '')
    .map((event) => event + separator)
}

export function startFakeUpstream(): FakeUpstream {
  const requests: RecordedRequest[] = []
  const streams: StreamLifecycle[] = []

  function streamResponse(path: string, events: string[], options: { gapMs?: number; stallAfter?: number } = {}): Response {
    const life: StreamLifecycle = { path, startedAt: performance.now(), closedAt: null, cancelled: false }
    streams.push(life)
    let index = 0
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (options.stallAfter !== undefined && index >= options.stallAfter) {
          await new Promise(() => {}) // never answers; the gateway must time out or give up
        }
        if (index >= events.length) {
          life.closedAt = performance.now()
          controller.close()
          return
        }
        if (options.gapMs && index > 0) await Bun.sleep(options.gapMs)
        controller.enqueue(encoder.encode(events[index++]!))
      },
      cancel() {
        life.cancelled = true
        life.closedAt = performance.now()
      },
    })
    return new Response(body, { headers: { 'content-type': 'text/event-stream' } })
  }

  const json = (text: string, status = 200, headers: Record<string, string> = {}) =>
    new Response(text, { status, headers: { 'content-type': 'application/json', ...headers } })

  function answer(provider: 'openai' | 'anthropic' | 'gemini', path: string, stream: boolean, scenario: Scenario): Response | Promise<Response> {
    switch (scenario) {
      case 'stall':
        return new Promise<Response>(() => {})
      case 'garbage':
        return stream
          ? new Response('this is not an event stream at all {{{', { headers: { 'content-type': 'text/event-stream' } })
          : json('<html>502 Bad Gateway</html>')
      case 'error-429':
        return json(readFixture(`${provider}.error.429.json`), 429, { 'retry-after': '7' })
      case 'error-529':
        if (provider === 'anthropic') return json(readFixture('anthropic.error.529.json'), 529)
        break
      case 'error-401':
        return provider === 'gemini'
          ? json(readFixture('gemini.error.400.json'), 400)
          : json(provider === 'openai' ? readFixture('openai.error.401.json') : '{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}', 401)
    }
    if (!stream) {
      const file = { openai: 'openai.chat.json', anthropic: 'anthropic.messages.json', gemini: 'gemini.generateContent.json' }[provider]
      return json(readFixture(file))
    }
    const files = {
      openai: { default: 'openai.chat.stream.include_usage.sse', tools: 'openai.chat.tools.stream.include_usage.sse' },
      anthropic: { default: 'anthropic.messages.stream.sse', tools: 'anthropic.messages.tools.stream.sse' },
      gemini: { default: 'gemini.streamGenerateContent.sse', tools: 'gemini.streamGenerateContent.tools.sse' },
    }[provider]
    if (scenario === 'long' && provider === 'openai') return streamResponse(path, longOpenAiStream())
    if (scenario === 'drip' && provider === 'openai') return streamResponse(path, longOpenAiStream(DRIP_STREAM_WORDS), { gapMs: DRIP_GAP_MS })
    if (scenario === 'drip' && provider === 'anthropic') return streamResponse(path, longAnthropicStream(DRIP_STREAM_WORDS), { gapMs: DRIP_GAP_MS })
    let file = scenario === 'tools' ? files.tools : files.default
    if (scenario === 'midstream-error' && provider === 'anthropic') file = 'anthropic.messages.stream.error.sse'
    const events = sseEvents(readFixture(file))
    if (scenario === 'slow') return streamResponse(path, events, { gapMs: 40 })
    if (scenario === 'break') return streamResponse(path, events.slice(0, 4), { gapMs: 40 })
    if (scenario === 'stall-mid') return streamResponse(path, events, { stallAfter: 2 })
    return streamResponse(path, events)
  }

  /** Embeddings and images answer one JSON fixture; `slow` answers after MEDIA_SLOW_MS (requests stay in flight together). */
  async function media(provider: 'openai' | 'gemini', file: string, scenario: Scenario): Promise<Response> {
    if (scenario === 'slow') await Bun.sleep(MEDIA_SLOW_MS)
    if (scenario === 'error-429' || scenario === 'error-401' || scenario === 'garbage' || scenario === 'stall') return answer(provider, '', false, scenario)
    return json(readFixture(file))
  }

  const server: Server<undefined> = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    idleTimeout: 0,
    async fetch(request) {
      const url = new URL(request.url)
      const body = (await request.json().catch(() => ({}))) as Record<string, unknown>
      const headers: Record<string, string> = {}
      request.headers.forEach((value, key) => (headers[key] = value))
      const path = url.pathname + url.search
      const recorded: RecordedRequest = { path, headers, body }
      requests.push(recorded)
      const scenario = scenarioOf(body)
      if (scenario === 'stall') request.signal.addEventListener('abort', () => (recorded.abortedAt = performance.now()), { once: true })
      if (url.pathname === '/v1/chat/completions') return answer('openai', path, body.stream === true, scenario)
      if (url.pathname === '/v1/embeddings') return media('openai', 'openai.embeddings.json', scenario)
      if (url.pathname === '/v1/images/generations') {
        return media('openai', body.model === 'dall-e-3' ? 'openai.images.dall-e-3.json' : 'openai.images.gpt-image-1.json', scenario)
      }
      if (/^\/v1beta\/models\/[^/:]+:batchEmbedContents$/.test(url.pathname)) return media('gemini', 'gemini.batchEmbedContents.json', scenario)
      if (url.pathname === '/v1/messages') return answer('anthropic', path, body.stream === true, scenario)
      if (url.pathname === '/v1/messages/count_tokens') return json(JSON.stringify({ input_tokens: fakeTokenCount(body) }))
      const gemini = /^\/v1beta\/models\/[^/:]+:(generateContent|streamGenerateContent)$/.exec(url.pathname)
      if (gemini) return answer('gemini', path, gemini[1] === 'streamGenerateContent', scenario)
      return json('{"error":{"message":"no such route in the fake"}}', 404)
    },
  })

  return {
    url: `http://127.0.0.1:${server.port}`,
    requests,
    streams,
    stop: () => server.stop(true),
  }
}

/** A port nothing listens on: for "upstream down". */
export async function closedPortUrl(): Promise<string> {
  const probe = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => new Response('') })
  const port = probe.port
  probe.stop(true)
  return `http://127.0.0.1:${port}`
}
