// Pending upto payments on a real Redis: the admission (nonce, payer's bucket, record in one call), the take that makes a settle happen once, checkpoints that stop at the take, leases cut before the permit's deadline, and the sweeper's give-up, zero and never-checkpointed cases.
import { afterAll, beforeAll, expect, test } from 'bun:test'
import type { PaymentPayload, PaymentRequirements } from '@x402/core/types'
import type Redis from 'ioredis'
import { createLogger } from '../../src/lib/logger'
import { createRedis } from '../../src/lib/redis'
import { registerScripts } from '../../src/limits/scripts'
import { createFacilitator } from '../../src/x402/facilitator'
import { claimForPayer } from '../../src/x402/payer-claim'
import type { X402PaymentRecord } from '../../src/x402/payment-record'
import { DEADLINE_MARGIN_MS, UptoPending, uptoDueKey, uptoPendingKey, type UptoMaterial } from '../../src/x402/upto-pending'
import { startUptoSweeper, type UptoSweeper } from '../../workers/x402-upto'
import { uniqueId } from '../helpers/db'
import { freePort } from '../helpers/processes'

/** Its own prefix: no other test's payments in its index. */
const PREFIX = `{uptotest${process.pid}}`
const LEASE_MS = 5_000
let redis: Redis
let pending: UptoPending
let run: ReturnType<typeof registerScripts>
const sweepers: UptoSweeper[] = []

beforeAll(async () => {
  redis = createRedis('redis://127.0.0.1:6379')
  await redis.connect()
  run = registerScripts(redis)
  pending = new UptoPending({ script: run, command: (name, args) => redis.call(name, ...args) }, PREFIX, LEASE_MS)
})
afterAll(async () => {
  for (const s of sweepers) await s.close()
  redis.disconnect()
})

function material(deadlineInS: number, maxAtomic = 20_000n): UptoMaterial {
  const requirements = { scheme: 'upto', network: 'eip155:84532', asset: '0x036CbD53842c5426634e7929541eC2318f3dCF7e', payTo: '0x0000000000000000000000000000000000000001', amount: maxAtomic.toString(), maxTimeoutSeconds: 300, extra: {} } as PaymentRequirements
  return {
    requestId: uniqueId('req'),
    route: 'POST /v1/chat/completions',
    payer: '0x00000000000000000000000000000000000000aa',
    maxAtomic: maxAtomic.toString(),
    deadline: Math.floor(Date.now() / 1000) + deadlineInS,
    startedAt: new Date().toISOString(),
    payload: { x402Version: 2, accepted: requirements, payload: {} } as unknown as PaymentPayload,
    requirements,
  }
}

/** A sweeper whose facilitator cannot be reached, with its clock where the test puts it. */
function sweeper(records: X402PaymentRecord[], now: () => number): UptoSweeper {
  const s = startUptoSweeper({
    redis: 'redis://127.0.0.1:6379',
    queuePrefix: PREFIX,
    facilitator: createFacilitator({ url: `http://127.0.0.1:${freePort()}`, headers: {}, timeoutMs: 1_000 }),
    record: (r) => records.push(r),
    logger: createLogger('silent'),
    intervalMs: 600_000,
    settleLeaseMs: 10_000,
    now,
  })
  sweepers.push(s)
  return s
}

test("the payer's bucket is charged in the same call (upto-open-4): over it nothing is claimed or written; exact payments share the bucket", async () => {
  const now = Date.now()
  const payer = `0x${Bun.randomUUIDv7().replaceAll('-', '').slice(0, 40)}` as `0x${string}`
  const m = (id: string) => ({ ...material(300), payer, requestId: id })
  const a = m(uniqueId('req'))
  expect(await pending.open(a, '0x1', 2, now)).toEqual({ kind: 'claimed' })
  // The same request asking again (a lost answer) is not charged twice; a replay is not charged at all.
  expect(await pending.open(a, '0x1', 2, now)).toEqual({ kind: 'claimed' })
  expect(await pending.open(m(uniqueId('req')), '0x1', 2, now)).toEqual({ kind: 'replay' })
  // The exact scheme's claim (x402-claim-2) takes the payer's second request from the same bucket.
  const exact = await claimForPayer({ script: (name, keys, args) => run(name, keys as string[], args) }, { prefix: PREFIX, scheme: 'exact', network: 'eip155:84532', asset: a.requirements.asset, payer, nonce: '0x2', until: BigInt(a.deadline), token: 'req_exact', rpm: 2 }, now)
  expect(exact).toBe(true)
  const c = m(uniqueId('req'))
  expect(await pending.open(c, '0x3', 2, now)).toEqual({ kind: 'limited', retryMs: 30_000 })
  expect(await redis.exists(uptoPendingKey(PREFIX, c.requestId))).toBe(0)
  expect(await redis.zscore(uptoDueKey(PREFIX), c.requestId)).toBeNull()
  // Nothing claimed: the same payment is admitted once a request is back in the bucket.
  expect(await pending.open(c, '0x3', 2, now + 30_000)).toEqual({ kind: 'claimed' })
  await pending.end(a.requestId)
  await pending.end(c.requestId)
})

test('the nonce is claimed once: a replay writes nothing', async () => {
  const m = material(300)
  expect(await pending.open(m, '0x1')).toEqual({ kind: 'claimed' })
  expect(await pending.open({ ...m, requestId: 'someone-else' }, '0x1')).toEqual({ kind: 'replay' })
  expect(await redis.exists(uptoPendingKey(PREFIX, 'someone-else'))).toBe(0)
  expect(await redis.hget(uptoPendingKey(PREFIX, m.requestId), 'state')).toBe('open')
  await pending.end(m.requestId)
})

test('a lease never runs past the permit deadline less the margin', async () => {
  const now = Date.now()
  // 32 s before the deadline: the 5 s lease is cut to the 2 s that leave the sweeper its 30 s.
  const m = material(32)
  expect(pending.leaseFrom(now, m.deadline)).toBe(m.deadline * 1000 - DEADLINE_MARGIN_MS)
  expect(pending.leaseFrom(now, m.deadline)).toBeLessThan(now + LEASE_MS)
  expect(pending.leaseFrom(now, m.deadline - 10)).toBe(now)
  expect(pending.leaseFrom(now, Math.floor(now / 1000) + 3_600)).toBe(now + LEASE_MS)
})

test('one take at a time: the finish after a sweeper took it is refused, and a late checkpoint changes nothing', async () => {
  const m = material(300)
  await pending.open(m, uniqueId('n'))
  expect(await pending.checkpoint(m.requestId, 5_000_000, m.deadline)).toBe(1)
  const later = Date.now() + LEASE_MS + 1
  const taken = await pending.take(m.requestId, 'recover', 10_000, later)
  expect(taken).toMatchObject({ kind: 'taken', costNano: 5_000_000n, attempts: 1 })
  expect((await pending.take(m.requestId, 'recover', 10_000, later)).kind).toBe('busy')
  expect((await pending.take(m.requestId, { finish: 9_000_000n }, 10_000)).kind).toBe('busy')
  expect(await pending.checkpoint(m.requestId, 7_000_000, m.deadline)).toBe(0)
  expect(await redis.hget(uptoPendingKey(PREFIX, m.requestId), 'cost')).toBe('5000000')
  await pending.end(m.requestId)
  expect((await pending.take(m.requestId, 'recover', 10_000, later)).kind).toBe('gone')
  expect(await redis.zscore(uptoDueKey(PREFIX), m.requestId)).toBeNull()
})

test('a live lease is not taken by a sweeper; the owner finishing takes it with its final cost', async () => {
  const m = material(300)
  await pending.open(m, uniqueId('n'))
  expect((await pending.take(m.requestId, 'recover', 10_000)).kind).toBe('busy')
  expect(await pending.take(m.requestId, { finish: 1_234n }, 10_000)).toMatchObject({ kind: 'taken', costNano: 1_234n })
  await pending.end(m.requestId)
})

test('a finish whose settle did not reach the facilitator is handed over: the sweeper retries with the final cost', async () => {
  const m = material(300)
  await pending.open(m, uniqueId('n'))
  await pending.checkpoint(m.requestId, 1_000, m.deadline)
  expect(await pending.take(m.requestId, { finish: 2_500_000n }, 10_000)).toMatchObject({ kind: 'taken' })
  await pending.retryAt(m.requestId, Date.now() + 1_000)
  const retaken = await pending.take(m.requestId, 'recover', 10_000, Date.now() + 1_001)
  expect(retaken).toMatchObject({ kind: 'taken', costNano: 2_500_000n, attempts: 2 })
  await pending.end(m.requestId)
})

test('sweeper: an unreachable facilitator is retried, then given up at the deadline and recorded settle_failed', async () => {
  const m = material(120)
  await pending.open(m, uniqueId('n'))
  await pending.checkpoint(m.requestId, 3_000_001, m.deadline)
  const records: X402PaymentRecord[] = []
  // Past the lease: taken, the facilitator cannot be reached, given back for a retry.
  expect(await sweeper(records, () => Date.now() + 91_000).sweep()).toMatchObject({ retried: 1, failed: 0 })
  expect(records).toHaveLength(0)
  expect(await redis.hget(uptoPendingKey(PREFIX, m.requestId), 'state')).toBe('open')
  // Close to the deadline, no retry fits any more: the failure is recorded with the amount that was owed.
  expect(await sweeper(records, () => m.deadline * 1000 - 5_000).sweep()).toMatchObject({ retried: 0, failed: 1 })
  expect(records).toEqual([expect.objectContaining({ requestId: m.requestId, status: 'settle_failed', amount: '3001', transaction: null, scheme: 'upto' })])
  expect(await redis.exists(uptoPendingKey(PREFIX, m.requestId))).toBe(0)
}, 20_000)

test('sweeper: past the deadline nothing is sent; zero cost settles nothing; never checkpointed is dropped unrecorded', async () => {
  const late = material(60)
  const zero = material(600)
  const unmetered = material(600)
  for (const m of [late, zero, unmetered]) await pending.open(m, uniqueId('n'))
  await pending.checkpoint(late.requestId, 10_000, late.deadline)
  await pending.checkpoint(zero.requestId, 0, zero.deadline)
  const records: X402PaymentRecord[] = []
  const result = await sweeper(records, () => late.deadline * 1000 + 1).sweep()
  expect(result).toMatchObject({ settled: 1, failed: 1, unmetered: 1, retried: 0 })
  expect(records.find((r) => r.requestId === late.requestId)).toMatchObject({ status: 'settle_failed', amount: '10' })
  expect(records.find((r) => r.requestId === zero.requestId)).toMatchObject({ status: 'settled', amount: '0', transaction: null })
  expect(records.find((r) => r.requestId === unmetered.requestId)).toBeUndefined()
  for (const m of [late, zero, unmetered]) expect(await redis.exists(uptoPendingKey(PREFIX, m.requestId))).toBe(0)
})
