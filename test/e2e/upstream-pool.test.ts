// The gateway as `bun run start` starts it (Bun's fetch pool sized at start): UPSTREAM_MAX_CONNECTIONS streams, more
// than Bun's default 256, are open upstream at once, and every one of them completes.
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { join } from 'node:path'
import type { Server, Subprocess } from 'bun'
import Redis from 'ioredis'
import { readFixture } from '../helpers/fixtures'
import { prepareTestDatabase, TEST_DATABASE_URL } from '../helpers/db'

const STREAMS = 300 // above Bun's default fetch pool of 256
const KEY = 'mw_pool_test_key_0123456789'
// A queue prefix of its own: its usage jobs must not reach the workers of other test files sharing this run's Redis.
const QUEUE_PREFIX = `{mwcap${process.pid}}`

const events = readFixture('openai.chat.stream.include_usage.sse')
  .split('\n\n')
  .filter((e) => e.trim())
  .map((e) => `${e}\n\n`)

let upstream: Server<undefined>
let open = 0
let peak = 0
let releaseAll: () => void = () => {}
const gate = new Promise<void>((resolve) => (releaseAll = resolve))
let gateway: Subprocess<'ignore', 'pipe', 'pipe'>
let gatewayPort = 0

async function until(what: () => string, check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what()}`)
    await Bun.sleep(20)
  }
}

beforeAll(async () => {
  await prepareTestDatabase()
  const encoder = new TextEncoder()
  upstream = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    idleTimeout: 0,
    fetch: async (request) => {
      await request.arrayBuffer()
      open++
      peak = Math.max(peak, open)
      const body = new ReadableStream<Uint8Array>({
        async start(controller) {
          controller.enqueue(encoder.encode(events[0]!))
          await gate
          for (const event of events.slice(1)) controller.enqueue(encoder.encode(event))
          open--
          controller.close()
        },
      })
      return new Response(body, { headers: { 'content-type': 'text/event-stream' } })
    },
  })
  const env: Record<string, string | undefined> = {
    ...process.env,
    PORT: '0',
    HOST: '127.0.0.1',
    ROLE: 'api',
    LOG_LEVEL: 'info',
    GATEWAY_API_KEYS: KEY,
    DEFAULT_RPM: '100000000',
    DATABASE_URL: TEST_DATABASE_URL,
    QUEUE_PREFIX,
    OPENAI_BASE_URL: `http://127.0.0.1:${upstream.port}/v1`,
    OPENAI_API_KEY: 'sk-pool-test',
    UPSTREAM_MAX_CONNECTIONS: String(STREAMS),
  }
  // As `bun run start` and the Dockerfile start it.
  env.BUN_CONFIG_MAX_HTTP_REQUESTS = '65535'
  gateway = Bun.spawn(['bun', join(import.meta.dir, '..', '..', 'src', 'index.ts')], { env, stdin: 'ignore', stdout: 'pipe', stderr: 'pipe' })
  const reader = gateway.stdout.getReader()
  let logs = ''
  const decoder = new TextDecoder()
  const started = (async () => {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) throw new Error(`gateway exited before it started: ${logs}${await new Response(gateway.stderr).text()}`)
      logs += decoder.decode(value, { stream: true })
      const port = /"msg":"meterway started".*"url":"http:\/\/127\.0\.0\.1:(\d+)"/.exec(logs)?.[1]
      if (port) return Number(port)
    }
  })()
  gatewayPort = await started
  void (async () => {
    while (!(await reader.read()).done) {}
  })()
})

afterAll(async () => {
  releaseAll()
  gateway?.kill('SIGTERM')
  await gateway?.exited
  upstream?.stop(true)
  const redis = new Redis({ lazyConnect: true })
  await redis.connect()
  let cursor = '0'
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${QUEUE_PREFIX}:*`, 'COUNT', 1000)
    cursor = next
    if (keys.length > 0) await redis.unlink(...keys)
  } while (cursor !== '0')
  redis.disconnect()
})

/**
 * One streamed chat completion over a raw socket: this test process's own fetch is capped by Bun's default pool of
 * 256, so fetch could not hold 300 requests open here. Resolves with the status line and whether [DONE] arrived.
 */
function streamOverSocket(port: number): Promise<{ status: string; done: boolean }> {
  const body = JSON.stringify({ model: 'openai/gpt-4o', stream: true, messages: [{ role: 'user', content: 'hi' }] })
  const request = `POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${KEY}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`
  return new Promise((resolve, reject) => {
    let received = ''
    const finish = () => resolve({ status: received.slice(0, received.indexOf('\r\n')), done: received.includes('data: [DONE]') })
    Bun.connect({
      hostname: '127.0.0.1',
      port,
      socket: {
        open: (socket) => void socket.write(request),
        data: (socket, chunk) => {
          received += chunk.toString()
          // The chunked body's last frame: the stream is complete.
          if (received.endsWith('0\r\n\r\n')) socket.end()
        },
        close: finish,
        error: (_socket, error) => reject(error),
        connectError: (_socket, error) => reject(error),
      },
    }).catch(reject)
  })
}

test(`${STREAMS} concurrent streams are all open upstream at once, then all complete`, async () => {
  const streams = Array.from({ length: STREAMS }, () => streamOverSocket(gatewayPort))
  await until(() => `${STREAMS} streams open upstream (open: ${open})`, () => open === STREAMS)
  releaseAll()
  const results = await Promise.all(streams)
  expect(peak).toBe(STREAMS)
  expect(results.filter((r) => r.status === 'HTTP/1.1 200 OK' && r.done)).toHaveLength(STREAMS)
}, 30_000)
