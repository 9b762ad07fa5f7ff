// The webhooks worker end to end on real Redis and Postgres, with local Bun.serve receivers: signatures, retries with
// the same webhook-id, 410, redirects, timeouts, deleted endpoints and DNS that turns to loopback after registration.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { Queue } from 'bullmq'
import { Webhook } from 'standardwebhooks'
import { insertAccount } from '../../src/db/queries/accounts'
import { createLogger } from '../../src/lib/logger'
import type { LookupFn } from '../../src/lib/ssrf'
import type { Principal } from '../../src/modules/auth/service'
import { WEBHOOKS_QUEUE } from '../../src/modules/webhooks/queue'
import { createEndpoint, emitEvent } from '../../src/modules/webhooks/service'
import { constructEvent } from '../../src/sdk/webhooks'
import { startWebhookWorker, type WebhookWorker } from '../../workers/webhooks'
import { testDb, uniqueId } from '../helpers/db'
import { waitFor } from '../helpers/poll'

const REDIS_URL = 'redis://127.0.0.1:6379'
const PREFIX = `{${uniqueId('mwtest-wh')}}`
const sql = await testDb(6)
const logger = createLogger('error', (line) => process.stderr.write(line))

interface Received {
  headers: Record<string, string>
  body: string
}

/** A local receiver answering from a script of statuses (the last one repeats), recording every request. */
function receiver(statuses: number[], extra: (status: number) => Record<string, string> = () => ({}), delayMs = 0) {
  const received: Received[] = []
  const server = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    async fetch(request) {
      received.push({ headers: Object.fromEntries(request.headers), body: await request.text() })
      if (delayMs) await Bun.sleep(delayMs)
      const status = statuses[Math.min(received.length - 1, statuses.length - 1)]!
      return new Response(status === 302 ? null : `answer ${received.length}`, { status, headers: extra(status) })
    },
  })
  return { received, url: `http://127.0.0.1:${server.port}/hooks`, stop: () => server.stop(true) }
}

const principal = (accountId: string): Principal => ({
  accountId,
  keyId: `key_${accountId}`,
  mode: 'live',
  kind: 'agent',
  subscriptionStatus: 'active',
  spendCapNano: null,
  limits: { rpm: null, tpm: null },
  billingMode: 'prepaid',
})

async function newAccount(): Promise<Principal> {
  const id = uniqueId('acct')
  await insertAccount(sql, { id, name: id, description: '', capabilities: [] })
  return principal(id)
}

interface DeliveryLogRow {
  attempt: number
  status_code: number | null
  error: string | null
  latency_ms: number
  response_excerpt: string
}

const deliveries = (endpointId: string) =>
  sql<DeliveryLogRow[]>`SELECT attempt, status_code, error, latency_ms, response_excerpt FROM webhook_deliveries WHERE endpoint_id = ${endpointId} ORDER BY attempt`

const loopbackDeps = { sql, allowHttpLoopback: true }
let queue: Queue
let worker: WebhookWorker

beforeAll(async () => {
  queue = new Queue(WEBHOOKS_QUEUE, { connection: { url: REDIS_URL }, prefix: PREFIX })
  // Retries 40 ms, 80 ms, 120 ms …: the production schedule's shape at test speed.
  worker = startWebhookWorker({ redis: REDIS_URL, sql, logger, allowHttpLoopback: true, prefix: PREFIX, backoff: { baseMs: 40, capMs: 120 }, timeoutMs: 500 })
  await worker.worker.waitUntilReady()
})

afterAll(async () => {
  await worker.close()
  await queue.obliterate({ force: true })
  await queue.close()
  await sql.end()
})

describe('webhooks worker', () => {
  test('a delivery verifies with the standardwebhooks library and with constructEvent; the log row says 200', async () => {
    const target = receiver([200])
    try {
      const account = await newAccount()
      const endpoint = await createEndpoint(loopbackDeps, account, { url: target.url, enabled_events: ['wallet.credited'] })
      const { eventId } = await emitEvent(sql, queue, { accountId: account.accountId, type: 'wallet.credited', data: { amount_usd: '10.00', wallet_id: 'w_1' } })
      await waitFor(async () => (await deliveries(endpoint.id)).length === 1, 10_000, 'one delivery row')

      expect(target.received).toHaveLength(1)
      const { headers, body } = target.received[0]!
      expect(headers['webhook-id']).toBe(eventId)
      expect(headers['content-type']).toBe('application/json')
      const verified = new Webhook(endpoint.secret).verify(body, headers)
      const event = constructEvent(body, headers, endpoint.secret)
      expect(verified).toEqual(event)
      expect(event).toMatchObject({ id: eventId, type: 'wallet.credited', data: { amount_usd: '10.00', wallet_id: 'w_1' } })
      expect(Number.isNaN(Date.parse(event.created_at))).toBe(false)
      expect(Math.abs(Number(headers['webhook-timestamp']) - Date.now() / 1000)).toBeLessThan(30)

      const [row] = await deliveries(endpoint.id)
      expect(row).toMatchObject({ attempt: 1, status_code: 200, error: null, response_excerpt: 'answer 1' })
      expect(row!.latency_ms).toBeGreaterThanOrEqual(0)
      const job = await queue.getJob(`${eventId}_${endpoint.id}`)
      await waitFor(async () => (await job!.getState()) === 'completed', 5_000, 'the job to complete')
    } finally {
      target.stop()
    }
  })

  test('a receiver failing 4 times then succeeding gets the same webhook-id and body 5 times, and 5 log rows', async () => {
    const target = receiver([500, 503, 404, 429, 200])
    try {
      const account = await newAccount()
      const endpoint = await createEndpoint(loopbackDeps, account, { url: target.url, enabled_events: ['wallet.low_balance'] })
      const { eventId } = await emitEvent(sql, queue, { accountId: account.accountId, type: 'wallet.low_balance', data: { balance_usd: '0.50', threshold_usd: '1.00' } })
      await waitFor(async () => (await deliveries(endpoint.id)).some((r) => r.status_code === 200), 15_000, 'the fifth attempt')
      // A completed job makes no more attempts: counting after it is exact, not a guess at how long to wait.
      const job = await queue.getJob(`${eventId}_${endpoint.id}`)
      await waitFor(async () => (await job!.getState()) === 'completed', 10_000, 'the job to complete')

      expect(target.received).toHaveLength(5)
      expect(new Set(target.received.map((r) => r.headers['webhook-id']))).toEqual(new Set([eventId]))
      expect(new Set(target.received.map((r) => r.body)).size).toBe(1)
      // Every attempt is signed afresh, and each one verifies on its own.
      for (const r of target.received) expect(constructEvent(r.body, r.headers, endpoint.secret).id).toBe(eventId)
      const rows = await deliveries(endpoint.id)
      expect(rows.map((r) => [r.attempt, r.status_code])).toEqual([
        [1, 500],
        [2, 503],
        [3, 404],
        [4, 429],
        [5, 200],
      ])
      expect(rows[0]!.error).toBe('HTTP 500')
      expect(rows[4]!.error).toBeNull()
    } finally {
      target.stop()
    }
  })

  test('a 410 disables the endpoint and stops; later events are not queued for it', async () => {
    const target = receiver([410])
    try {
      const account = await newAccount()
      const endpoint = await createEndpoint(loopbackDeps, account, { url: target.url, enabled_events: ['spending_cap.reached'] })
      const { eventId } = await emitEvent(sql, queue, { accountId: account.accountId, type: 'spending_cap.reached', data: { cap_usd: '50.00' } })
      const job = await queue.getJob(`${eventId}_${endpoint.id}`)
      await waitFor(async () => (await job!.getState()) === 'completed', 10_000, 'the job to complete')

      expect(target.received).toHaveLength(1)
      const rows = await deliveries(endpoint.id)
      expect(rows).toHaveLength(1)
      expect(rows[0]).toMatchObject({ attempt: 1, status_code: 410 })
      const [state] = await sql`SELECT status, disabled_reason FROM webhook_endpoints WHERE id = ${endpoint.id}`
      expect(state!.status).toBe('disabled')
      expect(state!.disabled_reason).toContain('410')

      const next = await emitEvent(sql, queue, { accountId: account.accountId, type: 'spending_cap.reached', data: { cap_usd: '60.00' } })
      expect(next.endpointIds).toEqual([])
    } finally {
      target.stop()
    }
  })

  test('a 302 to another local server is not followed; the log row shows 302', async () => {
    const elsewhere = receiver([200])
    const target = receiver([302], () => ({ location: elsewhere.url }))
    try {
      const account = await newAccount()
      const endpoint = await createEndpoint(loopbackDeps, account, { url: target.url, enabled_events: ['subscription.updated'] })
      await emitEvent(sql, queue, { accountId: account.accountId, type: 'subscription.updated', data: { status: 'active' } })
      await waitFor(async () => (await deliveries(endpoint.id)).length >= 2, 10_000, 'two attempts')

      expect(elsewhere.received).toHaveLength(0)
      const rows = await deliveries(endpoint.id)
      expect(rows[0]).toMatchObject({ attempt: 1, status_code: 302, error: 'HTTP 302: redirects are not followed' })
      // A redirect is a failure: it is retried (and still not followed).
      expect(rows.every((r) => r.status_code === 302)).toBe(true)
      await sql`UPDATE webhook_endpoints SET status = 'disabled' WHERE id = ${endpoint.id}`
    } finally {
      target.stop()
      elsewhere.stop()
    }
  })

  test('a receiver slower than the timeout is cut off and logged without a status', async () => {
    const target = receiver([200], undefined, 2_000)
    try {
      const account = await newAccount()
      const endpoint = await createEndpoint(loopbackDeps, account, { url: target.url, enabled_events: ['wallet.credited'] })
      await emitEvent(sql, queue, { accountId: account.accountId, type: 'wallet.credited', data: {} })
      await waitFor(async () => (await deliveries(endpoint.id)).length >= 1, 10_000, 'one attempt')
      const [row] = await deliveries(endpoint.id)
      expect(row!.status_code).toBeNull()
      expect(row!.error).toContain('within 500 ms')
      expect(row!.latency_ms).toBeGreaterThanOrEqual(450)
      expect(row!.latency_ms).toBeLessThan(1_500)
      await sql`UPDATE webhook_endpoints SET status = 'disabled' WHERE id = ${endpoint.id}`
    } finally {
      target.stop()
    }
  })

  test('an endpoint deleted before its delivery gets nothing, and its job completes', async () => {
    const target = receiver([200])
    const account = await newAccount()
    const endpoint = await createEndpoint(loopbackDeps, account, { url: target.url, enabled_events: ['wallet.credited'] })
    const delayed = new Queue(WEBHOOKS_QUEUE, { connection: { url: REDIS_URL }, prefix: PREFIX })
    try {
      // Delay the job so the delete lands first.
      const { eventId } = await emitEvent(sql, { addBulk: (jobs) => delayed.addBulk(jobs.map((j) => ({ ...j, opts: { ...j.opts, delay: 300 } }))) }, {
        accountId: account.accountId,
        type: 'wallet.credited',
        data: {},
      })
      await sql`UPDATE webhook_endpoints SET deleted_at = now() WHERE id = ${endpoint.id}`
      const job = await queue.getJob(`${eventId}_${endpoint.id}`)
      await waitFor(async () => (await job!.getState()) === 'completed', 10_000, 'the job to complete')
      expect(target.received).toHaveLength(0)
      expect(await deliveries(endpoint.id)).toHaveLength(0)
    } finally {
      await delayed.close()
      target.stop()
    }
  })
})

describe('DNS rebinding', () => {
  test('a name public at registration that resolves to 127.0.0.1 at delivery is never connected to', async () => {
    const target = receiver([200])
    let answer = '93.184.215.14'
    const lookup: LookupFn = async () => [{ address: answer, family: 4 }]
    const prefix = `{${uniqueId('mwtest-whdns')}}`
    const strictQueue = new Queue(WEBHOOKS_QUEUE, { connection: { url: REDIS_URL }, prefix })
    // Production rules: no loopback allowance; the receiver listens on the loopback port the name will point to.
    const strict = startWebhookWorker({ redis: REDIS_URL, sql, logger, allowHttpLoopback: false, lookup, prefix, backoff: { baseMs: 40, capMs: 80 } })
    try {
      const account = await newAccount()
      const port = new URL(target.url).port
      const endpoint = await createEndpoint({ sql, allowHttpLoopback: false, lookup }, account, {
        url: `https://rebind.example.com:${port}/hooks`,
        enabled_events: ['wallet.credited'],
      })
      answer = '127.0.0.1'
      await emitEvent(sql, strictQueue, { accountId: account.accountId, type: 'wallet.credited', data: {} })
      await waitFor(async () => (await deliveries(endpoint.id)).length >= 2, 10_000, 'two refused attempts')
      expect(target.received).toHaveLength(0)
      const rows = await deliveries(endpoint.id)
      expect(rows[0]!.status_code).toBeNull()
      expect(rows[0]!.error).toStartWith('unsafe_url:')
      expect(rows[0]!.error).toContain('127.0.0.1')
    } finally {
      await strict.close()
      await strictQueue.obliterate({ force: true })
      await strictQueue.close()
      target.stop()
    }
  })
})
