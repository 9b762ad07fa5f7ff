// Tokenizer-bench child: a server whose /healthz shares its event loop with token counts, inline or on the token pool.
// Usage: bun bench/lib-count-server.ts; first stdout line `READY <port>`. POST /count?mode=inline|pool with a text body.
import { countTextTokensOffThread, startTokenPool, stopTokenPool } from '../src/metering/token-pool'
import { countTextTokens } from '../src/metering/tokenizer'

startTokenPool()
const server = Bun.serve({
  hostname: '127.0.0.1',
  port: 0,
  maxRequestBodySize: 64 * 1024 * 1024,
  async fetch(request) {
    const url = new URL(request.url)
    if (url.pathname === '/healthz') return new Response('ok')
    if (url.pathname !== '/count' || request.method !== 'POST') return new Response('not found', { status: 404 })
    const text = await request.text()
    const started = performance.now()
    const tokens = url.searchParams.get('mode') === 'pool' ? await countTextTokensOffThread(text) : countTextTokens(text)
    return Response.json({ tokens, chars: text.length, ms: performance.now() - started })
  },
})
process.stdout.write(`READY ${server.port}\n`)

const stop = async () => {
  server.stop(true)
  await stopTokenPool()
  process.exit(0)
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
