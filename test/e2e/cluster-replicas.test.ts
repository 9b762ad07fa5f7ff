// Two API processes and a worker on a real Redis Cluster: a raced wallet stays exact, a rate limit is shared, a revoked key is evicted everywhere.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { estimateChat } from '../../src/exchange/estimate'
import type { Sql } from '../../src/lib/db'
import { createRedis, type RedisConnection } from '../../src/lib/redis'
import { subjectKeys } from '../../src/limits/keys'
import { measurePrompt } from '../../src/metering/prompt'
import { OPENAI_PROMPT } from '../../src/providers/openai'
import { buildCatalog } from '../../src/pricing/catalog'
import { testDb, uniqueId } from '../helpers/db'
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream'
import { ADMIN_TOKEN, upstreamEnv } from '../helpers/gateway'
import { chat, checkMoney, registerAgent, sampleMoney, waitForDrain } from '../helpers/money'
import { waitFor } from '../helpers/poll'
import { spawnMeterway, type GatewayProcess } from '../helpers/processes'
import { startRedisCluster, type LocalRedisCluster } from '../helpers/redis-cluster'

let cluster: LocalRedisCluster
let upstream: FakeUpstream
let sql: Sql
let redis: RedisConnection
let apis: GatewayProcess[] = []
let worker: GatewayProcess

beforeAll(async () => {
  cluster = await startRedisCluster()
  upstream = startFakeUpstream()
  sql = await testDb(4)
  const env = {
    ...upstreamEnv(upstream.url),
    REDIS_URL: cluster.url,
    LOG_LEVEL: 'warn',
    // A cached key would stay valid this long: only the pub/sub eviction can explain a revoked key refused sooner.
    PRINCIPAL_CACHE_TTL_MS: '600000',
  }
  // Started one by one: the first applies the migrations, so the others need not wait on its lock.
  const first = await spawnMeterway({ ...env, ROLE: 'api' })
  const [second, workerProcess] = await Promise.all([spawnMeterway({ ...env, ROLE: 'api' }), spawnMeterway({ ...env, ROLE: 'worker', LOG_LEVEL: 'info' })])
  apis = [first, second]
  worker = workerProcess
  redis = createRedis({ kind: 'cluster', nodes: cluster.nodes })
  await redis.connect()
}, 60_000)
afterAll(async () => {
  for (const child of [...apis, worker]) {
    child?.child.kill('SIGTERM')
    await child?.exited
  }
  redis?.disconnect()
  await sql?.end()
  upstream?.stop()
  await cluster?.stop()
}, 30_000)

const urls = () => apis.map((api) => api.url!)
const MESSAGES = [
  { role: 'system' as const, content: 'You are a helpful assistant.' },
  { role: 'user' as const, content: 'Hello! scenario:slow' },
]
const MAX_TOKENS = 16

/** What the gateway holds for one of the race's requests (its own estimate, so the test follows any change to it). */
async function holdNano(): Promise<bigint> {
  const request = { model: 'openai/gpt-4o', stream: true, max_tokens: MAX_TOKENS, messages: MESSAGES }
  const model = buildCatalog().find('openai/gpt-4o')!
  return estimateChat({ request, model, measure: await measurePrompt(request), profile: OPENAI_PROMPT, progressiveSliceTokens: null }).holdNano
}

const admin = (path: string, method: string, body?: unknown) =>
  fetch(`${urls()[0]}/admin${path}`, { method, headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }, ...(body ? { body: JSON.stringify(body) } : {}) })

/** A subscribed agent registered on the first process: its key and key id. */
async function subscribedAgent(): Promise<{ id: string; apiKey: string; keyId: string }> {
  const id = uniqueId('cluster')
  const response = await fetch(`${urls()[0]}/agents/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ agent_id: id, name: 'Cluster' }) })
  expect(response.status).toBe(201)
  const { api_key, key_id } = (await response.json()) as { api_key: string; key_id: string }
  expect((await admin(`/agents/${id}/subscription`, 'POST', { status: 'active' })).status).toBe(200)
  return { id, apiKey: api_key, keyId: key_id }
}

describe('on a Redis Cluster, with two API processes', () => {
  test('200 concurrent streams against a wallet for 10, split over both: never below zero, Postgres = credits − usage = Redis, no hold left', async () => {
    const hold = await holdNano()
    const agent = await registerAgent(urls()[0]!, sql, { mode: 'prepaid', creditNano: 10n * hold })
    // Both processes know the key before the race (a lookup from Postgres would hand the first process a head start).
    for (const url of urls()) expect((await fetch(`${url}/llm/usage`, { headers: { authorization: `Bearer ${agent.apiKey}` } })).status).toBe(200)
    const sampler = sampleMoney(redis, agent.id)
    const replies = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        chat(urls()[i % 2]!, agent.apiKey, {
          model: 'openai/gpt-4o',
          stream: true,
          max_tokens: MAX_TOKENS,
          // A tenth of the upstreams break mid-stream: those are paid for what they delivered.
          messages: i % 10 === 0 ? [MESSAGES[0], { role: 'user', content: 'Hello! scenario:break' }] : MESSAGES,
        }),
      ),
    )
    const seen = await sampler.stop()
    const admitted = replies.filter((r) => r.status === 200)
    expect(replies.filter((r) => r.status !== 200 && r.status !== 402).map((r) => r.status)).toEqual([])
    expect(admitted.length).toBeGreaterThanOrEqual(10)

    await waitForDrain(sql, redis, agent.id, admitted.map((r) => r.requestId!))
    const report = await checkMoney(sql, redis, agent, seen)
    const byProcess = [0, 1].map((p) => replies.filter((r, i) => r.status === 200 && i % 2 === p).length)
    console.log(`cluster wallet race: ${admitted.length} admitted of 200 (${byProcess.join(' + ')} by the two processes); ${report.summary}`)
    expect(report.violations).toEqual([])
    expect(seen.minAvailable).not.toBeNull()
    const keys = subjectKeys(agent.id)
    expect(await redis.hget(keys.wallet, 'held')).toBe('0')
    expect(await redis.hlen(keys.holds)).toBe(0)
    const [ledger] = await sql<{ debits: string }[]>`SELECT count(*) FILTER (WHERE kind = 'usage') AS debits FROM ledger WHERE account_id = ${agent.id}`
    expect(Number(ledger!.debits)).toBe(admitted.length)
  }, 60_000)

  test('a limit of 12 requests per minute admits exactly 12 of 40 sent at once to both processes', async () => {
    const agent = await subscribedAgent()
    expect((await admin(`/agents/${agent.id}/limits`, 'PUT', { rpm: 12 })).status).toBe(200)
    const responses = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        fetch(`${urls()[i % 2]}/v1/chat/completions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${agent.apiKey}`, 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'mock/echo', messages: [{ role: 'user', content: `hi ${i}` }] }),
        }),
      ),
    )
    await Promise.all(responses.map((r) => r.text()))
    const statuses = responses.map((r) => r.status)
    expect(statuses.filter((s) => s === 200).length).toBe(12)
    expect(statuses.filter((s) => s === 429).length).toBe(28)
    // One bucket: the admitted requests counted it down from 11 to 0. The bucket refills continuously (a fifth of a
    // request per second at rpm 12), so a count may repeat or skip by one when the refill crosses a whole request
    // during the burst (seen in CI: …4, 5, 5, 7…); two buckets would have admitted 24.
    const remaining = responses.filter((r) => r.status === 200).map((r) => Number(r.headers.get('x-ratelimit-remaining')))
    remaining.sort((a, b) => a - b)
    expect(remaining[0]).toBe(0)
    remaining.forEach((count, i) => expect(Math.abs(count - i)).toBeLessThanOrEqual(1))
  }, 30_000)

  test('a key revoked on one process is refused by the other within seconds (eviction over pub/sub), not after its 10-minute cache TTL', async () => {
    const agent = await subscribedAgent()
    const call = (url: string) =>
      fetch(`${url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${agent.apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'mock/echo', messages: [{ role: 'user', content: 'hi' }] }),
      }).then(async (r) => (await r.text(), r.status))
    // The second process has the key in its cache now.
    expect(await call(urls()[1]!)).toBe(200)
    expect((await admin(`/keys/${agent.keyId}`, 'DELETE')).status).toBe(200)
    await waitFor(async () => (await call(urls()[1]!)) === 401, 5_000, 'the second process to refuse the revoked key')
    expect(await call(urls()[0]!)).toBe(401)
  }, 30_000)
})

test("/metrics reads the queues' depths from the cluster", async () => {
  const text = await (await fetch(`${urls()[1]}/metrics`)).text()
  for (const queue of ['usage', 'webhooks']) expect(text).toMatch(new RegExp(`^meterway_queue_jobs\\{queue="${queue}",state="waiting"\\} \\d+$`, 'm'))
})
