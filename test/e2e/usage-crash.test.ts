// 2,000 requests through the gateway become exactly 2,000 usage rows, even when the worker process is SIGKILLed halfway.
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { join } from 'node:path'
import type { Subprocess } from 'bun'
import type { Sql } from '../../src/lib/db'
import { TEST_DATABASE_URL, TEST_QUEUE_PREFIX, testDb } from '../helpers/db'
import { startGateway, TEST_KEY, type TestGateway } from '../helpers/gateway'

const REQUESTS = 2_000
const CONCURRENCY = 32
let gateway: TestGateway
let sql: Sql
const children: Subprocess[] = []

/** A real worker process: the same entry point as production, with ROLE=worker. */
function startWorkerProcess(): Subprocess {
  const child = Bun.spawn(['bun', join(import.meta.dir, '..', '..', 'src', 'index.ts')], {
    env: {
      ...process.env,
      ROLE: 'worker',
      DATABASE_URL: TEST_DATABASE_URL,
      QUEUE_PREFIX: TEST_QUEUE_PREFIX,
      LOG_LEVEL: 'warn',
      // Short locks so the killed worker's jobs come back in seconds (production: 30 s).
      WORKER_LOCK_MS: '2000',
      USAGE_FLUSH_MS: '50',
      USAGE_BATCH_SIZE: '100',
    },
    stdout: 'inherit',
    stderr: 'inherit',
  })
  children.push(child)
  return child
}

beforeAll(async () => {
  // The API alone: usage goes to the queue, and only the child processes write it to Postgres.
  gateway = await startGateway({ ROLE: 'api' })
  sql = await testDb(2)
})
afterAll(async () => {
  for (const child of children) child.kill('SIGKILL')
  await gateway.stop()
  await sql.end()
})

async function countRows(ids: string[]): Promise<{ rows: number; distinct: number }> {
  const [row] = await sql<{ rows: string; distinct: string }[]>`
    SELECT count(*) AS rows, count(DISTINCT request_id) AS distinct FROM usage_events WHERE request_id = ANY(${ids})`
  return { rows: Number(row!.rows), distinct: Number(row!.distinct) }
}

test('2,000 gateway requests → 2,000 usage_events rows, with the worker SIGKILLed halfway and restarted', async () => {
  const ids: string[] = []
  let next = 0
  async function client() {
    while (next < REQUESTS) {
      const n = next++
      const response = await fetch(`${gateway.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TEST_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'mock/echo', stream: n % 2 === 0, messages: [{ role: 'user', content: `request number ${n}` }] }),
      })
      expect(response.status).toBe(200)
      await response.text()
      ids.push(response.headers.get('x-request-id')!)
    }
  }
  const first = startWorkerProcess()
  // Wait until the worker writes: one warm-up request's row appears.
  const warmUp = await fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TEST_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'mock/echo', messages: [{ role: 'user', content: 'warm up' }] }),
  })
  const warmUpId = [warmUp.headers.get('x-request-id')!]
  for (let polls = 0; (await countRows(warmUpId)).rows === 0 && polls < 600; polls++) await Bun.sleep(50)

  const requests = Promise.all(Array.from({ length: CONCURRENCY }, client))
  // Kill the worker while requests still flow: some batches committed, some jobs active, more arriving.
  let atKill = { rows: 0, distinct: 0 }
  while (next < REQUESTS) {
    atKill = await countRows(ids)
    if (atKill.rows >= REQUESTS / 4) break
    await Bun.sleep(5)
  }
  first.kill('SIGKILL')
  await first.exited
  const sentAtKill = ids.length
  await requests
  expect(new Set(ids).size).toBe(REQUESTS)
  console.log(`worker SIGKILLed with ${atKill.rows} rows written and ${sentAtKill} of ${REQUESTS} requests answered`)
  expect(atKill.rows).toBeGreaterThan(0)
  expect(atKill.rows).toBeLessThan(REQUESTS)

  startWorkerProcess()
  let counts = atKill
  const stopAt = Date.now() + 60_000
  while (counts.rows < REQUESTS && Date.now() < stopAt) {
    await Bun.sleep(100)
    counts = await countRows(ids)
  }
  expect(counts).toEqual({ rows: REQUESTS, distinct: REQUESTS })
}, 120_000)
