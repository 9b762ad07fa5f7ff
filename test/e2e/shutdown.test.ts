// SIGTERM is the clean path, and it ends within SHUTDOWN_GRACE_MS even when Redis or Postgres stops answering,
// saying what it could not do instead of waiting for it.
import { afterAll, beforeAll, expect, test } from 'bun:test'
import type { Socket } from 'bun'
import { TEST_DATABASE_URL } from '../helpers/db'
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream'
import { TEST_KEY, upstreamEnv } from '../helpers/gateway'
import { freePort, spawnMeterway, type GatewayProcess } from '../helpers/processes'

const GRACE_MS = 2_000
/** Room for a loaded CI machine: the bound under test is the grace time; this only keeps a hang from passing. */
const SLACK_MS = 3_000
let upstream: FakeUpstream
const cleanup: (() => void)[] = []

beforeAll(() => {
  upstream = startFakeUpstream()
})
afterAll(() => {
  for (const undo of cleanup) undo()
  upstream.stop()
})

/** A Redis of this test's own, so it can be killed. */
async function privateRedis() {
  const port = freePort()
  const child = Bun.spawn(['redis-server', '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdout: 'ignore', stderr: 'ignore' })
  cleanup.push(() => child.kill('SIGKILL'))
  for (let i = 0; i < 200; i++) {
    const ok = await Bun.connect({ hostname: '127.0.0.1', port, socket: { data() {} } }).then(
      (socket) => {
        socket.end()
        return true
      },
      () => false,
    )
    if (ok) break
    await Bun.sleep(25)
  }
  return { url: `redis://127.0.0.1:${port}`, kill: () => child.kill('SIGKILL') }
}

/** A TCP relay to the real Postgres, so Postgres can be made unreachable without stopping it. */
function postgresRelay() {
  interface Side {
    peer?: Socket<Side>
    pending: Uint8Array[]
  }
  const open = new Set<Socket<Side>>()
  const listener = Bun.listen<Side>({
    hostname: '127.0.0.1',
    port: 0,
    socket: {
      open(client) {
        client.data = { pending: [] }
        open.add(client)
        void Bun.connect<Side>({
          hostname: '127.0.0.1',
          port: 5432,
          data: { pending: [] },
          socket: {
            open(server) {
              open.add(server)
              client.data.peer = server
              for (const piece of client.data.pending) server.write(piece)
            },
            data(_, piece) {
              client.write(piece)
            },
            close() {
              client.end()
            },
          },
        })
      },
      data(client, piece) {
        if (client.data.peer) client.data.peer.write(piece)
        else client.data.pending.push(new Uint8Array(piece))
      },
      close(client) {
        client.data.peer?.end()
      },
    },
  })
  cleanup.push(() => listener.stop(true))
  return {
    url: `postgres://postgres@127.0.0.1:${listener.port}${new URL(TEST_DATABASE_URL).pathname}`,
    cut() {
      listener.stop(true)
      for (const socket of open) socket.terminate()
    },
  }
}

/** Opens a slow stream and reads a little of it, so the gateway has a request in flight when it is told to stop. */
async function streamInFlight(gateway: GatewayProcess) {
  const response = await fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TEST_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'openai/gpt-4o', stream: true, messages: [{ role: 'user', content: 'A long story. scenario:drip' }] }),
  })
  expect(response.status).toBe(200)
  const reader = response.body!.getReader()
  await reader.read()
  return reader
}

async function stopsWithinGrace(gateway: GatewayProcess): Promise<number> {
  const started = performance.now()
  gateway.child.kill('SIGTERM')
  const code = await Promise.race([gateway.exited, Bun.sleep(GRACE_MS + SLACK_MS).then(() => 'still running' as const)])
  const elapsed = performance.now() - started
  if (code === 'still running') gateway.child.kill('SIGKILL')
  expect(code).toBe(0)
  return elapsed
}

const baseEnv = () => ({ ...upstreamEnv(upstream.url), GATEWAY_API_KEYS: TEST_KEY, SHUTDOWN_GRACE_MS: String(GRACE_MS), LOG_LEVEL: 'info' })

test('Redis gone mid-stream: SIGTERM still exits within the grace time and logs what it could not do', async () => {
  const redis = await privateRedis()
  // A request limit, so streams are admitted (and settled) on this Redis.
  const gateway = await spawnMeterway({ ...baseEnv(), REDIS_URL: redis.url, QUEUE_PREFIX: '{mwshutdown}' })
  cleanup.push(() => gateway.child.kill('SIGKILL'))
  const reader = await streamInFlight(gateway)
  redis.kill()
  const elapsed = await stopsWithinGrace(gateway)
  console.log(`SIGTERM with Redis gone: exited in ${Math.round(elapsed)} ms (grace ${GRACE_MS} ms)`)
  expect(gateway.output()).toContain('shutting down')
  expect(gateway.output()).toMatch(/usage records not sent|settlements not applied|stopped waiting/)
  await reader.cancel().catch(() => {})
}, 30_000)

test('Postgres gone mid-stream: SIGTERM still exits within the grace time', async () => {
  const relay = postgresRelay()
  const gateway = await spawnMeterway({ ...baseEnv(), DATABASE_URL: relay.url })
  cleanup.push(() => gateway.child.kill('SIGKILL'))
  const reader = await streamInFlight(gateway)
  relay.cut()
  const elapsed = await stopsWithinGrace(gateway)
  console.log(`SIGTERM with Postgres gone: exited in ${Math.round(elapsed)} ms (grace ${GRACE_MS} ms)`)
  expect(gateway.output()).toContain('shutting down')
  await reader.cancel().catch(() => {})
}, 30_000)
