// GET /admin/reconciliation and /admin/reconciliation/manual-adjustments: admin guard, zero difference once drained, refused usage listed.
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { Elysia } from 'elysia'
import { outstanding } from '../../src/db/queries/stripe-report'
import { insertUsageEvents } from '../../src/db/queries/usage'
import { errorResponse } from '../../src/errors'
import type { Sql } from '../../src/lib/db'
import { frameworkError } from '../../src/lib/framework-errors'
import { createLogger } from '../../src/lib/logger'
import { createStripeClient } from '../../src/lib/stripe'
import { adminGuard } from '../../src/modules/auth/admin-guard'
import { reconciliationPlugin } from '../../src/modules/reconciliation'
import { StripeReporter } from '../../workers/stripe-report'
import { startFakeStripe, type FakeStripe } from '../helpers/fake-stripe'
import { privateTestDb, uniqueId, type PrivateDatabase } from '../helpers/db'
import { usageRecord } from '../workers/usage-records'

const ADMIN_TOKEN = 'admin-token-for-reconciliation-tests'
const EVENT = 'llm_spend_micro_usd'
// An empty database of this file's own: reconciliation totals cover every customer it can see.
let db: PrivateDatabase
let sql: Sql
let fake: FakeStripe
let app: { handle(request: Request): Promise<Response> }

beforeAll(async () => {
  db = await privateTestDb('reconciliation', 6)
  sql = db.sql
  fake = startFakeStripe()
  // The app's error shape, as src/app.ts renders it.
  app = new Elysia()
    .onError(({ code, error, request, path }) => errorResponse(frameworkError(code, error, request.method, path)))
    .use(reconciliationPlugin({ sql, guard: adminGuard(ADMIN_TOKEN) }))
})
afterAll(async () => {
  await fake.stop()
  await db.drop()
})

const get = (path: string, token: string | null = ADMIN_TOKEN) =>
  app.handle(new Request(`http://localhost${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} }))

const monthOf = (ms: number) => new Date(ms).toISOString().slice(0, 7)

async function drain(reporter: StripeReporter): Promise<void> {
  for (let i = 0; i < 200; i++) {
    await reporter.runOnce()
    const left = await outstanding(sql)
    if (left.unclaimedRows === 0 && left.pendingBatches === 0) return
    await Bun.sleep(20)
  }
  throw new Error('not drained')
}

interface CustomerLine {
  account_id: string
  customer: string
  cost_nano: string
  reported_nano: string
  pending_nano: string
  unclaimed_nano: string
  refused_nano: string
  difference_nano: string
  stripe: { event_name: string; sent: string; pending: string; refused: string }[]
}

test('the admin token guards both routes; a bad period is a 400', async () => {
  expect((await get('/admin/reconciliation?period=2025-01', null)).status).toBe(401)
  expect((await get('/admin/reconciliation?period=2025-01', 'wrong')).status).toBe(401)
  expect((await get('/admin/reconciliation/manual-adjustments', null)).status).toBe(401)
  const bad = await get('/admin/reconciliation?period=2025-13')
  expect(bad.status).toBe(400)
  expect(((await bad.json()) as { error: { type: string } }).error.type).toBe('invalid_request_error')
  expect((await get('/admin/reconciliation?period=2025-01')).status).toBe(200)
})

test('pending before the run, zero difference once drained; refused usage listed for a manual adjustment', async () => {
  const customers = Array.from({ length: 4 }, () => ({ accountId: uniqueId('acct'), customer: uniqueId('cus') }))
  await sql`INSERT INTO accounts ${sql(customers.map((c) => ({ id: c.accountId, name: c.accountId, stripe_customer_id: c.customer })), 'id', 'name', 'stripe_customer_id')}`
  // Usage at the start of this month's first hour... and 40 days ago (too old for Stripe) in its own month.
  const now = Date.now()
  const monthStart = Date.UTC(new Date(now).getUTCFullYear(), new Date(now).getUTCMonth(), 1)
  const recent = Array.from({ length: 400 }, (_, i) =>
    usageRecord({
      accountId: customers[i % 4]!.accountId,
      subject: customers[i % 4]!.accountId,
      costNano: 1 + Math.floor(Math.random() * 2_000_000),
      startedAt: new Date(monthStart + Math.floor(Math.random() * Math.max(1, now - monthStart))).toISOString(),
    }),
  )
  const oldAt = now - 40 * 86_400_000
  const old = Array.from({ length: 10 }, () => usageRecord({ accountId: customers[0]!.accountId, subject: customers[0]!.accountId, costNano: 123_456, startedAt: new Date(oldAt).toISOString() }))
  await insertUsageEvents(sql, [...recent, ...old])

  const period = monthOf(now)
  const before = (await (await get(`/admin/reconciliation?period=${period}`)).json()) as { customers: CustomerLine[] }
  const line0 = before.customers.find((c) => c.account_id === customers[0]!.accountId)!
  expect(line0.unclaimed_nano).toBe(line0.cost_nano)
  expect(line0.difference_nano).toBe(line0.cost_nano)

  const stripe = createStripeClient({ secretKey: fake.secretKey, apiBase: fake.url, webhookSecret: '', proPriceId: '' }, { timeout: 1000, maxNetworkRetries: 0 })!
  await drain(new StripeReporter({ sql, stripe, logger: createLogger('silent'), mode: 'spend', spendEventName: EVENT, maxCallsPerSecond: 1000, backoffBaseMs: 10 }))

  const response = await get(`/admin/reconciliation?period=${period}`)
  expect(response.status).toBe(200)
  const body = (await response.json()) as { period: string; totals: Record<string, string>; customers: CustomerLine[] }
  expect(body.period).toBe(period)
  expect(body.totals.difference_nano).toBe('0')
  for (const c of customers) {
    const line = body.customers.find((l) => l.account_id === c.accountId)!
    const cost = recent.filter((r) => r.accountId === c.accountId).reduce((s, r) => s + BigInt(r.costNano), 0n)
    expect(line).toMatchObject({ customer: c.customer, cost_nano: String(cost), reported_nano: String(cost), pending_nano: '0', unclaimed_nano: '0', refused_nano: '0', difference_nano: '0' })
    // What the batches say was sent is what the fake Stripe counted.
    const meter = line.stripe.find((m) => m.event_name === EVENT)!
    expect(BigInt(meter.sent)).toBe(fake.meterTotal(c.customer, EVENT))
  }

  // The old month: refused usage is not a difference, it is listed for a manual adjustment.
  const oldPeriod = monthOf(oldAt)
  const oldBody = (await (await get(`/admin/reconciliation?period=${oldPeriod}`)).json()) as { customers: CustomerLine[] }
  const oldLine = oldBody.customers.find((l) => l.account_id === customers[0]!.accountId)!
  expect(oldLine).toMatchObject({ cost_nano: String(123_456n * 10n), refused_nano: String(123_456n * 10n), reported_nano: '0', difference_nano: '0' })
  const manual = (await (await get(`/admin/reconciliation/manual-adjustments?period=${oldPeriod}`)).json()) as { data: { customer: string; cost_nano: string; reason: string }[] }
  const mine = manual.data.filter((m) => m.customer === customers[0]!.customer)
  expect(mine.length).toBe(1)
  expect(mine[0]!.cost_nano).toBe(String(123_456n * 10n))
  expect(mine[0]!.reason).toContain('35 days')
  const all = (await (await get('/admin/reconciliation/manual-adjustments')).json()) as { data: unknown[] }
  expect(all.data.length).toBeGreaterThanOrEqual(1)
}, 30_000)
