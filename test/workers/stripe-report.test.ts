// The stripe-report worker against real Postgres and the fake Stripe (official SDK): exact totals, failures, refusals, tokens mode.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type Stripe from 'stripe'
import { insertUsageEvents } from '../../src/db/queries/usage'
import { outstanding, refusedBatches, tokenEventNames } from '../../src/db/queries/stripe-report'
import type { Sql } from '../../src/lib/db'
import { createLogger } from '../../src/lib/logger'
import { createStripeClient } from '../../src/lib/stripe'
import type { UsageRecord } from '../../src/metering/usage-record'
import { StripeReporter, TokenBucket, backoffMs, classifyError, type ReporterOptions } from '../../workers/stripe-report'
import { startStripeReporter } from '../../workers/stripe-report'
import { startFakeStripe, type FakeStripe } from '../helpers/fake-stripe'
import { privateTestDb, uniqueId, type PrivateDatabase } from '../helpers/db'
import { usageRecord } from './usage-records'

const EVENT = 'llm_spend_micro_usd'
const HOUR = 3_600_000
const DAY = 24 * HOUR
const silent = createLogger('silent')

// An empty database of this file's own: the reporter claims every unreported row it can see.
let db: PrivateDatabase
let sql: Sql
beforeAll(async () => {
  db = await privateTestDb('stripereport', 12)
  sql = db.sql
})
afterAll(() => db.drop())

interface Customer {
  accountId: string
  customer: string
}

async function seedCustomers(count: number): Promise<Customer[]> {
  const customers = Array.from({ length: count }, () => ({ accountId: uniqueId('acct'), customer: uniqueId('cus') }))
  await sql`INSERT INTO accounts ${sql(customers.map((c) => ({ id: c.accountId, name: c.accountId, stripe_customer_id: c.customer })), 'id', 'name', 'stripe_customer_id')}`
  return customers
}

const MODELS = ['openai/gpt-4o-mini', 'anthropic/claude-3-5-haiku', 'google/gemini-2.0-flash']

/** `count` rows spread over the customers and the last `spanMs`, with odd nano costs so sub-micro remainders matter. */
function records(customers: Customer[], count: number, spanMs = DAY, overrides: Partial<UsageRecord> = {}): UsageRecord[] {
  const now = Date.now()
  return Array.from({ length: count }, (_, i) => {
    const c = customers[i % customers.length]!
    return usageRecord({
      accountId: c.accountId,
      subject: c.accountId,
      model: MODELS[i % MODELS.length]!,
      costNano: Math.floor(Math.random() * 5_000_000) + (i % 7),
      inputTokens: 1 + Math.floor(Math.random() * 4000),
      outputTokens: Math.floor(Math.random() * 1000),
      startedAt: new Date(now - Math.floor(Math.random() * spanMs)).toISOString(),
      ...overrides,
    })
  })
}

function stripeFor(fake: FakeStripe, timeoutMs = 400): Stripe {
  // No SDK retries: every failure reaches the reporter, which retries with the same identifier.
  return createStripeClient({ secretKey: fake.secretKey, apiBase: fake.url, webhookSecret: '', proPriceId: '' }, { timeout: timeoutMs, maxNetworkRetries: 0 })!
}

function reporter(fake: FakeStripe, overrides: Partial<ReporterOptions> = {}): StripeReporter {
  return new StripeReporter({
    sql,
    stripe: stripeFor(fake),
    logger: silent,
    mode: 'spend',
    spendEventName: EVENT,
    maxCallsPerSecond: 1000,
    backoffBaseMs: 10,
    backoffCapMs: 100,
    leaseMs: 2_000,
    ...overrides,
  })
}

/** Runs until nothing is unclaimed or pending (retries are due within backoffCapMs). */
async function drain(reporters: StripeReporter[], limitMs = 30_000): Promise<void> {
  const deadline = performance.now() + limitMs
  for (;;) {
    await Promise.all(reporters.map((r) => r.runOnce()))
    const left = await outstanding(sql)
    if (left.unclaimedRows === 0 && left.pendingBatches === 0) return
    if (performance.now() > deadline) throw new Error(`not drained: ${JSON.stringify(left)}`)
    await Bun.sleep(20)
  }
}

/** Postgres's side per customer: Σ cost_nano of reportable rows. */
async function postgresTotals(customers: Customer[]): Promise<Map<string, bigint>> {
  const rows = await sql<{ customer: string; nano: string }[]>`
    SELECT a.stripe_customer_id AS customer, sum(u.cost_nano)::text AS nano
    FROM usage_events u JOIN accounts a ON a.id = u.account_id
    WHERE u.account_id = ANY(${customers.map((c) => c.accountId)}::text[]) AND u.money_mode <> 'prepaid'
    GROUP BY a.stripe_customer_id`
  return new Map(rows.map((r) => [r.customer, BigInt(r.nano)]))
}

/** The fake's totals equal floor(Σ nano / 1000) per customer, the carried remainder is the rest, every identifier once. */
async function expectExact(fake: FakeStripe, customers: Customer[]): Promise<void> {
  const totals = await postgresTotals(customers)
  const carry = new Map(
    (await sql<{ customer: string; remainder_nano: string }[]>`
      SELECT customer, remainder_nano::text FROM stripe_report_carry WHERE event_name = ${EVENT} AND customer = ANY(${customers.map((c) => c.customer)}::text[])`).map((r) => [r.customer, BigInt(r.remainder_nano)]),
  )
  for (const c of customers) {
    const nano = totals.get(c.customer) ?? 0n
    expect({ customer: c.customer, micro: fake.meterTotal(c.customer, EVENT) }).toEqual({ customer: c.customer, micro: nano / 1000n })
    expect(fake.meterTotal(c.customer, EVENT) * 1000n + (carry.get(c.customer) ?? 0n)).toBe(nano)
  }
  const identifiers = fake.meterEvents.map((e) => e.identifier)
  expect(new Set(identifiers).size).toBe(identifiers.length)
  // Every accepted event is a batch we recorded as sent, with the same value.
  const sent = await sql<{ identifier: string; value: string }[]>`
    SELECT identifier, value::text FROM stripe_report_batches WHERE customer = ANY(${customers.map((c) => c.customer)}::text[]) AND status = 'sent' AND value > 0`
  const ours = fake.meterEvents.filter((e) => customers.some((c) => c.customer === e.payload.stripe_customer_id))
  expect(ours.map((e) => `${e.identifier}=${e.payload.value}`).sort()).toEqual(sent.map((b) => `${b.identifier}=${b.value}`).sort())
}

describe('stripe-report: spend mode', () => {
  test('10,000 rows of 50 customers, two reporters at once: the fake totals equal Postgres to the unit', async () => {
    const fake = startFakeStripe()
    try {
      const customers = await seedCustomers(50)
      await insertUsageEvents(sql, records(customers, 10_000))
      // Prepaid usage is paid from the wallet: never reported.
      await insertUsageEvents(sql, records(customers.slice(0, 5), 50, DAY, { moneyMode: 'prepaid' }))
      await drain([reporter(fake, { claimLimit: 2_000 }), reporter(fake, { claimLimit: 2_000 })])
      await expectExact(fake, customers)
      expect(fake.duplicateMeterEvents).toBe(0)
      const [prepaid] = await sql<{ n: number }[]>`
        SELECT count(*)::int AS n FROM usage_events WHERE money_mode = 'prepaid' AND report_batch_id IS NOT NULL AND account_id = ANY(${customers.map((c) => c.accountId)}::text[])`
      expect(prepaid!.n).toBe(0)
      // Every event is within Stripe's window and carries its batch's identifier as the Idempotency-Key.
      const posts = fake.requests.filter((r) => r.path === '/v1/billing/meter_events')
      expect(posts.every((r) => r.idempotencyKey === `meterway-${r.form.identifier}`)).toBe(true)
    } finally {
      await fake.stop()
    }
  }, 60_000)

  test('10,000 rows with 20% of calls failing (429, 500, hang): totals still exact, no identifier counted twice', async () => {
    const fake = startFakeStripe()
    try {
      const customers = await seedCustomers(50)
      await insertUsageEvents(sql, records(customers, 10_000))
      fake.setFailure({ mode: ['rate_limit', 'server_error', 'hang'], share: 0.2, path: '/v1/billing/meter_events' })
      await drain([reporter(fake, { claimLimit: 2_000 })])
      const outcomes = fake.requests.map((r) => r.outcome)
      expect(outcomes.filter((o) => o === 429).length).toBeGreaterThan(50)
      expect(outcomes.filter((o) => o === 500).length).toBeGreaterThan(50)
      expect(outcomes.filter((o) => o === 'hang').length).toBeGreaterThan(50)
      await expectExact(fake, customers)
    } finally {
      await fake.stop()
    }
  }, 60_000)

  test('answers lost after Stripe applied the call: the re-send is replayed, counted once', async () => {
    const fake = startFakeStripe()
    try {
      const customers = await seedCustomers(5)
      await insertUsageEvents(sql, records(customers, 500))
      fake.setFailure({ mode: ['server_error', 'hang'], share: 0.3, path: '/v1/billing/meter_events', afterEffect: true })
      await drain([reporter(fake)])
      expect(fake.requests.filter((r) => r.replayed).length).toBeGreaterThan(0)
      await expectExact(fake, customers)
    } finally {
      await fake.stop()
    }
  }, 30_000)

  test('usage older than Stripe accepts is flagged, never sent, and listed', async () => {
    const fake = startFakeStripe()
    try {
      const [c] = await seedCustomers(1)
      const old = records([c!], 20, HOUR, { startedAt: new Date(Date.now() - 40 * DAY).toISOString() })
      const fresh = records([c!], 20, HOUR)
      await insertUsageEvents(sql, [...old, ...fresh])
      await drain([reporter(fake)])
      const refused = (await refusedBatches(sql, 1000)).filter((b) => b.customer === c!.customer)
      expect(refused.length).toBe(1)
      expect(refused[0]!.last_error).toContain('35 days')
      expect(BigInt(refused[0]!.cost_nano)).toBe(old.reduce((s, r) => s + BigInt(r.costNano), 0n))
      // Only the fresh hour reached Stripe, and no call carried a timestamp it refuses.
      const posts = fake.requests.filter((r) => r.path === '/v1/billing/meter_events' && r.form['payload[stripe_customer_id]'] === c!.customer)
      expect(posts.every((r) => r.outcome === 200)).toBe(true)
      const stripeMicro = fake.meterTotal(c!.customer, EVENT)
      const [batches] = await sql<{ sent: string; refused: string }[]>`
        SELECT coalesce(sum(value) FILTER (WHERE status = 'sent'), 0)::text AS sent, coalesce(sum(value) FILTER (WHERE status = 'refused'), 0)::text AS refused
        FROM stripe_report_batches WHERE customer = ${c!.customer}`
      expect(BigInt(batches!.sent)).toBe(stripeMicro)
      // Sent + refused + carry accounts for every nano-USD.
      const total = [...old, ...fresh].reduce((s, r) => s + BigInt(r.costNano), 0n)
      const [carry] = await sql<{ r: string }[]>`SELECT remainder_nano::text AS r FROM stripe_report_carry WHERE customer = ${c!.customer}`
      expect((BigInt(batches!.sent) + BigInt(batches!.refused)) * 1000n + BigInt(carry!.r)).toBe(total)
    } finally {
      await fake.stop()
    }
  }, 30_000)

  test('a timestamp Stripe refuses at send time (a batch that waited too long) is flagged with Stripe\'s error', async () => {
    // The fake's clock runs 36 days ahead: every timestamp we send is too old for it.
    const fake = startFakeStripe({ now: () => Date.now() + 36 * DAY })
    try {
      const [c] = await seedCustomers(1)
      await insertUsageEvents(sql, records([c!], 10, HOUR))
      await drain([reporter(fake)])
      const refused = (await refusedBatches(sql, 1000)).filter((b) => b.customer === c!.customer)
      expect(refused.length).toBeGreaterThan(0)
      expect(refused.every((b) => b.last_error?.includes('timestamp_too_far_in_past'))).toBe(true)
      expect(fake.meterTotal(c!.customer, EVENT)).toBe(0n)
    } finally {
      await fake.stop()
    }
  }, 30_000)
})

describe('stripe-report: tokens mode', () => {
  test('input and output token meters per model, totals exact', async () => {
    const fake = startFakeStripe()
    try {
      const customers = await seedCustomers(3)
      const rows = records(customers, 600)
      await insertUsageEvents(sql, rows)
      await drain([reporter(fake, { mode: 'tokens' })])
      for (const c of customers) {
        for (const model of MODELS) {
          const mine = rows.filter((r) => r.accountId === c.accountId && r.model === model)
          const names = tokenEventNames(model)
          expect(fake.meterTotal(c.customer, names.input)).toBe(mine.reduce((s, r) => s + BigInt(r.inputTokens), 0n))
          expect(fake.meterTotal(c.customer, names.output)).toBe(mine.reduce((s, r) => s + BigInt(r.outputTokens), 0n))
        }
      }
      expect(tokenEventNames('openai/gpt-4o-mini')).toEqual({ input: 'llm_input_tokens_openai_gpt_4o_mini', output: 'llm_output_tokens_openai_gpt_4o_mini' })
    } finally {
      await fake.stop()
    }
  }, 30_000)
})

describe('stripe-report: parts', () => {
  test('the token bucket holds the call rate: no one-second window above the limit', async () => {
    const bucket = new TokenBucket(200)
    const stamps: number[] = []
    for (let i = 0; i < 300; i++) (await bucket.take(), stamps.push(performance.now()))
    for (let i = 0; i < stamps.length; i++) expect(stamps.filter((t) => t >= stamps[i]! && t < stamps[i]! + 1000).length).toBeLessThanOrEqual(200)
    // A burst of 10, then 290 at 190/s.
    expect(stamps.at(-1)! - stamps[0]!).toBeGreaterThan(1400)
  })

  test('backoff grows, is capped, and is jittered', () => {
    expect(backoffMs(0, 1000, 60_000, () => 0)).toBe(500)
    expect(backoffMs(3, 1000, 60_000, () => 1)).toBe(8000)
    expect(backoffMs(30, 1000, 60_000, () => 1)).toBe(60_000)
  })

  test('400 and 404 are refusals; 429, 5xx, 401 and timeouts are retried', () => {
    expect(classifyError({ statusCode: 400, code: 'timestamp_too_far_in_past', message: 'old' }).kind).toBe('refused')
    expect(classifyError({ statusCode: 404, message: 'no' }).kind).toBe('refused')
    for (const statusCode of [401, 409, 429, 500, 503]) expect(classifyError({ statusCode, message: 'x' }).kind).toBe('retry')
    expect(classifyError(new Error('Request aborted due to timeout being reached')).kind).toBe('retry')
  })

  test('startStripeReporter runs on its interval and closes cleanly', async () => {
    const fake = startFakeStripe()
    try {
      const customers = await seedCustomers(2)
      await insertUsageEvents(sql, records(customers, 100))
      const running = startStripeReporter(
        { sql, stripe: stripeFor(fake), logger: silent, settings: { intervalMs: 50, meterMode: 'spend', spendEventName: EVENT, maxCallsPerSecond: 500 } },
        { leaseMs: 2_000 },
      )
      const deadline = performance.now() + 10_000
      while (performance.now() < deadline) {
        const left = await outstanding(sql)
        if (left.unclaimedRows === 0 && left.pendingBatches === 0) break
        await Bun.sleep(20)
      }
      await running.close()
      await expectExact(fake, customers)
    } finally {
      await fake.stop()
    }
  }, 30_000)
})
