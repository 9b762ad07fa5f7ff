// Capacity-bench mock of OpenAI streaming: each stream sends its chunks one interval apart, and the mock counts how many are open.
// Usage: bun bench/slow-upstream.ts [port]; first stdout line `READY <port>`. GET /stats → {open, peak, started, completed};
// POST /config {"intervalMs": n} changes the interval for streams that start afterwards (0: all chunks at once, for warmup).

export {} // a module: its top-level names stay its own, and it may await at the top

const ID = 'chatcmpl-capacity'
const CREATED = 1741570283
const MODEL = 'gpt-4o-2024-08-06'
const encoder = new TextEncoder()

const chunks = Number(process.env.MOCK_CHUNKS ?? 20)
let intervalMs = Number(process.env.MOCK_INTERVAL_MS ?? 1000)

const event = (choices: unknown[], usage: unknown = null) =>
  encoder.encode(`data: ${JSON.stringify({ id: ID, object: 'chat.completion.chunk', created: CREATED, model: MODEL, choices, usage })}\n\n`)
const ROLE = event([{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }])
const CONTENT = event([{ index: 0, delta: { content: ' token' }, logprobs: null, finish_reason: null }])
const TAIL = [
  event([{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }]),
  event([], { prompt_tokens: 12, completion_tokens: chunks, total_tokens: 12 + chunks }),
  encoder.encode('data: [DONE]\n\n'),
]
const SSE_HEADERS = { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' }

let open = 0
let peak = 0
let started = 0
let completed = 0

function slowStream(every: number): ReadableStream<Uint8Array> {
  let timer: ReturnType<typeof setInterval> | undefined
  let ended = false
  const end = () => {
    if (ended) return
    ended = true
    clearInterval(timer)
    open--
  }
  return new ReadableStream<Uint8Array>({
    start(controller) {
      open++
      started++
      peak = Math.max(peak, open)
      controller.enqueue(ROLE)
      let sent = 0
      const finish = () => {
        for (const part of TAIL) controller.enqueue(part)
        controller.close()
        completed++
        end()
      }
      if (every <= 0) {
        for (; sent < chunks; sent++) controller.enqueue(CONTENT)
        finish()
        return
      }
      timer = setInterval(() => {
        controller.enqueue(CONTENT)
        if (++sent === chunks) finish()
      }, every)
    },
    cancel: end,
  })
}

const port = Number(process.argv[2] ?? 0)
const server = Bun.serve({
  hostname: '127.0.0.1',
  port,
  // Streams are quiet for a whole interval between chunks; the default 10 s idle timeout must not cut a slow one.
  idleTimeout: 0,
  async fetch(request) {
    const path = new URL(request.url).pathname
    if (path === '/stats') return Response.json({ open, peak, started, completed })
    if (path === '/config' && request.method === 'POST') {
      intervalMs = Number(((await request.json()) as { intervalMs?: unknown }).intervalMs ?? intervalMs)
      peak = open
      return Response.json({ intervalMs })
    }
    if (request.method !== 'POST' || path !== '/v1/chat/completions') return new Response('not found', { status: 404 })
    await request.arrayBuffer()
    return new Response(slowStream(intervalMs), { headers: SSE_HEADERS })
  },
})
process.stdout.write(`READY ${server.port}\n`)

const stop = () => {
  server.stop(true)
  process.exit(0)
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
