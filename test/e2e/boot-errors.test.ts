// A gateway that cannot reach its stores says so in one line and exits (Postgres), or starts degraded and says why on /readyz (Redis).
import { afterAll, expect, test } from 'bun:test'
import { join } from 'node:path'
import { freePort, spawnMeterway, type GatewayProcess } from '../helpers/processes'
import { waitFor } from '../helpers/poll'

const ENTRY = join(import.meta.dir, '..', '..', 'src', 'index.ts')
const started: GatewayProcess[] = []
afterAll(() => {
  for (const gateway of started) gateway.child.kill('SIGKILL')
})

/** Runs the gateway until it exits by itself; its exit code and what it printed. */
async function bootExpectingExit(env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = Bun.spawn(['bun', ENTRY], { env: { ...process.env, PORT: String(freePort()), HOST: '127.0.0.1', ...env }, stdout: 'pipe', stderr: 'pipe' })
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited])
  return { code, stdout, stderr }
}

const noStackTrace = (text: string) => expect(text).not.toMatch(/^\s+at /m)

test.each([
  ['nothing listens on the port', () => `postgres://postgres:hunter2@127.0.0.1:${freePort()}/meterway`, /connection refused/],
  ['the host name does not resolve', () => 'postgres://postgres@no-such-host.invalid:5432/meterway', /host name not (found|resolved)/],
  ['the database does not exist', () => 'postgres://postgres@127.0.0.1:5432/meterway_no_such_database', /the database does not exist/],
])('Postgres unreachable at boot (%s): one line naming DATABASE_URL and the address, exit 1, no stack trace', async (_, url, why) => {
  const databaseUrl = url()
  const { code, stderr } = await bootExpectingExit({ DATABASE_URL: databaseUrl })
  expect(code).toBe(1)
  const lines = stderr.trim().split('\n')
  expect(lines.length).toBe(1)
  const address = new URL(databaseUrl)
  expect(lines[0]).toContain('DATABASE_URL')
  expect(lines[0]).toContain(`${address.hostname}:${address.port || '5432'}`)
  expect(lines[0]).toMatch(why)
  expect(lines[0]).toContain('To fix:')
  // The password never reaches a log.
  expect(stderr).not.toContain('hunter2')
  noStackTrace(stderr)
})

test('Redis unreachable at boot: the gateway starts degraded, /readyz is 503 naming REDIS_URL and its address, chat is refused cleanly', async () => {
  const port = freePort()
  const gateway = await spawnMeterway({ REDIS_URL: `redis://127.0.0.1:${port}`, GATEWAY_API_KEYS: 'boot-test-key', ROLE: 'api' })
  started.push(gateway)
  const ready = await fetch(`${gateway.url}/readyz`)
  expect(ready.status).toBe(503)
  const body = (await ready.json()) as { status: string; checks: Record<string, string> }
  expect(body.status).toBe('not_ready')
  expect(body.checks.postgres).toBe('ok')
  expect(body.checks.redis).toContain('REDIS_URL')
  expect(body.checks.redis).toContain(`127.0.0.1:${port}`)
  expect(body.checks.redis).toMatch(/ECONNREFUSED/)
  // A request that needs Redis gets an answer in the error shape, not a hang or a 500.
  const chat = await fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: 'Bearer boot-test-key', 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'mock/echo', messages: [{ role: 'user', content: 'hi' }] }),
  })
  // Rate limits fail closed by default (RATE_LIMIT_ON_REDIS_ERROR): a 503 saying so, in the error shape.
  expect(chat.status).toBe(503)
  expect(((await chat.json()) as { error: { code: string } }).error.code).toBe('service_unavailable')
  noStackTrace(gateway.output())
  await waitFor(() => gateway.output().includes('redis unreachable'), 5_000, 'the outage logged')
})
