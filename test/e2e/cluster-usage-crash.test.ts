// On a real Redis Cluster, 1,000 requests through two API processes become exactly 1,000 usage rows written by two worker processes, one SIGKILLed halfway and restarted.
import { afterAll, beforeAll, expect, test } from 'bun:test'
import type { Sql } from '../../src/lib/db'
import { testDb } from '../helpers/db'
import { TEST_KEY } from '../helpers/gateway'
import { spawnMeterway, type GatewayProcess } from '../helpers/processes'
import { startRedisCluster, type LocalRedisCluster } from '../helpers/redis-cluster'

const REQUESTS = 1_000
const CONCURRENCY = 32
let cluster: LocalRedisCluster
let sql: Sql
let apis: GatewayProcess[] = []
const workers: GatewayProcess[] = []
let clusterEnv: Record<string, string>

/** A real worker process (ROLE=worker) on the cluster. */
async function startWorker(): Promise<GatewayProcess> {
  const worker = await spawnMeterway({
    ...clusterEnv,
    ROLE: 'worker',
    // Short locks so the killed worker's jobs come back in seconds (production: 30 s).
    WORKER_LOCK_MS: '2000',
    USAGE_FLUSH_MS: '50',
    USAGE_BATCH_SIZE: '100',
  })
  workers.push(worker)
  return worker
}

beforeAll(async () => {
  cluster = await startRedisCluster()
  sql = await testDb(2)
  clusterEnv = { REDIS_URL: cluster.url, GATEWAY_API_KEYS: TEST_KEY, LOG_LEVEL: 'info' }
  const first = await spawnMeterway({ ...clusterEnv, ROLE: 'api', LOG_LEVEL: 'warn' })
  apis = [first, await spawnMeterway({ ...clusterEnv, ROLE: 'api', LOG_LEVEL: 'warn' })]
}, 60_000)
afterAll(async () => {
  for (const child of [...apis, ...workers]) child.child.kill('SIGKILL')
  await Promise.all([...apis, ...workers].map((child) => child.exited))
  await sql?.end()
  await cluster?.stop()
}, 30_000)

async function countRows(ids: string[]): Promise<{ rows: number; distinct: number }> {
  const [row] = await sql<{ rows: string; distinct: string }[]>`
    SELECT count(*) AS rows, count(DISTINCT request_id) AS distinct FROM usage_events WHERE request_id = ANY(${ids})`
  return { rows: Number(row!.rows), distinct: Number(row!.distinct) }
}

const send = (url: string, n: number) =>
  fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TEST_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'mock/echo', stream: n % 2 === 0, messages: [{ role: 'user', content: `request number ${n}` }] }),
  })

test('1,000 requests over two API processes → 1,000 usage_events rows, with one of two workers SIGKILLed halfway and restarted', async () => {
  const [doomed] = await Promise.all([startWorker(), startWorker()])
  const ids: string[] = []
  let next = 0
  async function client() {
    while (next < REQUESTS) {
      const n = next++
      const response = await send(apis[n % 2]!.url!, n)
      expect(response.status).toBe(200)
      await response.text()
      ids.push(response.headers.get('x-request-id')!)
    }
  }

  const requests = Promise.all(Array.from({ length: CONCURRENCY }, client))
  // Kill one worker while requests still flow: some batches committed, some jobs active, more arriving.
  let atKill = { rows: 0, distinct: 0 }
  while (next < REQUESTS) {
    atKill = await countRows(ids)
    if (atKill.rows >= REQUESTS / 4) break
    await Bun.sleep(5)
  }
  doomed!.child.kill('SIGKILL')
  await doomed!.exited
  const sentAtKill = ids.length
  await requests
  expect(new Set(ids).size).toBe(REQUESTS)
  console.log(`cluster: a worker SIGKILLed with ${atKill.rows} rows written and ${sentAtKill} of ${REQUESTS} requests answered`)
  expect(atKill.rows).toBeGreaterThan(0)
  expect(atKill.rows).toBeLessThan(REQUESTS)

  await startWorker()
  let counts = atKill
  const stopAt = Date.now() + 60_000
  while (counts.rows < REQUESTS && Date.now() < stopAt) {
    await Bun.sleep(100)
    counts = await countRows(ids)
  }
  expect(counts).toEqual({ rows: REQUESTS, distinct: REQUESTS })
  // The surviving and the restarted worker are still running.
  for (const worker of workers.slice(1)) expect(worker.child.exitCode).toBeNull()
}, 120_000)
