// The admission scripts' edge cases on real Redis: holds a dead gateway left, settling twice, token refunds, rebuilds.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type Redis from 'ioredis'
import type { Sql } from '../../src/lib/db'
import { createLogger } from '../../src/lib/logger'
import { createRedis } from '../../src/lib/redis'
import { createHotRedis, type HotRedis } from '../../src/lib/hot-redis'
import { Admission, type AdmissionRequest } from '../../src/limits/admission'
import { lineageKey, subjectKeys } from '../../src/limits/keys'
import { TEST_QUEUE_PREFIX, testDb, uniqueId } from '../helpers/db'
import { prepaidAccount as prepaidAccountIn } from '../helpers/db'
import { registerScripts } from '../../src/limits/scripts'
import { waitFor } from '../helpers/poll'

let redis: Redis
let hot: HotRedis
let sql: Sql
const HOLD_TTL_MS = 100
let admission: Admission

beforeAll(async () => {
  redis = createRedis('redis://127.0.0.1:6379')
  await redis.connect()
  hot = createHotRedis('redis://127.0.0.1:6379')
  await hot.ready
  sql = await testDb(2)
  admission = new Admission(hot, sql, { defaultRpm: 0, defaultTpm: 0, holdTtlMs: HOLD_TTL_MS, onRedisError: 'deny', queuePrefix: TEST_QUEUE_PREFIX }, createLogger('silent'))
})
afterAll(async () => {
  redis.disconnect()
  hot.close()
  await sql.end()
})

const prepaidAccount = (creditNano: bigint) => prepaidAccountIn(sql, 'adm', creditNano)

const request = (accountId: string, overrides: Partial<AdmissionRequest> = {}): AdmissionRequest => ({
  requestId: `req_${crypto.randomUUID().replaceAll('-', '')}`,
  subject: accountId,
  accountId,
  limits: { rpm: null, tpm: null },
  mode: 'prepaid',
  capNano: null,
  holdNano: 1_000n,
  chargeTokens: 10,
  ...overrides,
})

/** What the usage worker does after committing a request's row (workers/usage/unposted.ts). */
async function posted(subject: string, requestId: string, costNano: number): Promise<void> {
  const keys = subjectKeys(subject)
  await registerScripts(redis)('post-usage-4', [keys.unposted, keys.posted, keys.settled, keys.open], [requestId, costNano])
}

const wallet = async (accountId: string) => {
  const [avail, held] = await redis.hmget(subjectKeys(accountId).wallet, 'avail', 'held')
  return { avail: BigInt(avail ?? '0'), held: BigInt(held ?? '0') }
}

describe('Admission', () => {
  test('a hold whose gateway died (never settled) is given back once it expires', async () => {
    const id = await prepaidAccount(1_500n)
    await admission.admit(request(id))
    expect(await wallet(id)).toEqual({ avail: 500n, held: 1_000n })
    // Not enough for a second hold while the first stands…
    await expect(admission.admit(request(id))).rejects.toMatchObject({ status: 402, code: 'insufficient_balance' })
    await Bun.sleep(HOLD_TTL_MS + 20)
    // …and enough once it expired: the next admission releases it first.
    await admission.admit(request(id))
    expect(await wallet(id)).toEqual({ avail: 500n, held: 1_000n })
    expect(await redis.hlen(subjectKeys(id).holds)).toBe(1)
  })

  test('settling twice debits once', async () => {
    const id = await prepaidAccount(10_000n)
    const ticket = await admission.admit(request(id))
    await admission.settle(ticket, 400, 5, null)
    await admission.settle(ticket, 400, 5, null)
    expect(await wallet(id)).toEqual({ avail: 9_600n, held: 0n })
    expect(await redis.hget(subjectKeys(id).unposted, ticket.requestId)).toBe('400')
  })

  test('a request settled after its hold expired still pays in full', async () => {
    const id = await prepaidAccount(10_000n)
    const ticket = await admission.admit(request(id))
    await Bun.sleep(HOLD_TTL_MS + 20)
    await admission.admit(request(id, { holdNano: 0n }))
    expect(await wallet(id)).toEqual({ avail: 10_000n, held: 0n })
    await admission.settle(ticket, 700, 5, null)
    expect((await wallet(id)).avail).toBe(9_300n)
  })

  test('the token bucket is charged the estimate and refunded what was not used', async () => {
    const subject = uniqueId('tpm')
    const limited = { limits: { rpm: null, tpm: 100 }, mode: 'none' as const, chargeTokens: 60 }
    const ticket = await admission.admit(request(subject, limited))
    expect(ticket.headers['x-ratelimit-remaining-tokens']).toBe('40')
    await expect(admission.admit(request(subject, limited))).rejects.toMatchObject({ status: 429 })
    await admission.settle(ticket, 0, 15, null)
    const again = await admission.admit(request(subject, limited))
    expect(Number(again.headers['x-ratelimit-remaining-tokens'])).toBeGreaterThanOrEqual(25)
  })

  test('a rebuilt wallet subtracts costs Redis settled that Postgres lacks, and drops those Postgres already has', async () => {
    const id = await prepaidAccount(10_000n)
    const keys = subjectKeys(id)
    // Two settled requests: one already written by the usage worker (its debit is in the ledger), one still queued.
    await redis.hset(keys.unposted, 'req_posted', '300', 'req_queued', '200')
    await redis.zadd(keys.settled, Date.now(), 'req_posted', Date.now(), 'req_queued')
    await sql`INSERT INTO usage_events (request_id, account_id, key_id, model, provider, upstream_model, stream, status, http_status,
      input_tokens, output_tokens, source, cost_nano, catalog_version, total_ms, started_at, money_mode)
      VALUES ('req_posted', ${id}, 'k', 'm', 'openai', 'm', false, 'ok', 200, 1, 1, 'provider', 300, 'v', 1, now(), 'prepaid')`
    await sql`INSERT INTO ledger (account_id, kind, amount_nano, reference) VALUES (${id}, 'usage', -300, 'req_posted')`
    const { availableNano } = await admission.balance(id)
    expect(availableNano).toBe(10_000n - 300n - 200n)
    expect(await redis.hkeys(keys.unposted)).toEqual(['req_queued'])
  })
})

test('a rebuild forgets a settled cost whose record never reached Postgres in a day (its gateway died holding it)', async () => {
  const id = await prepaidAccount(10_000n)
  const keys = subjectKeys(id)
  // Settled over a day ago (its mark in "settled" trimmed since), never posted: the record was lost, the ledger never charged it.
  await redis.hset(keys.unposted, 'req_lost', '700', 'req_recent', '200')
  await redis.zadd(keys.settled, Date.now(), 'req_recent')
  expect((await admission.balance(id)).availableNano).toBe(10_000n - 200n)
  expect(await redis.hkeys(keys.unposted)).toEqual(['req_recent'])
})

describe('settlement when Redis fails', () => {
  test('a settlement that failed is retried and debits once Redis answers', async () => {
    const id = await prepaidAccount(10_000n)
    const ticket = await admission.admit(request(id))
    // Another Admission whose Redis is down for its first call: the same script calls, failing once.
    let failures = 1
    const flaky = new Admission(hot, sql, { defaultRpm: 0, defaultTpm: 0, holdTtlMs: HOLD_TTL_MS, onRedisError: 'deny', queuePrefix: TEST_QUEUE_PREFIX }, createLogger('silent'))
    const flakyRedis: HotRedis = { ...hot, script: (...args) => (failures-- > 0 ? Promise.reject(new Error('connection lost')) : hot.script(...args)) }
    ;(flaky as unknown as { redis: HotRedis }).redis = flakyRedis
    await flaky.settle(ticket, 250, 5, null)
    expect((await wallet(id)).held).toBe(1_000n)
    await waitFor(async () => (await wallet(id)).held === 0n, 5_000, 'the retried settlement')
    expect(await wallet(id)).toEqual({ avail: 9_750n, held: 0n })
  })
})

describe('usage posted by the worker before Redis settled it', () => {
  const ledgerDebit = (accountId: string, requestId: string, cost: number) =>
    sql`INSERT INTO ledger (account_id, kind, amount_nano, reference) VALUES (${accountId}, 'usage', ${-cost}, ${requestId})`
  const pgBalance = async (accountId: string) => {
    const [row] = await sql<{ balance: string }[]>`SELECT sum(amount_nano) AS balance FROM ledger WHERE account_id = ${accountId}`
    return BigInt(row!.balance)
  }

  test('a gateway that died before settling: the expiring hold pays the posted cost, and a late settle pays nothing more', async () => {
    const id = await prepaidAccount(10_000n)
    const ticket = await admission.admit(request(id))
    // The usage record reached the worker, which committed it; the gateway never settled.
    await ledgerDebit(id, ticket.requestId, 400)
    await posted(id, ticket.requestId, 400)
    await Bun.sleep(HOLD_TTL_MS + 20)
    await admission.admit(request(id, { holdNano: 0n }))
    expect(await wallet(id)).toEqual({ avail: 9_600n, held: 0n })
    expect((await wallet(id)).avail).toBe(await pgBalance(id))
    await admission.settle(ticket, 400, 5, null)
    expect((await wallet(id)).avail).toBe(9_600n)
  })

  test('the worker first, then the settle: paid once, nothing left unposted or marked', async () => {
    const id = await prepaidAccount(10_000n)
    const ticket = await admission.admit(request(id))
    await ledgerDebit(id, ticket.requestId, 400)
    await posted(id, ticket.requestId, 400)
    await admission.settle(ticket, 400, 5, null)
    expect(await wallet(id)).toEqual({ avail: 9_600n, held: 0n })
    const keys = subjectKeys(id)
    expect(await redis.hlen(keys.unposted)).toBe(0)
    expect(await redis.hlen(keys.posted)).toBe(0)
  })

  test('the settle first, then the worker: the unposted entry goes and no mark is left', async () => {
    const id = await prepaidAccount(10_000n)
    const ticket = await admission.admit(request(id))
    await admission.settle(ticket, 400, 5, null)
    await ledgerDebit(id, ticket.requestId, 400)
    await posted(id, ticket.requestId, 400)
    const keys = subjectKeys(id)
    expect(await redis.hlen(keys.unposted)).toBe(0)
    expect(await redis.hlen(keys.posted)).toBe(0)
    expect((await wallet(id)).avail).toBe(await pgBalance(id))
  })

  test('a wallet rebuilt while a posted request still holds: its cost counts once, its hold comes back on expiry', async () => {
    const id = await prepaidAccount(10_000n)
    const ticket = await admission.admit(request(id))
    await ledgerDebit(id, ticket.requestId, 400)
    await posted(id, ticket.requestId, 400)
    await redis.hdel(subjectKeys(id).wallet, 'loaded')
    expect((await admission.balance(id)).availableNano).toBe(9_600n - 1_000n)
    await admission.settle(ticket, 400, 5, null)
    await Bun.sleep(HOLD_TTL_MS + 20)
    await admission.admit(request(id, { holdNano: 0n }))
    expect(await wallet(id)).toEqual({ avail: 9_600n, held: 0n })
    expect((await wallet(id)).avail).toBe(await pgBalance(id))
  })
})

describe('a session lineage\'s max_spend', () => {
  const lineage = (maxSpendNano: bigint) => ({ id: uniqueId('sln'), maxSpendNano })
  const spent = async (subject: string, id: string) => BigInt((await redis.hget(lineageKey(subject, id), 'spent')) ?? '0')

  test('spent + held + this hold stays within it; a settle turns the hold into the actual cost', async () => {
    const id = await prepaidAccount(100_000n)
    const cap = lineage(2_500n)
    const first = await admission.admit(request(id, { lineage: cap }))
    await admission.admit(request(id, { lineage: cap }))
    // 2 000 held: a third hold of 1 000 would pass 2 500, though the wallet could pay it.
    await expect(admission.admit(request(id, { lineage: cap }))).rejects.toMatchObject({ status: 402, code: 'session_spend_limit' })
    await admission.settle(first, 300, 5, null)
    expect(await spent(id, cap.id)).toBe(300n)
    // 300 spent + 1 000 held + 1 000: within the cap now.
    await admission.admit(request(id, { lineage: cap }))
    // Another lineage of the same wallet has its own cap.
    await admission.admit(request(id, { lineage: lineage(1_000n) }))
    expect((await wallet(id)).avail).toBe(100_000n - 300n - 3_000n)
  })

  test('a hold that expired without its settlement counts in full against the lineage (never over the cap)', async () => {
    const id = await prepaidAccount(100_000n)
    const cap = lineage(1_500n)
    await admission.admit(request(id, { lineage: cap }))
    await Bun.sleep(HOLD_TTL_MS + 20)
    // The wallet got the expired hold back; the lineage keeps it as spent, so 1 000 + 1 000 > 1 500.
    await expect(admission.admit(request(id, { lineage: cap }))).rejects.toMatchObject({ status: 402, code: 'session_spend_limit' })
    expect(await spent(id, cap.id)).toBe(1_000n)
    expect(await wallet(id)).toEqual({ avail: 100_000n, held: 0n })
  })
})
