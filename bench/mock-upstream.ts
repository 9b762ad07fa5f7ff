// Bench mock of OpenAI's POST /v1/chat/completions: fixture-shaped answers, pre-encoded so the mock itself costs little CPU.
// Usage: bun bench/mock-upstream.ts [port]   (or MOCK_PORT=…; 0 = any free port). First stdout line: `READY <port>`.

const ID = 'chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT'
const CREATED = 1741570283
const MODEL = 'gpt-4o-2024-08-06'
const FINGERPRINT = 'fp_f9f4fb6dbf'

/** Exactly 20 content deltas: the bench's check that nothing was lost or merged counts on this number. */
const CONTENT_DELTAS = [
  'Sure', '!', ' Every', ' token', ' that', ' passes', ' through', ' the', ' gateway', ' is',
  ' counted', ',', ' priced', ' and', ' billed', ' exactly', ' once', '.', ' Done', '.',
] as const
const TEXT = CONTENT_DELTAS.join('')
const PROMPT_TOKENS = 19

const usage = {
  prompt_tokens: PROMPT_TOKENS,
  completion_tokens: CONTENT_DELTAS.length,
  total_tokens: PROMPT_TOKENS + CONTENT_DELTAS.length,
  prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
  completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
}

const encoder = new TextEncoder()

const completion = encoder.encode(
  JSON.stringify({
    id: ID,
    object: 'chat.completion',
    created: CREATED,
    model: MODEL,
    choices: [{ index: 0, message: { role: 'assistant', content: TEXT, refusal: null, annotations: [] }, logprobs: null, finish_reason: 'stop' }],
    usage,
    service_tier: 'default',
    system_fingerprint: FINGERPRINT,
  }),
)

function chunk(choices: unknown[], withUsageField: boolean, usageValue: unknown = null): string {
  const body: Record<string, unknown> = {
    id: ID,
    object: 'chat.completion.chunk',
    created: CREATED,
    model: MODEL,
    service_tier: 'default',
    system_fingerprint: FINGERPRINT,
    choices,
  }
  // OpenAI adds `"usage":null` to every chunk only when include_usage was asked for; mirror that exactly.
  if (withUsageField) body.usage = usageValue
  return `data: ${JSON.stringify(body)}\n\n`
}

/** One Uint8Array per SSE event, so the response goes out as separate chunked-encoding frames like OpenAI's. */
function streamEvents(includeUsage: boolean): Uint8Array[] {
  const events = [chunk([{ index: 0, delta: { role: 'assistant', content: '', refusal: null }, logprobs: null, finish_reason: null }], includeUsage)]
  for (const delta of CONTENT_DELTAS) {
    events.push(chunk([{ index: 0, delta: { content: delta }, logprobs: null, finish_reason: null }], includeUsage))
  }
  events.push(chunk([{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }], includeUsage))
  if (includeUsage) events.push(chunk([], true, usage))
  events.push('data: [DONE]\n\n')
  return events.map((e) => encoder.encode(e))
}

const withUsage = streamEvents(true)
const withoutUsage = streamEvents(false)

const JSON_HEADERS = { 'content-type': 'application/json', 'openai-processing-ms': '1' }
const SSE_HEADERS = { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'openai-processing-ms': '1' }

function streamResponse(events: Uint8Array[]): Response {
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const event of events) controller.enqueue(event)
      controller.close()
    },
  })
  return new Response(body, { headers: SSE_HEADERS })
}

/**
 * A stream as a model sends it: one event a write, 1 ms apart, so a relay reads (and writes) each piece on its own.
 * Asked for with `"user": "bench-paced"` (bench/lib-methods.ts, `--kind paced`).
 */
function pacedStreamResponse(events: Uint8Array[]): Response {
  const source: Bun.DirectUnderlyingSource<Uint8Array> = {
    type: 'direct',
    async pull(controller) {
      for (let i = 0; i < events.length; i++) {
        if (i > 0) await Bun.sleep(1)
        controller.write(events[i]!)
        controller.flush()
      }
      controller.close()
    },
  }
  const body = new ReadableStream(source)
  return new Response(body, { headers: SSE_HEADERS })
}

interface RequestShape {
  user?: unknown
  stream?: unknown
  stream_options?: { include_usage?: unknown } | null
}

async function handle(request: Request): Promise<Response> {
  const path = new URL(request.url).pathname
  if (request.method === 'GET' && path === '/healthz') return new Response('ok')
  if (request.method !== 'POST' || path !== '/v1/chat/completions') {
    return Response.json({ error: { message: `mock: no route ${request.method} ${path}`, type: 'invalid_request_error' } }, { status: 404 })
  }
  let parsed: RequestShape
  try {
    parsed = (await request.json()) as RequestShape
  } catch {
    return Response.json({ error: { message: 'mock: body is not JSON', type: 'invalid_request_error' } }, { status: 400 })
  }
  if (parsed.stream !== true) return new Response(completion, { headers: JSON_HEADERS })
  const events = parsed.stream_options?.include_usage === true ? withUsage : withoutUsage
  return parsed.user === 'bench-paced' ? pacedStreamResponse(events) : streamResponse(events)
}

const port = Number(process.argv[2] ?? process.env.MOCK_PORT ?? 0)
const server = Bun.serve({ hostname: '127.0.0.1', port, idleTimeout: 255, fetch: handle })
process.stdout.write(`READY ${server.port}\n`)

const stop = () => {
  server.stop(true)
  process.exit(0)
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
