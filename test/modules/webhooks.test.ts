// Webhook endpoints API on real Postgres and Redis: registration and the SSRF guard, per-account isolation, rotate, delete,
// emitEvent's jobs, the retry schedule, and the SDK's constructEvent against the standardwebhooks library.
import { afterAll, describe, expect, test } from 'bun:test'
import { Queue } from 'bullmq'
import { Elysia } from 'elysia'
import { Webhook } from 'standardwebhooks'
import { insertAccount } from '../../src/db/queries/accounts'
import { errorResponse } from '../../src/errors'
import { frameworkError } from '../../src/lib/framework-errors'
import type { LookupFn } from '../../src/lib/ssrf'
import type { Authenticator, Principal } from '../../src/modules/auth/service'
import { webhooksPlugin } from '../../src/modules/webhooks'
import { DEFAULT_BACKOFF, WEBHOOK_ATTEMPTS, WEBHOOKS_QUEUE, backoffDelay, webhookJobId } from '../../src/modules/webhooks/queue'
import { emitEvent } from '../../src/modules/webhooks/service'
import { generateSecret, signedHeaders } from '../../src/modules/webhooks/signing'
import { constructEvent, WebhookVerificationError } from '../../src/sdk/webhooks'
import { testDb, uniqueId } from '../helpers/db'
import { testPrincipal } from '../helpers/principals'

const REDIS_URL = 'redis://127.0.0.1:6379'
const PREFIX = `{${uniqueId('mwtest-whapi')}}`
const sql = await testDb(6)

const principal = (accountId: string, kind: Principal['kind'] = 'agent'): Principal => testPrincipal(accountId, { kind, billingMode: 'prepaid' })

const keys = new Map<string, Principal>([['static-key', principal('static', 'static')]])
const authenticate: Authenticator = (apiKey) => keys.get(apiKey) ?? null

/** Public DNS for the names the tests use; anything else fails like NXDOMAIN. */
const lookup: LookupFn = async (host) => {
  if (host === 'hooks.example.com') return [{ address: '93.184.215.14', family: 4 }]
  if (host === 'sneaky.example.com') return [{ address: '93.184.215.14', family: 4 }, { address: '10.1.2.3', family: 4 }]
  throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' })
}

/** Production rules (https only, no loopback), as a deployment without WEBHOOK_ALLOW_HTTP_LOOPBACK runs them. */
const app = new Elysia()
  .onError(({ code, error, request, path }) => errorResponse(frameworkError(code, error, request.method, path)))
  .use(webhooksPlugin({ sql, authenticate, allowHttpLoopback: false, lookup }))
  .listen({ port: 0, hostname: '127.0.0.1' })
const base = `http://127.0.0.1:${app.server!.port}`

afterAll(async () => {
  await app.stop(true)
  await sql.end()
})

async function newAgent(): Promise<string> {
  const id = uniqueId('acct')
  expect(await insertAccount(sql, { id, name: id, description: '', capabilities: [] })).toBe(true)
  keys.set(`key-${id}`, principal(id))
  return `key-${id}`
}

async function call(method: string, path: string, key: string | null, body?: unknown) {
  const headers: Record<string, string> = { 'content-type': 'application/json' }
  if (key) headers.authorization = `Bearer ${key}`
  const response = await fetch(`${base}${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) })
  return { status: response.status, body: (await response.json()) as Record<string, any> }
}

const register = (key: string, url = 'https://hooks.example.com/meterway', events: string[] = ['wallet.credited']) =>
  call('POST', '/v1/webhook_endpoints', key, { url, enabled_events: events })

describe('POST /v1/webhook_endpoints', () => {
  test('registers an https endpoint and shows a whsec_ secret of 24 random bytes once', async () => {
    const key = await newAgent()
    const created = await register(key, 'https://hooks.example.com/meterway', ['wallet.credited', 'wallet.low_balance', 'wallet.credited'])
    expect(created.status).toBe(201)
    expect(created.body).toMatchObject({
      object: 'webhook_endpoint',
      url: 'https://hooks.example.com/meterway',
      enabled_events: ['wallet.credited', 'wallet.low_balance'],
      status: 'enabled',
      disabled_reason: null,
    })
    expect(created.body.id).toMatch(/^we_[0-9a-f]{24}$/)
    expect(created.body.secret).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/)
    expect(Buffer.from(created.body.secret.slice(6), 'base64').length).toBe(24)
    expect(Number.isNaN(Date.parse(created.body.created_at))).toBe(false)

    const listed = await call('GET', '/v1/webhook_endpoints', key)
    expect(listed.status).toBe(200)
    expect(listed.body.data).toHaveLength(1)
    expect(listed.body.data[0].id).toBe(created.body.id)
    expect(JSON.stringify(listed.body)).not.toContain(created.body.secret.slice(6))
    expect(listed.body.data[0].secret).toBeUndefined()
  })

  test.each([
    ['https://127.0.0.1/hook', 'loopback'],
    ['http://example.com/hook', 'http'],
    ['https://10.0.0.1/hook', 'private'],
    ['https://[::1]/hook', 'IPv6 loopback'],
    ['https://2130706433/hook', 'decimal loopback'],
    ['https://169.254.169.254/latest', 'metadata'],
    ['https://localhost/hook', 'localhost'],
    ['https://sneaky.example.com/hook', 'a name with one private answer'],
    ['https://nxdomain.example.com/hook', 'an unresolvable name'],
    ['not a url', 'garbage'],
  ])('refuses %s (%s) with 400 unsafe_url naming url', async (url) => {
    const key = await newAgent()
    const refused = await register(key, url)
    expect(refused.status).toBe(400)
    expect(refused.body.error).toMatchObject({ code: 'unsafe_url', param: 'url', type: 'invalid_request_error' })
    expect((await call('GET', '/v1/webhook_endpoints', key)).body.data).toEqual([])
  })

  test('refuses unknown event types naming enabled_events, and an empty list', async () => {
    const key = await newAgent()
    const unknown = await register(key, undefined, ['wallet.credited', 'wallet.debited'])
    expect(unknown.status).toBe(400)
    expect(unknown.body.error.param).toBe('enabled_events')
    expect(unknown.body.error.message).toContain('wallet.debited')
    const empty = await register(key, undefined, [])
    expect(empty.status).toBe(400)
    expect(empty.body.error.param).toBe('enabled_events')
  })

  test('needs a key, and an agent key (static keys have no account)', async () => {
    expect((await register('nope')).status).toBe(401)
    expect((await call('GET', '/v1/webhook_endpoints', null)).status).toBe(401)
    const staticCall = await register('static-key')
    expect(staticCall.status).toBe(400)
    expect(staticCall.body.error.code).toBe('webhooks_not_available')
  })
})

describe('endpoint management', () => {
  test('each account sees and changes only its own endpoints (404 for the others)', async () => {
    const alice = await newAgent()
    const bob = await newAgent()
    const mine = (await register(alice)).body
    expect((await call('GET', '/v1/webhook_endpoints', bob)).body.data).toEqual([])
    for (const [method, path] of [
      ['DELETE', `/v1/webhook_endpoints/${mine.id}`],
      ['POST', `/v1/webhook_endpoints/${mine.id}/rotate_secret`],
      ['GET', `/v1/webhook_endpoints/${mine.id}/deliveries`],
    ] as const) {
      const answer = await call(method, path, bob)
      expect(answer.status).toBe(404)
      expect(answer.body.error.code).toBe('webhook_endpoint_not_found')
    }
    // Bob's attempts changed nothing.
    const [row] = await sql<{ secret: string; deleted_at: Date | null }[]>`SELECT secret, deleted_at FROM webhook_endpoints WHERE id = ${mine.id}`
    expect(row).toEqual({ secret: mine.secret, deleted_at: null })
  })

  test('rotate_secret returns a new secret that replaces the old one; delete hides the endpoint', async () => {
    const key = await newAgent()
    const created = (await register(key)).body
    const rotated = await call('POST', `/v1/webhook_endpoints/${created.id}/rotate_secret`, key)
    expect(rotated.status).toBe(200)
    expect(rotated.body.id).toBe(created.id)
    expect(rotated.body.secret).toMatch(/^whsec_/)
    expect(rotated.body.secret).not.toBe(created.secret)
    const [row] = await sql<{ secret: string }[]>`SELECT secret FROM webhook_endpoints WHERE id = ${created.id}`
    expect(row!.secret).toBe(rotated.body.secret)

    expect(await call('GET', `/v1/webhook_endpoints/${created.id}/deliveries`, key)).toEqual({ status: 200, body: { object: 'list', data: [] } })
    const deleted = await call('DELETE', `/v1/webhook_endpoints/${created.id}`, key)
    expect(deleted).toEqual({ status: 200, body: { id: created.id, object: 'webhook_endpoint', deleted: true } })
    expect((await call('GET', '/v1/webhook_endpoints', key)).body.data).toEqual([])
    expect((await call('DELETE', `/v1/webhook_endpoints/${created.id}`, key)).status).toBe(404)
    expect((await call('POST', `/v1/webhook_endpoints/${created.id}/rotate_secret`, key)).status).toBe(404)
  })
})

describe('emitEvent', () => {
  test('stores the event once and queues one job per enabled, subscribed endpoint of the account', async () => {
    const key = await newAgent()
    const accountId = keys.get(key)!.accountId
    const other = await newAgent()
    const a = (await register(key, undefined, ['wallet.credited'])).body
    const b = (await register(key, undefined, ['wallet.credited', 'wallet.low_balance'])).body
    await register(key, undefined, ['wallet.low_balance'])
    const disabled = (await register(key, undefined, ['wallet.credited'])).body
    await sql`UPDATE webhook_endpoints SET status = 'disabled' WHERE id = ${disabled.id}`
    const deleted = (await register(key, undefined, ['wallet.credited'])).body
    await call('DELETE', `/v1/webhook_endpoints/${deleted.id}`, key)
    await register(other, undefined, ['wallet.credited'])

    const queue = new Queue(WEBHOOKS_QUEUE, { connection: { url: REDIS_URL }, prefix: PREFIX })
    try {
      const emitted = await emitEvent(sql, queue, { accountId, type: 'wallet.credited', data: { amount_usd: '10.00' } })
      expect(emitted.eventId).toMatch(/^evt_[0-9a-f]{24}$/)
      expect(emitted.endpointIds.sort()).toEqual([a.id, b.id].sort())
      const events = await sql`SELECT id, type, payload FROM webhook_events WHERE account_id = ${accountId}`
      expect([...events]).toEqual([{ id: emitted.eventId, type: 'wallet.credited', payload: { amount_usd: '10.00' } }])

      for (const endpointId of emitted.endpointIds) {
        const job = await queue.getJob(webhookJobId(emitted.eventId, endpointId))
        expect(job?.id).toBe(`${emitted.eventId}_${endpointId}`)
        expect(job?.id).not.toContain(':')
        expect(job?.data).toEqual({ eventId: emitted.eventId, endpointId })
        expect(job?.opts.attempts).toBe(WEBHOOK_ATTEMPTS)
        expect(job?.opts.backoff).toEqual({ type: 'webhook' })
      }

      // Replaying an emit with a caller-chosen id stores nothing new and adds no job.
      const id = `evt_replay_${crypto.randomUUID().slice(0, 8)}`
      await emitEvent(sql, queue, { accountId, type: 'wallet.low_balance', data: { n: 1 }, id })
      await emitEvent(sql, queue, { accountId, type: 'wallet.low_balance', data: { n: 2 }, id })
      const [stored] = await sql`SELECT count(*)::int AS n, min(payload->>'n') AS n_value FROM webhook_events WHERE id = ${id}`
      expect(stored).toEqual({ n: 1, n_value: '1' })
      expect(await queue.getJobCountByTypes('wait', 'delayed', 'prioritized')).toBe(4)
    } finally {
      await queue.obliterate({ force: true })
      await queue.close()
    }
  })
})

describe('retry schedule', () => {
  const DAY_MS = 24 * 3_600_000
  const waits = (random: () => number) => Array.from({ length: WEBHOOK_ATTEMPTS - 1 }, (_, i) => backoffDelay(i + 1, DEFAULT_BACKOFF, random))
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0)

  test('spans at least 24 hours even when every jitter draw is the lowest', () => {
    expect(sum(waits(() => 0))).toBeGreaterThanOrEqual(DAY_MS)
    expect(sum(waits(() => 0.5))).toBeGreaterThanOrEqual(DAY_MS)
    // And is not absurdly long: the last attempt comes within two days.
    expect(sum(waits(() => 0.999999))).toBeLessThan(2 * DAY_MS)
  })

  test('doubles from 30 s, caps at 6 h, and jitters within ±20%', () => {
    expect(waits(() => 0.5).slice(0, 4)).toEqual([30_000, 60_000, 120_000, 240_000])
    expect(Math.max(...waits(() => 0.5))).toBe(6 * 3_600_000)
    for (let retry = 1; retry < WEBHOOK_ATTEMPTS; retry++) {
      const nominal = backoffDelay(retry, DEFAULT_BACKOFF, () => 0.5)
      for (let i = 0; i < 50; i++) {
        const d = backoffDelay(retry, DEFAULT_BACKOFF)
        expect(d).toBeGreaterThanOrEqual(Math.floor(nominal * 0.8))
        expect(d).toBeLessThanOrEqual(Math.ceil(nominal * 1.2))
      }
    }
  })
})

describe('constructEvent (SDK)', () => {
  const secret = generateSecret()
  const event = { id: 'evt_0123456789abcdef01234567', type: 'wallet.credited', created_at: '2025-01-01T00:00:00.000Z', data: { amount_usd: '5.00' } }
  const body = JSON.stringify(event)
  const now = () => Math.floor(Date.now() / 1000)

  test('accepts our signature, and the standardwebhooks library accepts it too', () => {
    const headers = signedHeaders(secret, event.id, now(), body)
    expect(constructEvent(body, headers, secret)).toEqual(event)
    expect(constructEvent(body, new Headers(headers), secret)).toEqual(event)
    expect(new Webhook(secret).verify(body, headers)).toEqual(event)
  })

  test("accepts the library's own signatures, and any one of several space-separated v1 signatures", () => {
    const ts = now()
    const library = new Webhook(secret).sign(event.id, new Date(ts * 1000), body)
    const base = { 'webhook-id': event.id, 'webhook-timestamp': String(ts) }
    expect(constructEvent(body, { ...base, 'webhook-signature': library }, secret)).toEqual(event)
    const other = signedHeaders(generateSecret(), event.id, ts, body)['webhook-signature']
    expect(constructEvent(body, { ...base, 'webhook-signature': `v2,abc ${other} ${library}` }, secret)).toEqual(event)
    // Header names in any case, as some frameworks keep them.
    expect(constructEvent(body, { 'Webhook-Id': event.id, 'Webhook-Timestamp': String(ts), 'Webhook-Signature': library }, secret)).toEqual(event)
  })

  test('refuses a tampered body, a tampered id, a wrong secret, stale and future timestamps, and missing headers', () => {
    const ts = now()
    const headers = signedHeaders(secret, event.id, ts, body)
    const refuses = (fn: () => unknown, message: RegExp) => expect(fn).toThrow(message)
    refuses(() => constructEvent(body.replace('5.00', '500.00'), headers, secret), /No matching signature/)
    refuses(() => constructEvent(body, { ...headers, 'webhook-id': 'evt_other' }, secret), /No matching signature/)
    refuses(() => constructEvent(body, headers, generateSecret()), /No matching signature/)
    refuses(() => constructEvent(body, { ...headers, 'webhook-signature': 'v1,' }, secret), /No matching signature/)
    const stale = signedHeaders(secret, event.id, ts - 301, body)
    refuses(() => constructEvent(body, stale, secret), /tolerance/)
    const future = signedHeaders(secret, event.id, ts + 301, body)
    refuses(() => constructEvent(body, future, secret), /tolerance/)
    // Inside the tolerance it passes; a custom tolerance applies.
    expect(constructEvent(body, signedHeaders(secret, event.id, ts - 290, body), secret)).toEqual(event)
    refuses(() => constructEvent(body, signedHeaders(secret, event.id, ts - 61, body), secret, 60), /tolerance/)
    refuses(() => constructEvent(body, { 'webhook-id': event.id, 'webhook-timestamp': String(ts) }, secret), /Missing/)
    expect(() => constructEvent(body, stale, secret)).toThrow(WebhookVerificationError)
  })
})
