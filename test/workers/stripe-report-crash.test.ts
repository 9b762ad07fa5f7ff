// SIGKILL of the stripe reporter process at random moments mid-reporting: after restarts the fake Stripe's totals are exact, no identifier counted twice.
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { join } from 'node:path'
import type { Subprocess } from 'bun'
import { outstanding } from '../../src/db/queries/stripe-report'
import { insertUsageEvents } from '../../src/db/queries/usage'
import type { Sql } from '../../src/lib/db'
import { startFakeStripe, type FakeStripe } from '../helpers/fake-stripe'
import { privateTestDb, uniqueId, type PrivateDatabase } from '../helpers/db'
import { usageRecord } from './usage-records'

const EVENT = 'llm_spend_micro_usd'
const TRIALS = 20
const ENTRY = join(import.meta.dir, '../../workers/stripe-report/main.ts')
// An empty database of this file's own: the reporter claims every unreported row it can see.
let db: PrivateDatabase
let DB_URL: string
let sql: Sql
let fake: FakeStripe
beforeAll(async () => {
  db = await privateTestDb('stripecrash')
  DB_URL = db.url
  sql = db.sql
  fake = startFakeStripe()
})
afterAll(async () => {
  await fake.stop()
  await db.drop()
})

function spawnReporter(callsPerSecond: number): Subprocess<'ignore', 'pipe', 'pipe'> {
  return Bun.spawn(['bun', ENTRY, '--timeout-ms', '1000', '--retries', '0', '--lease-ms', '300', '--backoff-ms', '20'], {
    env: {
      ...process.env,
      DATABASE_URL: DB_URL,
      STRIPE_SECRET_KEY: fake.secretKey,
      STRIPE_API_BASE: fake.url,
      STRIPE_REPORT_INTERVAL_MS: '100',
      STRIPE_MAX_CALLS_PER_SECOND: String(callsPerSecond),
      STRIPE_METER_MODE: 'spend',
      STRIPE_METER_EVENT_NAME: EVENT,
      LOG_LEVEL: 'silent',
    },
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: 'pipe',
  })
}

/** Resolves when the child printed `ready` (config parsed, reporter started). */
async function ready(child: Subprocess<'ignore', 'pipe', 'pipe'>): Promise<void> {
  const reader = child.stdout.getReader()
  let text = ''
  while (!text.includes('ready')) {
    const { value, done } = await reader.read()
    if (done) throw new Error('reporter exited before it was ready')
    text += new TextDecoder().decode(value)
  }
  reader.releaseLock()
}

const meterPosts = () => fake.requests.filter((r) => r.path === '/v1/billing/meter_events').length

test(`${TRIALS} SIGKILLs at random moments mid-reporting: totals exact, no identifier counted twice`, async () => {
  const customers = Array.from({ length: 10 }, () => ({ accountId: uniqueId('acct'), customer: uniqueId('cus') }))
  await sql`INSERT INTO accounts ${sql(customers.map((c) => ({ id: c.accountId, name: c.accountId, stripe_customer_id: c.customer })), 'id', 'name', 'stripe_customer_id')}`
  let killedMidSend = 0
  for (let trial = 0; trial < TRIALS; trial++) {
    // New usage each trial, spread over 3 days of hours: about one meter event per row.
    const now = Date.now()
    await insertUsageEvents(
      sql,
      Array.from({ length: 150 }, (_, i) => {
        const c = customers[i % customers.length]!
        return usageRecord({
          accountId: c.accountId,
          subject: c.accountId,
          costNano: Math.floor(Math.random() * 3_000_000) + 1,
          startedAt: new Date(now - Math.floor(Math.random() * 72 * 3_600_000)).toISOString(),
        })
      }),
    )
    const postsBefore = meterPosts()
    // Slow enough that a trial's sends take about 1.5 s, so the kill lands among them.
    const child = spawnReporter(100)
    await ready(child)
    // Anywhere from the claim transaction to the end of the sends.
    await Bun.sleep(Math.floor(Math.random() * 1500))
    child.kill('SIGKILL')
    await child.exited
    const left = await outstanding(sql)
    if (meterPosts() > postsBefore && (left.unclaimedRows > 0 || left.pendingBatches > 0)) killedMidSend++
  }
  // Most kills must have interrupted real work, or the test proves little.
  expect(killedMidSend).toBeGreaterThanOrEqual(TRIALS / 2)

  const child = spawnReporter(1000)
  const deadline = performance.now() + 20_000
  for (;;) {
    const left = await outstanding(sql)
    if (left.unclaimedRows === 0 && left.pendingBatches === 0) break
    if (performance.now() > deadline) throw new Error(`not drained: ${JSON.stringify(left)}`)
    await Bun.sleep(50)
  }
  child.kill('SIGTERM')
  expect(await child.exited).toBe(0)

  const totals = await sql<{ customer: string; nano: string }[]>`
    SELECT a.stripe_customer_id AS customer, sum(u.cost_nano)::text AS nano
    FROM usage_events u JOIN accounts a ON a.id = u.account_id GROUP BY 1`
  const carry = new Map((await sql<{ customer: string; r: string }[]>`SELECT customer, remainder_nano::text AS r FROM stripe_report_carry`).map((r) => [r.customer, BigInt(r.r)]))
  expect(totals.length).toBe(customers.length)
  for (const t of totals) {
    expect({ customer: t.customer, micro: fake.meterTotal(t.customer, EVENT) }).toEqual({ customer: t.customer, micro: BigInt(t.nano) / 1000n })
    expect(fake.meterTotal(t.customer, EVENT) * 1000n + (carry.get(t.customer) ?? 0n)).toBe(BigInt(t.nano))
  }
  // One accepted event per identifier, and exactly our sent batches.
  const identifiers = fake.meterEvents.map((e) => e.identifier)
  expect(new Set(identifiers).size).toBe(identifiers.length)
  const sent = await sql<{ identifier: string }[]>`SELECT identifier FROM stripe_report_batches WHERE status = 'sent' AND value > 0`
  expect(identifiers.sort()).toEqual(sent.map((b) => b.identifier).sort())
  // Each row was claimed exactly once.
  const [rows] = await sql<{ unclaimed: number }[]>`SELECT count(*) FILTER (WHERE report_batch_id IS NULL)::int AS unclaimed FROM usage_events`
  expect(rows!.unclaimed).toBe(0)
  console.log(`stripe-report crash: ${killedMidSend}/${TRIALS} kills mid-send; ${fake.meterEvents.length} events, ${fake.requests.filter((r) => r.replayed).length} idempotent replays, ${fake.duplicateMeterEvents} duplicate identifiers absorbed`)
}, 60_000)
