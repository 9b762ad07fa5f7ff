// Money floats on real Redis, two gateways at once: never below zero, never past a cap, exact refusals, nothing kept by a gateway that died.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type Redis from 'ioredis'
import { PaymentRequiredError } from '../../src/errors'
import type { Sql } from '../../src/lib/db'
import { createLogger } from '../../src/lib/logger'
import { createRedis } from '../../src/lib/redis'
import { createHotRedis, type HotRedis } from '../../src/lib/hot-redis'
import { Admission, type AdmissionRequest, type Ticket } from '../../src/limits/admission'
import { openIndexKeys, subjectKeys } from '../../src/limits/keys'
import { FLOAT_USE_MS } from '../../src/limits/money-float'
import { prepaidAccount as prepaidAccountIn, TEST_QUEUE_PREFIX, testDb } from '../helpers/db'
import { waitFor } from '../helpers/poll'

const HOLD = 1_000n
/** Its own sweeper index: the tracked request here leaves a test record that no other test's sweeper should meet. */
const QUEUE_PREFIX = `${TEST_QUEUE_PREFIX}-floats`
const HOLD_TTL_MS = 300
let redis: Redis
let sql: Sql
const hots: HotRedis[] = []
/** Two gateways: floats are per process, the wallet is shared. */
const gateways: Admission[] = []
/** admit-8 calls each gateway made (the real client, counted on its way). */
const admitCalls = [0, 0]

function gateway(index: number, holdTtlMs = HOLD_TTL_MS): Admission {
  const hot = createHotRedis('redis://127.0.0.1:6379')
  hots.push(hot)
  const counted: HotRedis = {
    ...hot,
    script: (name, keys, args, lane) => {
      if (name === 'admit-8') admitCalls[index] = (admitCalls[index] ?? 0) + 1
      return hot.script(name, keys, args, lane)
    },
  }
  return new Admission(counted, sql, { defaultRpm: 0, defaultTpm: 0, holdTtlMs, onRedisError: 'deny', queuePrefix: QUEUE_PREFIX }, createLogger('silent'))
}

beforeAll(async () => {
  redis = createRedis('redis://127.0.0.1:6379')
  await redis.connect()
  sql = await testDb(2)
  gateways.push(gateway(0), gateway(1))
  await Promise.all(hots.map((hot) => hot.ready))
})
afterAll(async () => {
  for (const key of openIndexKeys(QUEUE_PREFIX)) await redis.del(key)
  redis.disconnect()
  for (const hot of hots) hot.close()
  await sql.end()
})

const request = (subject: string, mode: 'prepaid' | 'cap', capNano: bigint | null = null): AdmissionRequest => ({
  requestId: `req_${crypto.randomUUID().replaceAll('-', '')}`,
  subject,
  accountId: subject,
  limits: { rpm: null, tpm: null },
  mode,
  capNano,
  holdNano: HOLD,
  chargeTokens: 10,
})

/** Admits; a 402 comes back as null, anything else fails the test. */
async function admit(admission: Admission, req: AdmissionRequest): Promise<Ticket | null> {
  try {
    return await admission.admit(req)
  } catch (error) {
    if (error instanceof PaymentRequiredError) return null
    throw error
  }
}

const wallet = async (subject: string) => {
  const [avail, held, spent] = await redis.hmget(subjectKeys(subject).wallet, 'avail', 'held', 'spent')
  return { avail: BigInt(avail ?? '0'), held: BigInt(held ?? '0'), spent: BigInt(spent ?? '0') }
}

/**
 * Waves of concurrent requests through both gateways, each admitted one settled at the most it could cost (its whole
 * hold: a provider reporting the most it could bill); checks the wallet after every wave. Returns how many were admitted.
 */
async function drain(subject: string, mode: 'prepaid' | 'cap', capNano: bigint | null, waves: number, perWave: number, check: () => Promise<void>): Promise<number> {
  let admitted = 0
  for (let wave = 0; wave < waves; wave++) {
    const tickets = await Promise.all(Array.from({ length: perWave }, (_, i) => admit(gateways[i % 2]!, request(subject, mode, capNano))))
    await check()
    const settled = tickets.map((ticket, i) => ticket && gateways[i % 2]!.settle(ticket, Number(HOLD), 10, null))
    admitted += tickets.filter(Boolean).length
    await Promise.all(settled)
    await check()
  }
  return admitted
}

describe('money floats', () => {
  test('a busy wallet is held from floats: far fewer round trips than requests, and every request paid exactly once', async () => {
    const subject = await prepaidAccountIn(sql, 'flb', 1_000_000n * HOLD)
    const before = [...admitCalls]
    const admitted = await drain(subject, 'prepaid', null, 20, 100, async () => {})
    expect(admitted).toBe(2_000)
    const calls = admitCalls[0]! + admitCalls[1]! - before[0]! - before[1]!
    expect(calls).toBeLessThan(admitted / 4)
    await waitFor(async () => (await wallet(subject)).held === 0n, 5_000, 'the floats to go back')
    expect(await wallet(subject)).toMatchObject({ avail: (1_000_000n - 2_000n) * HOLD, held: 0n })
    expect(await redis.hlen(subjectKeys(subject).holds)).toBe(0)
    expect(await redis.hlen(subjectKeys(subject).unposted)).toBe(2_000)
  })

  test('two gateways, waves of 100 requests each paying its whole hold: the wallet never goes below zero', async () => {
    const subject = await prepaidAccountIn(sql, 'flt', 2_000n * HOLD)
    const admitted = await drain(subject, 'prepaid', null, 30, 100, async () => {
      const w = await wallet(subject)
      expect(w.avail).toBeGreaterThanOrEqual(0n)
      expect(w.avail + w.held).toBeLessThanOrEqual(2_000n * HOLD)
    })
    // 3,000 asked for 2,000 holds' worth: every hold paid in full, so no more than 2,000 could be admitted.
    expect(admitted).toBeLessThanOrEqual(2_000)
    expect(admitted).toBeGreaterThan(1_900)
    // The floats left go back within their use; then nothing is held and every admitted request paid exactly once.
    await waitFor(async () => (await wallet(subject)).held === 0n, 5_000, 'the floats to go back')
    expect(await wallet(subject)).toMatchObject({ avail: 2_000n * HOLD - BigInt(admitted) * HOLD, held: 0n })
    expect(await redis.hlen(subjectKeys(subject).holds)).toBe(0)
  })

  test('a spending cap is never passed: spent + held stays within it through both gateways', async () => {
    const subject = await prepaidAccountIn(sql, 'flc', 0n)
    const cap = 1_500n * HOLD
    const admitted = await drain(subject, 'cap', cap, 25, 100, async () => {
      const w = await wallet(subject)
      expect(w.spent + w.held).toBeLessThanOrEqual(cap)
    })
    expect(admitted).toBeLessThanOrEqual(1_500)
    expect(admitted).toBeGreaterThan(1_400)
    await waitFor(async () => (await wallet(subject)).held === 0n, 5_000, 'the floats to go back')
    expect((await wallet(subject)).spent).toBe(BigInt(admitted) * HOLD)
  })

  test('one gateway refuses exactly when the wallet cannot pay: its float goes back before a refusal', async () => {
    const subject = await prepaidAccountIn(sql, 'fle', 600n * HOLD)
    let admitted = 0
    let refused = 0
    while (refused === 0) {
      const tickets = await Promise.all(Array.from({ length: 40 }, () => admit(gateways[0]!, request(subject, 'prepaid'))))
      refused += tickets.filter((t) => t === null).length
      for (const ticket of tickets) if (ticket) admitted++, await gateways[0]!.settle(ticket, Number(HOLD), 10, null)
    }
    // Requests refused only once the whole wallet was spent: every hold's worth was admitted, none more.
    expect(admitted).toBe(600)
    expect(await wallet(subject)).toMatchObject({ avail: 0n, held: 0n })
  })

  test('a gateway that dies holding a float and unsettled requests: all of it comes back once the float expires', async () => {
    const subject = await prepaidAccountIn(sql, 'fld', 10_000n * HOLD)
    const doomed = gateway(0, 200)
    await hots.at(-1)!.ready
    // Busy enough for floats, and never settled: the gateway dies with its requests (and its float) open.
    for (let wave = 0; wave < 10; wave++) await Promise.all(Array.from({ length: 20 }, () => doomed.admit(request(subject, 'prepaid'))))
    const holds = await redis.hgetall(subjectKeys(subject).holds)
    expect(Object.keys(holds).some((id) => id.startsWith('float:'))).toBe(true)
    hots.at(-1)!.close()
    // Another gateway's next admission releases what expired: only its own hold is left.
    await waitFor(
      async () => {
        const ticket = await admit(gateways[0]!, request(subject, 'prepaid'))
        if (ticket) await gateways[0]!.settle(ticket, 0, 0, null)
        return (await redis.hlen(subjectKeys(subject).holds)) === 0
      },
      5_000,
      'the dead gateway\'s float and holds to expire',
    )
    await waitFor(async () => (await wallet(subject)).held === 0n, 5_000, 'the live gateway\'s float to go back')
    expect(await wallet(subject)).toMatchObject({ avail: 10_000n * HOLD, held: 0n })
  })

  test('a request tracked while admitted from a float gets a hold of its own; its settlement pays from it', async () => {
    const subject = await prepaidAccountIn(sql, 'flt', 10_000n * HOLD)
    let fromFloat: Ticket | null = null
    for (let wave = 0; wave < 20 && !fromFloat; wave++) {
      const tickets = await Promise.all(Array.from({ length: 20 }, () => gateways[0]!.admit(request(subject, 'prepaid'))))
      fromFloat = tickets.find((t) => t.float !== undefined) ?? null
      for (const ticket of tickets) if (ticket !== fromFloat) await gateways[0]!.settle(ticket, 100, 10, null)
    }
    expect(fromFloat).not.toBeNull()
    const ticket = fromFloat!
    gateways[0]!.checkpoint(ticket, JSON.stringify({ requestId: ticket.requestId }))
    expect(ticket.float).toBeUndefined()
    await waitFor(async () => (await redis.hget(subjectKeys(subject).holds, ticket.requestId)) === `prepaid:${HOLD}`, 5_000, 'its own hold')
    await gateways[0]!.settle(ticket, 400, 10, null)
    expect(await redis.hexists(subjectKeys(subject).holds, ticket.requestId)).toBe(0)
    await waitFor(async () => (await wallet(subject)).held === 0n, 5_000, 'the float to go back')
    const settledCosts = (await redis.hvals(subjectKeys(subject).unposted)).reduce((sum, cost) => sum + BigInt(cost), 0n)
    expect(await wallet(subject)).toMatchObject({ avail: 10_000n * HOLD - settledCosts, held: 0n })
  })

  test('settled twice, paid once; the usage worker first, then the settlement: its cost once, no mark left', async () => {
    const subject = await prepaidAccountIn(sql, 'flp', 10_000n * HOLD)
    let tickets: Ticket[] = []
    for (let wave = 0; wave < 20 && !tickets.some((t) => t.float); wave++) {
      tickets = await Promise.all(Array.from({ length: 20 }, () => gateways[0]!.admit(request(subject, 'prepaid'))))
      if (!tickets.some((t) => t.float)) for (const ticket of tickets) await gateways[0]!.settle(ticket, 0, 10, null)
    }
    const fromFloat = tickets.filter((t) => t.float)
    expect(fromFloat.length).toBeGreaterThan(2)
    const [twice, workerFirst, ...rest] = fromFloat
    // What the usage worker does after committing a row whose settlement has not come (workers/usage/unposted.ts).
    const keys = subjectKeys(subject)
    await redis.eval(`return redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])`, 1, keys.posted, workerFirst!.requestId, '250')
    await Promise.all([gateways[0]!.settle(twice!, 400, 10, null), gateways[0]!.settle(twice!, 400, 10, null), gateways[0]!.settle(workerFirst!, 999, 10, null)])
    await gateways[0]!.settle(twice!, 400, 10, null)
    for (const ticket of [...rest, ...tickets.filter((t) => !t.float)]) await gateways[0]!.settle(ticket, 100, 10, null)
    expect(await redis.hget(keys.unposted, twice!.requestId)).toBe('400')
    expect(await redis.hexists(keys.unposted, workerFirst!.requestId)).toBe(0)
    expect(await redis.hexists(keys.posted, workerFirst!.requestId)).toBe(0)
    await waitFor(async () => (await wallet(subject)).held === 0n, 5_000, 'the float to go back')
    const others = BigInt(tickets.length - 2) * 100n
    expect(await wallet(subject)).toMatchObject({ avail: 10_000n * HOLD - 400n - 250n - others, held: 0n })
  })

  test('a stopping gateway gives its floats back at once, not when they expire', async () => {
    const subject = await prepaidAccountIn(sql, 'fls', 10_000n * HOLD)
    const stopping = gateway(1, 60_000)
    await hots.at(-1)!.ready
    const tickets: Ticket[] = []
    for (let wave = 0; wave < 10; wave++) tickets.push(...(await Promise.all(Array.from({ length: 20 }, () => stopping.admit(request(subject, 'prepaid'))))))
    // A float's entry stays while requests it admitted are open, whatever became of its unused part.
    expect(Object.keys(await redis.hgetall(subjectKeys(subject).holds)).some((id) => id.startsWith('float:'))).toBe(true)
    for (const ticket of tickets) await stopping.settle(ticket, 100, 10, null)
    await stopping.returnFloats()
    expect(await wallet(subject)).toMatchObject({ avail: 10_000n * HOLD - BigInt(tickets.length) * 100n, held: 0n })
    expect(await redis.hlen(subjectKeys(subject).holds)).toBe(0)
    expect(FLOAT_USE_MS).toBeLessThan(60_000)
  })

  test('a float settlement call Redis fails is retried request by request: each paid exactly once, whether Redis ran it or not', async () => {
    for (const ran of [true, false]) {
      const subject = await prepaidAccountIn(sql, ran ? 'frr' : 'frn', 10_000n * HOLD)
      const hot = createHotRedis('redis://127.0.0.1:6379')
      hots.push(hot)
      await hot.ready
      let failing = true
      let failedCalls = 0
      // A reply lost after Redis ran the call (every item of it gets the error), or a call that never reached Redis.
      const lost = new WeakMap<Promise<unknown>, Promise<never>>()
      const flaky: HotRedis = {
        ...hot,
        gathered: (name, keys, head, item, maxItems) => {
          if (!failing) return hot.gathered(name, keys, head, item, maxItems)
          if (!ran) {
            failedCalls++
            return Promise.reject(new Error('Redis did not answer'))
          }
          const answer = hot.gathered(name, keys, head, item, maxItems)
          let failed = lost.get(answer)
          if (!failed) {
            failedCalls++
            failed = answer.then(() => Promise.reject(new Error('connection reset')))
            lost.set(answer, failed)
          }
          return failed
        },
      }
      const admission = new Admission(flaky, sql, { defaultRpm: 0, defaultTpm: 0, holdTtlMs: 60_000, onRedisError: 'deny', queuePrefix: QUEUE_PREFIX }, createLogger('silent'))
      const tickets: Ticket[] = []
      for (let wave = 0; wave < 5; wave++) tickets.push(...(await Promise.all(Array.from({ length: 20 }, () => admission.admit(request(subject, 'prepaid'))))))
      expect(tickets.filter((t) => t.float).length).toBeGreaterThan(50)
      // Settling never throws; with Redis failing, each is left to a retry.
      await Promise.all(tickets.map((ticket) => admission.settle(ticket, 100, 10, null)))
      expect(failedCalls).toBeGreaterThan(0)
      failing = false
      await waitFor(async () => (await redis.hlen(subjectKeys(subject).unposted)) === tickets.length, 5_000, 'every request settled by its retry')
      await admission.returnFloats()
      expect(await wallet(subject)).toMatchObject({ avail: 10_000n * HOLD - BigInt(tickets.length) * 100n, held: 0n })
      expect(await redis.hlen(subjectKeys(subject).holds)).toBe(0)
    }
  })
})
