// Bench of the stripe reporter: meter events per second reported to the fake Stripe (official SDK, real Postgres), claim and send timed apart.
//
//   bun bench/stripe-report.ts [--events 5000] [--customers 50] [--rate 1000] [--concurrency 64]
//
// Uses a database of its own (meterway_bench_stripe, dropped and recreated) on the server of DATABASE_URL's default,
// and one usage row per (customer, hour), so every row becomes one meter event. --rate is STRIPE_MAX_CALLS_PER_SECOND
// (at most 1,000, Stripe's limit): the figure cannot exceed it.
import { parseArgs } from 'node:util'
import postgres from 'postgres'
import { migrate } from '../src/db/migrate'
import { insertUsageEvents } from '../src/db/queries/usage'
import { createDb } from '../src/lib/db'
import { createLogger } from '../src/lib/logger'
import { createStripeClient } from '../src/lib/stripe'
import type { UsageRecord } from '../src/metering/usage-record'
import { StripeReporter } from '../workers/stripe-report'
import { startFakeStripe } from '../test/helpers/fake-stripe'

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    events: { type: 'string', default: '5000' },
    customers: { type: 'string', default: '50' },
    rate: { type: 'string', default: '1000' },
    concurrency: { type: 'string', default: '64' },
  },
})
const events = Number(values.events)
const customerCount = Number(values.customers)
const DB = 'meterway_bench_stripe'
const admin = postgres('postgres://postgres@127.0.0.1:5432/postgres', { max: 1, onnotice: () => {} })
await admin.unsafe(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`)
await admin.unsafe(`CREATE DATABASE ${DB}`)
const sql = createDb(`postgres://postgres@127.0.0.1:5432/${DB}`, { max: 12 })
await migrate(sql)
const fake = startFakeStripe()

const customers = Array.from({ length: customerCount }, (_, i) => ({ id: `acct_bench_${i}`, name: `bench ${i}`, stripe_customer_id: `cus_bench_${i}` }))
await sql`INSERT INTO accounts ${sql(customers, 'id', 'name', 'stripe_customer_id')}`
const hourNow = Math.floor(Date.now() / 3_600_000) * 3_600_000
const records: UsageRecord[] = Array.from({ length: events }, (_, i) => {
  const account = customers[i % customerCount]!.id
  return {
    requestId: `req_bench_${i}`, keyId: 'key_bench', accountId: account, subject: account, model: 'openai/gpt-4o-mini', provider: 'openai',
    upstreamModel: 'gpt-4o-mini', stream: true, status: 'ok', httpStatus: 200, inputTokens: 100, outputTokens: 50, cachedInputTokens: 0,
    cacheWriteTokens: 0, reasoningTokens: 0, costNano: 1_234_567 + i, overHoldNano: 0, moneyMode: 'none', catalogVersion: 'bench', source: 'provider',
    countedInputTokens: 100, countedOutputTokens: 50, inputTokensDiff: null, outputTokensDiff: null, ttfbMs: 10, totalMs: 100,
    // One row per (customer, hour) within the last 30 days: one meter event each.
    startedAt: new Date(hourNow - Math.floor(i / customerCount) * 3_600_000).toISOString(), errorCode: null,
  }
})
await insertUsageEvents(sql, records)

const stripe = createStripeClient({ secretKey: fake.secretKey, apiBase: fake.url, webhookSecret: '', proPriceId: '' }, { timeout: 5_000, maxNetworkRetries: 0 })!
const reporter = new StripeReporter({
  sql, stripe, logger: createLogger('warn'), mode: 'spend', spendEventName: 'llm_spend_micro_usd',
  maxCallsPerSecond: Number(values.rate), concurrency: Number(values.concurrency),
})
const started = performance.now()
const stats = await reporter.runOnce()
const seconds = (performance.now() - started) / 1000
const accepted = fake.meterEvents.length
console.log(JSON.stringify({
  bench: 'stripe-report', events: accepted, batches: stats.batches, sent: stats.sent, retried: stats.retried,
  seconds: Number(seconds.toFixed(2)), meter_events_per_second: Math.round(accepted / seconds),
  rate_limit: Number(values.rate), concurrency: Number(values.concurrency),
}))

await fake.stop()
await sql.end()
await admin.unsafe(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`)
await admin.end()
