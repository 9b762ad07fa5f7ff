// Requests admitted by rate from leases on real Redis: never past the limit across gateways, headers counting down, few round trips.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type Redis from 'ioredis'
import { RateLimitError } from '../../src/errors'
import type { Sql } from '../../src/lib/db'
import { createLogger } from '../../src/lib/logger'
import { createRedis } from '../../src/lib/redis'
import { createHotRedis, type HotRedis } from '../../src/lib/hot-redis'
import { Admission, type AdmissionRequest, type Ticket } from '../../src/limits/admission'
import { subjectKeys } from '../../src/limits/keys'
import { leaseCap } from '../../src/limits/rate-lease'
import { TEST_QUEUE_PREFIX, testDb, uniqueId } from '../helpers/db'

let redis: Redis
let sql: Sql
/** Two gateways' request-path connections and admissions: leases are per process, the bucket is shared. */
const hots: HotRedis[] = []
const admissions: Admission[] = []
/** Every lease-rate-1 call either gateway made (the real client, counted on its way). */
let leaseCalls = 0

function counted(hot: HotRedis): HotRedis {
  return {
    ...hot,
    script: (name, keys, args, lane) => {
      if (name === 'lease-rate-1') leaseCalls++
      return hot.script(name, keys, args, lane)
    },
  }
}

beforeAll(async () => {
  redis = createRedis('redis://127.0.0.1:6379')
  await redis.connect()
  sql = await testDb(2)
  for (let i = 0; i < 2; i++) {
    const hot = createHotRedis('redis://127.0.0.1:6379')
    await hot.ready
    hots.push(hot)
    admissions.push(new Admission(counted(hot), sql, { defaultRpm: 0, defaultTpm: 0, holdTtlMs: 60_000, onRedisError: 'deny', queuePrefix: TEST_QUEUE_PREFIX }, createLogger('silent')))
  }
})
afterAll(async () => {
  redis.disconnect()
  for (const hot of hots) hot.close()
  await sql.end()
})

const rateOnly = (subject: string, rpm: number): AdmissionRequest => ({
  requestId: `req_${crypto.randomUUID().replaceAll('-', '')}`,
  subject,
  accountId: subject,
  limits: { rpm, tpm: null },
  mode: 'none',
  capNano: null,
  holdNano: 0n,
  chargeTokens: 10,
})

/** Admits; a 429 comes back as the error, anything else fails the test. */
async function admitOrRefused(admission: Admission, request: AdmissionRequest): Promise<Ticket | RateLimitError> {
  try {
    return await admission.admit(request)
  } catch (error) {
    if (error instanceof RateLimitError) return error
    throw error
  }
}

describe('rate leases', () => {
  test('a limit under 200 a minute is not leased: one request a call, as admit-rate-1 admits it', () => {
    expect(leaseCap(60)).toBeLessThan(2)
    expect(leaseCap(199)).toBe(1)
    expect(leaseCap(200)).toBe(2)
    expect(leaseCap(1_000_000)).toBe(256)
  })

  test('1,500 requests at once through two gateways against 1,000 a minute: 1,000 admitted (plus what refilled meanwhile), the rest 429', async () => {
    const subject = uniqueId('lease')
    const rpm = 1_000
    const started = Date.now()
    const results = await Promise.all(Array.from({ length: 1_500 }, (_, i) => admitOrRefused(admissions[i % 2]!, rateOnly(subject, rpm))))
    const refilled = Math.ceil(((Date.now() - started) * rpm) / 60_000)
    const admitted = results.filter((r) => !(r instanceof RateLimitError)).length
    const refused = results.filter((r) => r instanceof RateLimitError) as RateLimitError[]
    expect(admitted).toBeLessThanOrEqual(rpm + refilled)
    // What leases hold unused is never admitted elsewhere; here demand exceeds the bucket, so none is left unused.
    expect(admitted).toBeGreaterThanOrEqual(rpm - 2 * leaseCap(rpm))
    expect(admitted + refused.length).toBe(1_500)
    for (const error of refused.slice(0, 5)) {
      expect(error.status).toBe(429)
      expect(Number(error.headers['retry-after'])).toBeGreaterThanOrEqual(1)
      expect(error.headers['x-ratelimit-remaining-requests']).toBe('0')
    }
  })

  test('a busy subject takes its requests a lease at a time: far fewer calls than requests', async () => {
    const subject = uniqueId('lease')
    const rpm = 1_000_000
    const before = leaseCalls
    // Waves of 50 at once, as 50 connections send them.
    for (let wave = 0; wave < 20; wave++) {
      const results = await Promise.all(Array.from({ length: 50 }, () => admitOrRefused(admissions[0]!, rateOnly(subject, rpm))))
      expect(results.every((r) => !(r instanceof RateLimitError))).toBe(true)
    }
    // 1,000 requests; one a call would be 1,000 calls.
    expect(leaseCalls - before).toBeLessThan(200)
  })

  test('one request at a time: X-RateLimit-Remaining counts down by one, as without leases', async () => {
    const subject = uniqueId('lease')
    const rpm = 1_000
    const remaining: number[] = []
    for (let i = 0; i < 30; i++) {
      const ticket = (await admissions[0]!.admit(rateOnly(subject, rpm))) as Ticket
      remaining.push(Number(ticket.headers['x-ratelimit-remaining-requests']))
    }
    expect(remaining[0]).toBe(rpm - 1)
    for (let i = 1; i < remaining.length; i++) {
      // One fewer each time; the bucket's refill (one request every 60 ms here) may give one back between leases.
      expect(remaining[i]!).toBeLessThanOrEqual(remaining[i - 1]!)
      expect(remaining[i]!).toBeGreaterThanOrEqual(remaining[i - 1]! - 1)
    }
    expect(remaining.at(-1)!).toBeLessThan(rpm - 20)
  })

  test('unused requests of a lease that aged are given back to the bucket with the next lease', async () => {
    const subject = uniqueId('lease')
    const rpm = 100_000
    // Ramp the lease up, then leave it unused past its age.
    for (let wave = 0; wave < 5; wave++) await Promise.all(Array.from({ length: 50 }, () => admissions[1]!.admit(rateOnly(subject, rpm))))
    const admittedBefore = 250
    await Bun.sleep(150) // the lease's age limit is 100 ms: this waits for a fact of the clock, not for a result
    await admissions[1]!.admit(rateOnly(subject, rpm))
    // After the give-back the bucket is short by what was admitted and what the new lease took (at most leaseCap).
    const [rt] = await redis.hmget(subjectKeys(subject).limits, 'rt')
    expect(rpm - Number(rt)).toBeLessThanOrEqual(admittedBefore + 1 + leaseCap(rpm))
  })
})
