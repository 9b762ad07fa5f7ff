// The hold sweeper on real Redis and Postgres: a lost request is written from its checkpoint and paid once; settled
// records that never reached Postgres are written; live ones wait; a gateway that comes back pays Postgres's cost.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type Redis from 'ioredis'
import { ledgerBalance } from '../../src/db/queries/ledger'
import type { Sql } from '../../src/lib/db'
import { createLogger } from '../../src/lib/logger'
import { createRedis } from '../../src/lib/redis'
import { createHotRedis, type HotRedis } from '../../src/lib/hot-redis'
import { Admission, type Ticket } from '../../src/limits/admission'
import { openIndexKeys, openIndexMember, openIndexShard, subjectKeys } from '../../src/limits/keys'
import { OpenRequests } from '../../src/limits/open-requests'
import type { UsageRecord } from '../../src/metering/usage-record'
import { startHoldSweeper, type HoldSweeper } from '../../workers/holds'
import { testDb, uniqueId } from '../helpers/db'
import { prepaidAccount as prepaidAccountIn } from '../helpers/db'
import { usageRecord } from './usage-records'

const HOLD_TTL_MS = 150
const PREFIX = `{${uniqueId('mwsweep')}}`
let redis: Redis
let hot: HotRedis
let sql: Sql
let admission: Admission
let sweeper: HoldSweeper

beforeAll(async () => {
  redis = createRedis('redis://127.0.0.1:6379')
  await redis.connect()
  hot = createHotRedis('redis://127.0.0.1:6379')
  await hot.ready
  sql = await testDb(2)
  const logger = createLogger('silent')
  admission = new Admission(hot, sql, { defaultRpm: 0, defaultTpm: 0, holdTtlMs: HOLD_TTL_MS, onRedisError: 'deny', queuePrefix: PREFIX }, logger)
  // A long interval: the tests run sweeps themselves.
  sweeper = startHoldSweeper({ redis: 'redis://127.0.0.1:6379', sql, logger, queuePrefix: PREFIX, intervalMs: 600_000 })
})
afterAll(async () => {
  await sweeper.close()
  redis.disconnect()
  hot.close()
  await sql.end()
})

const prepaid = (creditNano: bigint) => prepaidAccountIn(sql, 'sweep', creditNano)

/** A prepaid stream, admitted and checkpointed once (as a stream's first checkpoint does): tracked from then on. */
async function openStream(accountId: string, holdNano: bigint): Promise<{ ticket: Ticket; record: UsageRecord }> {
  const record = usageRecord({ accountId, subject: accountId, moneyMode: 'prepaid', status: 'gateway_lost', costNano: 0, inputTokens: 0, outputTokens: 0 })
  const ticket = await admission.admit({
    requestId: record.requestId, subject: accountId, accountId, limits: { rpm: null, tpm: null }, mode: 'prepaid', capNano: null,
    holdNano, chargeTokens: 0,
  })
  admission.checkpoint(ticket, JSON.stringify(record))
  for (let i = 0; i < 100 && !(await redis.hexists(subjectKeys(accountId).open, record.requestId)); i++) await Bun.sleep(5)
  // The index entry is written without waiting; make sure it landed.
  const shard = openIndexKeys(PREFIX)[openIndexShard(record.requestId)]!
  for (let i = 0; i < 100 && (await redis.zscore(shard, openIndexMember(record.requestId, accountId))) === null; i++) await Bun.sleep(5)
  return { ticket, record }
}

const expired = () => Bun.sleep(HOLD_TTL_MS + 30)
const avail = async (id: string) => BigInt((await redis.hget(subjectKeys(id).wallet, 'avail'))!)
const row = async (requestId: string) => (await sql<{ status: string; output_tokens: number; cost_nano: string }[]>`SELECT status, output_tokens, cost_nano FROM usage_events WHERE request_id = ${requestId}`)[0]

describe('hold sweeper', () => {
  test('a lost stream is written from its last checkpoint, its hold pays that cost, and a second sweep does nothing', async () => {
    const id = await prepaid(10_000n)
    const { ticket, record } = await openStream(id, 4_000n)
    admission.checkpoint(ticket, JSON.stringify({ ...record, outputTokens: 37, costNano: 1_234 }))
    for (let i = 0; i < 100 && !(await redis.hget(subjectKeys(id).open, record.requestId))?.includes('"costNano":1234'); i++) await Bun.sleep(5)
    await expired()
    expect(await sweeper.sweep()).toMatchObject({ lost: 1 })
    expect(await row(record.requestId)).toEqual({ status: 'gateway_lost', output_tokens: 37, cost_nano: '1234' })
    expect(await avail(id)).toBe(10_000n - 1_234n)
    expect(await ledgerBalance(sql, id)).toBe(10_000n - 1_234n)
    const keys = subjectKeys(id)
    expect([await redis.hlen(keys.holds), await redis.hlen(keys.open), await redis.hget(keys.wallet, 'held')]).toEqual([0, 0, '0'])

    expect(await sweeper.sweep()).toEqual({ lost: 0, unwritten: 0, live: 0, gone: 0 })
    // The gateway comes back after all and settles: it pays nothing more.
    await admission.settle(ticket, 2_000, 0, null)
    expect(await avail(id)).toBe(10_000n - 1_234n)
  })

  test('a hold its gateway keeps alive is looked at again later, not billed', async () => {
    const id = await prepaid(10_000n)
    const { ticket, record } = await openStream(id, 4_000n)
    const open = new OpenRequests(redis, PREFIX)
    const shard = openIndexShard(record.requestId)
    // The index says "look now", but the gateway has just checkpointed: its hold is alive.
    await redis.zadd(openIndexKeys(PREFIX)[shard]!, 0, openIndexMember(record.requestId, id))
    admission.checkpoint(ticket, JSON.stringify({ ...record, outputTokens: 5 }))
    const due = await open.due(shard, Date.now(), 1000)
    const entry = due.find((e) => e.requestId === record.requestId)!
    expect((await open.inspect(entry, Date.now())).state).toBe('live')
    expect((await sweeper.sweep()).lost).toBe(0)
    expect(await row(record.requestId)).toBeUndefined()
    await admission.settle(ticket, 900, 10, JSON.stringify({ ...record, status: 'ok', costNano: 900 }))
    expect(await avail(id)).toBe(10_000n - 900n)
  })

  test('a settled record that never reached Postgres (its gateway died first) is written by the sweeper, once', async () => {
    const id = await prepaid(10_000n)
    const { ticket, record } = await openStream(id, 4_000n)
    const final = { ...record, status: 'ok' as const, outputTokens: 12, costNano: 700 }
    await admission.settle(ticket, 700, 12, JSON.stringify(final))
    expect(await redis.hget(subjectKeys(id).unposted, record.requestId)).toBe('700')
    // No usage worker ever gets the record. Once the index says its hold would have expired, the sweeper writes it.
    await expired()
    // (The live test's request, settled and never posted either, is written in the same sweep.)
    expect((await sweeper.sweep()).unwritten).toBeGreaterThanOrEqual(1)
    expect(await row(record.requestId)).toEqual({ status: 'ok', output_tokens: 12, cost_nano: '700' })
    expect(await redis.hlen(subjectKeys(id).unposted)).toBe(0)
    expect(await avail(id)).toBe(10_000n - 700n)
    expect(await ledgerBalance(sql, id)).toBe(10_000n - 700n)
  })

  test('a gateway that comes back after the sweeper wrote its request pays the cost Postgres holds', async () => {
    const id = await prepaid(10_000n)
    const { ticket, record } = await openStream(id, 4_000n)
    admission.checkpoint(ticket, JSON.stringify({ ...record, outputTokens: 3, costNano: 300 }))
    await expired()
    const open = new OpenRequests(redis, PREFIX)
    const entry = (await open.due(openIndexShard(record.requestId), Date.now(), 1000)).find((e) => e.requestId === record.requestId)!
    const found = await open.inspect(entry, Date.now())
    expect(found.state).toBe('lost')
    await sql`INSERT INTO usage_events ${sql([{ request_id: record.requestId, account_id: id, key_id: 'k', model: 'm', provider: 'openai', upstream_model: 'm', stream: true, status: 'gateway_lost', http_status: 200, input_tokens: 1, output_tokens: 3, source: 'counted', cost_nano: 300, catalog_version: 'v', total_ms: 1, started_at: new Date(), money_mode: 'prepaid' }])}`
    await sql`INSERT INTO ledger (account_id, kind, amount_nano, reference) VALUES (${id}, 'usage', -300, ${record.requestId})`
    // Between the sweeper's look and its settlement the gateway checkpointed again: its hold is alive.
    admission.checkpoint(ticket, JSON.stringify({ ...record, outputTokens: 9, costNano: 900 }))
    for (let i = 0; i < 100 && !(await redis.hget(subjectKeys(id).open, record.requestId))?.includes('"costNano":900'); i++) await Bun.sleep(5)
    expect(await open.settleLost(entry, 300, Date.now())).toBe('posted')
    // Its settlement pays what Postgres holds, not what it counted.
    await admission.settle(ticket, 900, 10, JSON.stringify({ ...record, costNano: 900 }))
    expect(await avail(id)).toBe(10_000n - 300n)
    expect(await avail(id)).toBe(await ledgerBalance(sql, id))
  })

  test('a record Postgres refuses is set aside: the rest of the sweep is written and paid, and the next sweep does not stop on it', async () => {
    const id = await prepaid(100_000n)
    const streams = await Promise.all(Array.from({ length: 6 }, () => openStream(id, 4_000n)))
    // One open record Postgres cannot take (a negative cost breaks its check constraint); the others are whole.
    for (const [i, { ticket, record }] of streams.entries()) admission.checkpoint(ticket, JSON.stringify({ ...record, outputTokens: 2, costNano: i === 3 ? -1 : 200 }))
    for (const [i, { record }] of streams.entries()) {
      const cost = `"costNano":${i === 3 ? -1 : 200}`
      for (let n = 0; n < 100 && !(await redis.hget(subjectKeys(id).open, record.requestId))?.includes(cost); n++) await Bun.sleep(5)
    }
    await expired()
    const bad = streams[3]!.record
    expect((await sweeper.sweep()).lost).toBeGreaterThanOrEqual(5)
    for (const [i, { record }] of streams.entries()) expect(await row(record.requestId)).toEqual(i === 3 ? undefined : { status: 'gateway_lost', output_tokens: 2, cost_nano: '200' })
    expect(await ledgerBalance(sql, id)).toBe(100_000n - 5n * 200n)
    // Set aside, not lost: its open record stays in Redis, and the index looks at it again only much later.
    expect(await redis.hget(subjectKeys(id).open, bad.requestId)).toContain('"costNano":-1')
    const score = Number(await redis.zscore(openIndexKeys(PREFIX)[openIndexShard(bad.requestId)]!, openIndexMember(bad.requestId, id)))
    expect(score).toBeGreaterThan(Date.now() + 60_000)
    expect(await sweeper.sweep()).toEqual({ lost: 0, unwritten: 0, live: 0, gone: 0 })
  })
})
