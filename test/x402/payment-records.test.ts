// x402 payment records: the recorder queues them (never waiting), the worker stores each request id once, and GET /admin/payments lists a month.
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { Queue } from 'bullmq'
import { Elysia } from 'elysia'
import { errorResponse } from '../../src/errors'
import type { Sql } from '../../src/lib/db'
import { frameworkError } from '../../src/lib/framework-errors'
import { createLogger } from '../../src/lib/logger'
import { X402_PAYMENTS_QUEUE } from '../../src/lib/queues'
import { adminGuard } from '../../src/modules/auth/admin-guard'
import { paymentsPlugin } from '../../src/modules/payments'
import { createX402PaymentQueue, paymentJobId, type X402PaymentQueue } from '../../src/x402/payment-queue'
import type { X402PaymentRecord } from '../../src/x402/payment-record'
import { startX402PaymentWorker, type X402PaymentWorker } from '../../workers/x402-payments'
import { privateTestDb, uniqueId, type PrivateDatabase } from '../helpers/db'
import { waitFor } from '../helpers/poll'

const REDIS_URL = 'redis://127.0.0.1:6379'
const ADMIN_TOKEN = 'admin-token-for-x402-payment-tests'
const prefix = `{${uniqueId('mwtest-pay')}}`
const logger = createLogger('silent')

let db: PrivateDatabase
let sql: Sql
let recorder: X402PaymentQueue
let worker: X402PaymentWorker
let app: { handle(request: Request): Promise<Response> }

beforeAll(async () => {
  db = await privateTestDb('payments', 4)
  sql = db.sql
  recorder = createX402PaymentQueue(REDIS_URL, logger, { prefix })
  worker = startX402PaymentWorker({ redis: REDIS_URL, sql, logger, prefix })
  app = new Elysia()
    .onError(({ code, error, request, path }) => errorResponse(frameworkError(code, error, request.method, path)))
    .use(paymentsPlugin({ sql, guard: adminGuard(ADMIN_TOKEN) }))
})
afterAll(async () => {
  await recorder.close()
  await worker.close()
  const queue = new Queue(X402_PAYMENTS_QUEUE, { connection: { url: REDIS_URL }, prefix })
  await queue.obliterate({ force: true })
  await queue.close()
  await db.drop()
})

const get = (path: string, token: string | null = ADMIN_TOKEN) =>
  app.handle(new Request(`http://localhost${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} }))

function payment(overrides: Partial<X402PaymentRecord> = {}): X402PaymentRecord {
  return {
    requestId: `req_${crypto.randomUUID().replaceAll('-', '')}`,
    route: 'POST /v1/messages',
    payer: '0x1111111111111111111111111111111111111111',
    network: 'eip155:84532',
    asset: '0x036CbD53842c5426634e7929541eC2318f3dCF7e',
    payTo: '0x2222222222222222222222222222222222222222',
    amount: '15000',
    scheme: 'exact',
    transaction: `0x${'ab'.repeat(32)}`,
    status: 'settled',
    startedAt: new Date('2025-03-10T12:00:00Z'),
    ...overrides,
  }
}

const stored = (requestId: string) => sql<{ n: number }[]>`SELECT count(*)::int AS n FROM x402_payments WHERE request_id = ${requestId}`.then((r) => r[0]!.n)

test('a record given to the recorder twice is stored once, with its amount in atomic units and nano-USD', async () => {
  const record = payment()
  // Twice in one batch, then again after it was stored (a later job: the insert is the idempotent step).
  recorder.record(record)
  recorder.record(record)
  await waitFor(() => stored(record.requestId), 5_000, 'the payment row')
  recorder.record(record)
  const marker = payment()
  recorder.record(marker)
  await waitFor(() => stored(marker.requestId), 5_000, 'the later payment row')
  expect(await stored(record.requestId)).toBe(1)
  const [row] = await sql`SELECT amount_atomic::text, amount_nano::text, scheme, status, transaction, payer, pay_to, route FROM x402_payments WHERE request_id = ${record.requestId}`
  expect(row).toEqual({
    amount_atomic: '15000',
    amount_nano: '15000000',
    scheme: 'exact',
    status: 'settled',
    transaction: record.transaction,
    payer: record.payer,
    pay_to: record.payTo,
    route: 'POST /v1/messages',
  })
})

test('a batch job id names the whole batch: the same batch re-sent shares it, [a, a] and [a, b] do not', () => {
  const a = payment()
  const b = payment()
  expect(paymentJobId([a, b])).toBe(paymentJobId([{ ...a }, { ...b }]))
  expect(paymentJobId([a, a])).not.toBe(paymentJobId([a, b]))
  expect(paymentJobId([a, b])).not.toContain(':')
})

test('the recorder returns at once and a malformed record is dropped without holding the others back', async () => {
  const bad = payment({ amount: '1.5' })
  const good = payment({ status: 'refused', transaction: null, amount: '0' })
  const started = performance.now()
  recorder.record(bad)
  recorder.record(good)
  expect(performance.now() - started).toBeLessThan(50)
  await waitFor(() => stored(good.requestId), 5_000, 'the good payment row')
  expect(await stored(bad.requestId)).toBe(0)
})

test('GET /admin/payments lists a month in order, paged, with its totals', async () => {
  const month = '2031-07'
  const records = Array.from({ length: 5 }, (_, i) =>
    payment({ startedAt: new Date(Date.UTC(2031, 6, 1 + i, 8)), amount: String(1000 * (i + 1)), scheme: i % 2 ? 'upto' : 'exact', status: i === 4 ? 'settle_failed' : 'settled', transaction: i === 4 ? null : `0x${String(i).repeat(64)}` }),
  )
  // One just outside the month on each side.
  const outside = [payment({ startedAt: new Date('2031-06-30T23:59:59.999Z') }), payment({ startedAt: new Date('2031-08-01T00:00:00Z') })]
  for (const r of [...records, ...outside]) recorder.record(r)
  await waitFor(async () => (await sql`SELECT count(*)::int AS n FROM x402_payments WHERE started_at >= '2031-06-01' AND started_at < '2031-09-01'`)[0]!.n === 7, 5_000, 'the month rows')

  const first = await get(`/admin/payments?period=${month}&limit=3`)
  expect(first.status).toBe(200)
  const page1 = (await first.json()) as { data: { request_id: string; amount_atomic: string; amount_nano: string; scheme: string; status: string; started_at: string; transaction: string | null }[]; has_more: boolean; totals: Record<string, string> }
  expect(page1.totals).toEqual({ payments: '5', settled: '4', settled_atomic: String(1000 + 2000 + 3000 + 4000) })
  expect(page1.has_more).toBe(true)
  expect(page1.data.map((p) => p.request_id)).toEqual(records.slice(0, 3).map((r) => r.requestId))
  expect(page1.data[1]).toMatchObject({ amount_atomic: '2000', amount_nano: '2000000', scheme: 'upto', status: 'settled', started_at: '2031-07-02T08:00:00.000Z' })

  const page2 = (await (await get(`/admin/payments?period=${month}&limit=3&starting_after=${page1.data[2]!.request_id}`)).json()) as typeof page1
  expect(page2.has_more).toBe(false)
  expect(page2.data.map((p) => p.request_id)).toEqual(records.slice(3).map((r) => r.requestId))
  expect(page2.data[1]).toMatchObject({ status: 'settle_failed', transaction: null })
})

test('GET /admin/payments needs the admin token, and refuses a bad period, limit or cursor with a 400 naming it', async () => {
  expect((await get('/admin/payments?period=2025-01', null)).status).toBe(401)
  const wrong = await get('/admin/payments?period=2025-01', 'wrong')
  expect(wrong.status).toBe(401)
  expect(((await wrong.json()) as { error: { type: string } }).error.type).toBe('authentication_error')
  for (const [query, param] of [
    ['period=2025-13', 'period'],
    ['period=2025-1', 'period'],
    ['', 'period'],
    ['period=2025-01&limit=0', 'limit'],
    ['period=2025-01&limit=abc', 'limit'],
    ['period=2025-01&starting_after=req_nope', 'starting_after'],
  ] as const) {
    const response = await get(`/admin/payments?${query}`)
    expect(response.status).toBe(400)
    const body = (await response.json()) as { error: { type: string; param: string | null } }
    expect(body.error.type).toBe('invalid_request_error')
    expect(body.error.param).toBe(param)
  }
})
