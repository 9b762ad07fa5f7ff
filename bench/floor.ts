// The floor: the thinnest Bun passthrough of a chat completion, the yardstick `bun run bench` measures the gateway against.
// Usage: FLOOR_UPSTREAM=http://127.0.0.1:<port>/v1 bun bench/floor.ts [port]; first stdout line `READY <port>`.
// It does what no relay can skip (read and parse the body, name the upstream's model, send it, pass the answer back
// as it comes) and nothing else: no auth, no limits, no money, no metering.

export {} // a module: its top-level names stay its own

const upstream = `${process.env.FLOOR_UPSTREAM ?? 'http://127.0.0.1:8081/v1'}/chat/completions`
const upstreamHeaders = { 'content-type': 'application/json', authorization: 'Bearer sk-bench' }

const server = Bun.serve({
  hostname: '127.0.0.1',
  port: Number(process.argv[2] ?? 0),
  routes: {
    '/v1/chat/completions': {
      async POST(request) {
        const body = (await request.json()) as { model?: unknown }
        // `openai/gpt-4o` → `gpt-4o`: the one rewrite every gateway makes.
        if (typeof body.model === 'string') body.model = body.model.slice(body.model.indexOf('/') + 1)
        const answer = await fetch(upstream, { method: 'POST', headers: upstreamHeaders, body: JSON.stringify(body) })
        // JSON and SSE alike: the upstream's body is streamed through, never buffered.
        return new Response(answer.body, { status: answer.status, headers: { 'content-type': answer.headers.get('content-type') ?? 'application/json' } })
      },
    },
  },
  fetch: () => new Response('not found', { status: 404 }),
})
process.stdout.write(`READY ${server.port}\n`)

const stop = () => {
  server.stop(true)
  process.exit(0)
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
