// A gateway SIGKILLed with 20 streams open still bills what they delivered: the hold sweeper writes each from its last
// checkpoint (status gateway_lost), the wallet pays exactly that, and a restarted gateway bills nothing twice.
import { afterAll, beforeAll, expect, test } from 'bun:test'
import type Redis from 'ioredis'
import { insertCredit } from '../../src/db/queries/ledger'
import type { Sql } from '../../src/lib/db'
import { createRedis } from '../../src/lib/redis'
import { openIndexKeys, openIndexMember, openIndexShard, subjectKeys } from '../../src/limits/keys'
import { TEST_QUEUE_PREFIX, testDb, uniqueId } from '../helpers/db'
import { DRIP_GAP_MS, DRIP_STREAM_WORDS, startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream'
import { upstreamEnv } from '../helpers/gateway'
import { spawnMeterway, type GatewayProcess } from '../helpers/processes'

const STREAMS = 20
/** Short, so the test waits seconds, not the production 660 s and 1 s. */
const HOLD_TTL_MS = 3_000
const CHECKPOINT_INTERVAL_MS = 250
/** Words a stream delivers in one checkpoint interval: the most a checkpoint can lag behind what was delivered. */
const WORDS_PER_INTERVAL = Math.ceil(CHECKPOINT_INTERVAL_MS / DRIP_GAP_MS)

let upstream: FakeUpstream
let sql: Sql
let redis: Redis
const processes: GatewayProcess[] = []

const env = () => ({
  ...upstreamEnv(upstream.url),
  HOLD_TTL_MS: String(HOLD_TTL_MS),
  CHECKPOINT_INTERVAL_MS: String(CHECKPOINT_INTERVAL_MS),
  HOLD_SWEEP_INTERVAL_MS: '200',
  REQUIRE_SUBSCRIPTION: 'false',
  USAGE_FLUSH_MS: '20',
})

beforeAll(async () => {
  upstream = startFakeUpstream()
  sql = await testDb(2)
  redis = createRedis('redis://127.0.0.1:6379')
  await redis.connect()
})
afterAll(async () => {
  for (const p of processes) p.child.kill('SIGKILL')
  await sql.end()
  redis.disconnect()
  upstream.stop()
})

async function waitFor<T>(what: string, timeoutMs: number, check: () => Promise<T | null>): Promise<T> {
  const deadline = performance.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value !== null) return value
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await Bun.sleep(50)
  }
}

/** A stream read word by word; resolves with the words it got before the gateway died under it. */
async function openStream(url: string, apiKey: string) {
  const response = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'openai/gpt-4o', stream: true, messages: [{ role: 'user', content: 'Tell me a long story. scenario:drip' }] }),
  })
  expect(response.status).toBe(200)
  const requestId = response.headers.get('x-request-id')!
  const state = { requestId, words: 0, done: Promise.resolve() }
  state.done = (async () => {
    const decoder = new TextDecoder()
    let buffered = ''
    try {
      for await (const piece of response.body!) {
        buffered += decoder.decode(piece, { stream: true })
        let end: number
        while ((end = buffered.indexOf('\n\n')) !== -1) {
          const event = buffered.slice(0, end)
          buffered = buffered.slice(end + 2)
          if (event.includes('"content":" word"')) state.words++
        }
      }
    } catch {
      // The gateway died under the stream: that is the point.
    }
  })()
  return state
}

test('SIGKILL with 20 open streams: each billed within one checkpoint interval of what it delivered, once', async () => {
  const api = await spawnMeterway({ ...env(), ROLE: 'api' })
  processes.push(api)
  const workers = await spawnMeterway({ ...env(), ROLE: 'worker' })
  processes.push(workers)

  const agentId = uniqueId('crash')
  const registered = await fetch(`${api.url}/agents/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ agent_id: agentId, name: 'Crash' }) })
  const { api_key: apiKey } = (await registered.json()) as { api_key: string }
  await sql`UPDATE accounts SET billing_mode = 'prepaid' WHERE id = ${agentId}`
  const credit = 1_000_000_000n
  await insertCredit(sql, agentId, credit, `credit:${agentId}`, 'test')

  const streams = await Promise.all(Array.from({ length: STREAMS }, () => openStream(api.url!, apiKey)))
  // Let every stream deliver a good part of its answer (and be checkpointed a few times), then kill the gateway.
  await waitFor('40 words on every stream', 30_000, async () => (streams.every((s) => s.words >= 40) ? true : null))
  api.child.kill('SIGKILL')
  await api.exited
  await Promise.all(streams.map((s) => s.done))
  const delivered = new Map(streams.map((s) => [s.requestId, s.words]))
  for (const words of delivered.values()) expect(words).toBeLessThan(DRIP_STREAM_WORDS)

  const ids = [...delivered.keys()]
  const rows = await waitFor('a usage row for every lost stream', 30_000, async () => {
    const found = await sql<{ request_id: string; status: string; output_tokens: number; input_tokens: number; cost_nano: string }[]>`
      SELECT request_id, status, output_tokens, input_tokens, cost_nano FROM usage_events WHERE request_id = ANY(${ids})`
    return found.length === STREAMS ? found : null
  })
  for (const row of rows) {
    expect(row.status).toBe('gateway_lost')
    const words = delivered.get(row.request_id)!
    // The checkpoint lags what was delivered by at most one interval; it may also count words the client never read.
    expect(row.output_tokens).toBeGreaterThanOrEqual(words - WORDS_PER_INTERVAL - 1)
    expect(row.output_tokens).toBeLessThanOrEqual(words + WORDS_PER_INTERVAL + 1)
    expect(row.input_tokens).toBeGreaterThan(0)
    expect(Number(row.cost_nano)).toBeGreaterThan(0)
  }
  const billed = rows.reduce((sum, row) => sum + BigInt(row.cost_nano), 0n)
  const lags = rows.map((row) => delivered.get(row.request_id)! - row.output_tokens)
  console.log(`crash billing: ${STREAMS} streams killed after ${Math.min(...delivered.values())}–${Math.max(...delivered.values())} words; checkpoint lag ${Math.min(...lags)}..${Math.max(...lags)} words (interval ${CHECKPOINT_INTERVAL_MS} ms = ${WORDS_PER_INTERVAL} words)`)

  // The wallet paid exactly what the rows say, in Postgres and in Redis, and no hold is left.
  const keys = subjectKeys(agentId)
  const balance = async () => BigInt((await sql<{ b: string }[]>`SELECT sum(amount_nano)::bigint AS b FROM ledger WHERE account_id = ${agentId}`)[0]!.b)
  await waitFor('holds released and costs posted', 30_000, async () =>
    (await redis.hlen(keys.holds)) === 0 && (await redis.hlen(keys.open)) === 0 && (await redis.hlen(keys.unposted)) === 0 ? true : null,
  )
  expect(await balance()).toBe(credit - billed)
  expect(BigInt((await redis.hget(keys.wallet, 'avail'))!)).toBe(credit - billed)
  expect(await redis.hget(keys.wallet, 'held')).toBe('0')

  // A restarted gateway (and more sweeps) bills nothing twice; the wallet still serves, paying only the new request.
  const again = await spawnMeterway({ ...env(), ROLE: 'api' })
  processes.push(again)
  const reply = await fetch(`${again.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'openai/gpt-4o', max_tokens: 16, messages: [{ role: 'user', content: 'Hello!' }] }),
  })
  expect(reply.status).toBe(200)
  const newId = reply.headers.get('x-request-id')!
  await reply.text()
  const [newRow] = await waitFor('the new request written', 30_000, async () => {
    const found = await sql<{ cost_nano: string }[]>`SELECT cost_nano FROM usage_events WHERE request_id = ${newId}`
    return found.length === 1 ? found : null
  })
  // Every lost stream left the sweeper's index when it was billed, so no later sweep can bill it again; and it was billed once.
  const shards = openIndexKeys(TEST_QUEUE_PREFIX)
  for (const id of ids) expect(await redis.zscore(shards[openIndexShard(id)]!, openIndexMember(id, agentId))).toBeNull()
  expect(workers.output().split('gateway lost a request').length - 1).toBe(STREAMS)
  const all = await sql<{ n: string }[]>`SELECT count(*) AS n FROM usage_events WHERE account_id = ${agentId}`
  expect(Number(all[0]!.n)).toBe(STREAMS + 1)
  await waitFor('the new request settled and posted', 30_000, async () => ((await redis.hlen(keys.unposted)) === 0 && (await redis.hlen(keys.holds)) === 0 ? true : null))
  expect(await balance()).toBe(credit - billed - BigInt(newRow!.cost_nano))
  expect(BigInt((await redis.hget(keys.wallet, 'avail'))!)).toBe(await balance())
}, 120_000)
