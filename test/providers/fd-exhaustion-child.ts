// Child of http.test.ts, run under `ulimit -n 64`: sends through postJson with no file descriptor left, then with one.
// Usage: bun test/providers/fd-exhaustion-child.ts <upstream url>; prints one JSON line with what each send did.
import { closeSync, openSync } from 'node:fs'
import { UpstreamNotSentError } from '../../src/errors'
import { startFetchThread } from '../../src/lib/fetch-pool'
import { postJson } from '../../src/providers/http'

const url = process.argv[2]!

async function send(): Promise<Record<string, unknown>> {
  try {
    const response = await postJson(url, {}, '{"hello":"world"}', new AbortController().signal)
    return { ok: true, status: response.status, body: await response.text() }
  } catch (error) {
    if (error instanceof UpstreamNotSentError) {
      return { ok: false, notSent: true, sent: error.sent, status: error.status, code: error.code, type: error.type, retryAfter: error.headers['retry-after'] ?? null, message: error.message }
    }
    return { ok: false, notSent: false, error: String(error) }
  }
}

// As the gateway does at boot: Bun's HTTP thread exits the process if it first starts with no descriptor free. Warmed
// on a closed port, so no kept-alive connection to the upstream is left for the sends below to reuse.
const closed = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } })
closed.stop(true)
await startFetchThread(`http://127.0.0.1:${closed.port}/`)
const held: number[] = []
try {
  for (;;) held.push(openSync('/dev/null', 'r'))
} catch (error) {
  if ((error as { code?: string }).code !== 'EMFILE') throw error
}
const exhausted = await send()
for (const fd of held.splice(0, 8)) closeSync(fd)
const recovered = await send()
process.stdout.write(`${JSON.stringify({ held: held.length, exhausted, recovered })}\n`)
