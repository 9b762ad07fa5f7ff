// Redis stopped mid-run: money checks fail closed with a quick 503 (nothing hangs); when it returns, wallets agree with Postgres.
import { afterAll, beforeAll, expect, test } from 'bun:test'
import type { Subprocess } from 'bun'
import Redis from 'ioredis'
import { insertCredit } from '../../src/db/queries/ledger'
import type { Sql } from '../../src/lib/db'
import { subjectKeys } from '../../src/limits/keys'
import { testDb, uniqueId } from '../helpers/db'
import { startGateway, TEST_KEY, type TestGateway } from '../helpers/gateway'

let port: number
let redisServer: Subprocess | null = null
let gateway: TestGateway
let sql: Sql

function startRedis(): Subprocess {
  return Bun.spawn(['redis-server', '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdout: 'ignore', stderr: 'ignore' })
}

async function waitForRedis(): Promise<void> {
  const probe = new Redis({ port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
  probe.on('error', () => {})
  for (let i = 0; i < 100; i++) {
    try {
      await probe.connect()
      await probe.ping()
      probe.disconnect()
      return
    } catch {
      await Bun.sleep(50)
    }
  }
  throw new Error('redis did not start')
}

beforeAll(async () => {
  const probe = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } })
  port = probe.port
  probe.stop(true)
  redisServer = startRedis()
  await waitForRedis()
  gateway = await startGateway({ REDIS_URL: `redis://127.0.0.1:${port}`})
  sql = await testDb(2)
})
afterAll(async () => {
  await gateway.stop()
  await sql.end()
  redisServer?.kill('SIGKILL')
})

async function prepaidAgent() {
  const id = uniqueId('outage')
  const { api_key } = (await (
    await fetch(`${gateway.url}/agents/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ agent_id: id, name: 'Outage' }) })
  ).json()) as { api_key: string }
  await sql`UPDATE accounts SET subscription_status = 'active', billing_mode = 'prepaid' WHERE id = ${id}`
  await insertCredit(sql, id, 1_000_000_000n, `credit:${id}`, 'test')
  return { id, apiKey: api_key }
}

/** A chat request that must be answered within 2 s: a hang fails the test. */
function chat(apiKey: string) {
  return fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'openai/gpt-4o-mini', stream: true, max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }),
    signal: AbortSignal.timeout(2_000),
  })
}

test('Redis stopped: every request is a 503 within 2 s; Redis back: requests pass and the wallet equals Postgres', async () => {
  const wallet = await prepaidAgent()
  // Admission is what is under test: the built-in free model needs no upstream. It still loads the prepaid wallet.
  const free = (apiKey: string) =>
    fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'mock/echo', messages: [{ role: 'user', content: 'hi' }] }),
      signal: AbortSignal.timeout(2_000),
    })
  expect((await free(wallet.apiKey)).status).toBe(200)
  expect((await free(TEST_KEY)).status).toBe(200)

  redisServer!.kill('SIGKILL')
  await redisServer!.exited
  redisServer = null

  const started = performance.now()
  const during = await Promise.all([...Array.from({ length: 10 }, () => chat(wallet.apiKey)), ...Array.from({ length: 10 }, () => free(TEST_KEY))])
  const slowestMs = performance.now() - started
  console.log(`with Redis down: ${during.length} requests answered in ${slowestMs.toFixed(0)} ms at most`)
  for (const response of during) {
    expect(response.status).toBe(503)
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('service_unavailable')
  }

  redisServer = startRedis()
  await waitForRedis()
  // The restarted Redis is empty: the wallet is rebuilt from Postgres on first use.
  let back = 0
  for (let i = 0; i < 100 && back !== 200; i++) {
    back = (await free(wallet.apiKey).catch(() => ({ status: 0 }))).status
    if (back !== 200) await Bun.sleep(100)
  }
  expect(back).toBe(200)
  const keys = subjectKeys(wallet.id)
  const redis = new Redis({ port })
  try {
    for (let i = 0; i < 100 && (await redis.hlen(keys.unposted)) > 0; i++) await Bun.sleep(25)
    const [ledger] = await sql<{ balance: string }[]>`SELECT sum(amount_nano) AS balance FROM ledger WHERE account_id = ${wallet.id}`
    expect(await redis.hget(keys.wallet, 'avail')).toBe(ledger!.balance)
    expect(await redis.hget(keys.wallet, 'held')).toBe('0')
  } finally {
    redis.disconnect()
  }
}, 60_000)
