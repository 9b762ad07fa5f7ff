// Embeddings and images with an end user's session token, as a browser sends them (the openai SDK, an Origin header): paid from the end user's wallet within its scope, max_spend, origins and mode; and 50 image requests raced on one wallet.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type Redis from 'ioredis'
import OpenAI from 'openai'
import type { Sql } from '../../src/lib/db'
import { createRedis } from '../../src/lib/redis'
import { lineageKey, subjectKeys } from '../../src/limits/keys'
import { buildCatalog } from '../../src/pricing/catalog'
import { tokenClassCost } from '../../src/pricing/money'
import { browserClient, refusal } from '../helpers/browser'
import { testDb } from '../helpers/db'
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream'
import { readFixture } from '../helpers/fixtures'
import { startGateway, upstreamEnv, type TestGateway } from '../helpers/gateway'
import { sampleMoney, usd, waitForDrain } from '../helpers/money'
import { call, mintSession, projectWithKeys, type TestProject } from '../helpers/platform'

const ORIGIN = 'https://app.example.com'
const catalog = buildCatalog()
const DALLE_PRICE = catalog.find('openai/dall-e-3')!.images!.perImageNano!.get('standard/1024x1024')!
const EMBEDDING_FIXTURE = JSON.parse(readFixture('openai.embeddings.json')) as { usage: { prompt_tokens: number } }
/** The two texts the embeddings fixture answers (its usage counts them). */
const INPUTS = ['The food was delicious and the waiter was friendly.', 'A second sentence to embed.']
const EMBEDDING_COST = tokenClassCost(EMBEDDING_FIXTURE.usage.prompt_tokens, catalog.find('openai/text-embedding-3-small')!.prices.input)
const DALLE = { model: 'openai/dall-e-3', prompt: 'A lighthouse at dusk', size: '1024x1024', quality: 'standard' } as const

let upstream: FakeUpstream
let gateway: TestGateway
let sql: Sql
let redis: Redis
let project: TestProject

beforeAll(async () => {
  upstream = startFakeUpstream()
  gateway = await startGateway(upstreamEnv(upstream.url))
  sql = await testDb(4)
  redis = createRedis('redis://127.0.0.1:6379')
  await redis.connect()
  project = await projectWithKeys(gateway.url, { allowed_origins: [ORIGIN] })
}, 30_000)
afterAll(async () => {
  await gateway?.stop()
  await sql?.end()
  redis?.disconnect()
  upstream?.stop()
})

const browser = (token: string, origin = ORIGIN) => browserClient(gateway.url, token, origin)

const credit = async (walletId: string, amountUsd: string) => {
  const answer = await call(gateway.url, 'POST', `/v1/wallets/${walletId}/credit`, project.live, { amount_usd: amountUsd })
  expect(answer.status).toBe(201)
}

async function ledgerBalance(holder: string): Promise<bigint> {
  const [row] = await sql<{ balance: string }[]>`SELECT coalesce(sum(amount_nano), 0)::bigint AS balance FROM ledger WHERE account_id = ${holder}`
  return BigInt(row!.balance)
}

/** One POST as a page sends it with fetch; the status, error code, request id and CORS grant. */
async function post(path: string, token: string, body: unknown, origin: string | null = ORIGIN) {
  const response = await fetch(`${gateway.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...(origin ? { origin } : {}) },
    body: JSON.stringify(body),
  })
  const json = (await response.json()) as { error?: { code: string }; data?: unknown[] }
  return {
    status: response.status,
    code: json.error?.code ?? null,
    data: json.data ?? [],
    requestId: response.headers.get('x-request-id')!,
    allowOrigin: response.headers.get('access-control-allow-origin'),
  }
}

describe('a session pays embeddings and images from its wallet', () => {
  test('an embedding and an image through the openai SDK: each debits its actual cost; usage rows carry the platform columns; ledger = Redis', async () => {
    const session = await mintSession(gateway.url, project.live, { customer: 'media-payer' })
    const client = browser(session.session_token)
    expect(await refusal(client.images.generate(DALLE))).toEqual({ status: 402, code: 'insufficient_balance' })
    await credit(session.wallet_id, '1.00')

    const embedded = await client.embeddings.create({ model: 'openai/text-embedding-3-small', input: INPUTS }).withResponse()
    expect(embedded.data.data[0]!.embedding.length).toBeGreaterThan(0)
    expect(embedded.response.headers.get('access-control-allow-origin')).toBe(ORIGIN)
    const image = await client.images.generate(DALLE).withResponse()
    expect(image.data.data?.[0]?.url).toBeTruthy()
    expect(image.response.headers.get('access-control-allow-origin')).toBe(ORIGIN)
    // The /llm/v1 alias takes the token too.
    const alias = await post('/llm/v1/embeddings', session.session_token, { model: 'openai/text-embedding-3-small', input: INPUTS })
    expect(alias.status).toBe(200)

    const ids = [embedded.response, image.response].map((r) => r.headers.get('x-request-id')!).concat(alias.requestId)
    const holder = `wallet:${session.wallet_id}`
    await waitForDrain(sql, redis, holder, ids)
    const [minted] = await sql<{ id: string }[]>`SELECT id FROM end_user_sessions WHERE wallet_id = ${session.wallet_id}`
    const rows = await sql<{ request_id: string; model: string; cost_nano: string }[]>`
      SELECT request_id, account_id, key_id, model, cost_nano, money_mode, project_id, end_customer_id, session_id, platform_mode, images, image_tier
      FROM usage_events WHERE request_id = ANY(${ids}) ORDER BY started_at`
    expect(rows).toHaveLength(3)
    for (const row of rows) {
      expect(row).toMatchObject({
        account_id: holder,
        key_id: minted!.id,
        money_mode: 'prepaid',
        project_id: project.id,
        end_customer_id: session.end_customer_id,
        session_id: minted!.id,
        platform_mode: 'live',
      })
      const [debit] = await sql<{ amount_nano: string }[]>`SELECT amount_nano FROM ledger WHERE reference = ${row.request_id}`
      expect(BigInt(debit!.amount_nano)).toBe(-BigInt(row.cost_nano))
    }
    const imageRow = rows.find((r) => r.model === 'openai/dall-e-3')!
    expect(imageRow).toMatchObject({ images: 1, image_tier: 'standard/1024x1024' })
    expect(BigInt(imageRow.cost_nano)).toBe(DALLE_PRICE)
    for (const row of rows.filter((r) => r.model === 'openai/text-embedding-3-small')) expect(BigInt(row.cost_nano)).toBe(EMBEDDING_COST)

    const spent = rows.reduce((sum, row) => sum + BigInt(row.cost_nano), 0n)
    const balance = await ledgerBalance(holder)
    expect(balance).toBe(1_000_000_000n - spent)
    expect(BigInt((await redis.hget(subjectKeys(holder).wallet, 'avail'))!)).toBe(balance)
    expect(BigInt((await redis.hget(subjectKeys(holder).wallet, 'held')) ?? '0')).toBe(0n)
  })

  test('scope: a model outside it is 403 model_not_allowed on both routes; a frozen wallet is 402 wallet_frozen', async () => {
    const session = await mintSession(gateway.url, project.live, { customer: 'media-scoped', scope: { models: ['openai/text-embedding-3-small', 'mock/image'] } })
    await credit(session.wallet_id, '1.00')
    const client = browser(session.session_token)
    expect(await refusal(client.images.generate(DALLE))).toEqual({ status: 403, code: 'model_not_allowed' })
    expect(await refusal(client.embeddings.create({ model: 'openai/text-embedding-3-large', input: 'hi' }))).toEqual({ status: 403, code: 'model_not_allowed' })
    expect((await client.embeddings.create({ model: 'openai/text-embedding-3-small', input: INPUTS })).data).toHaveLength(2)
    expect((await client.images.generate({ model: 'mock/image', prompt: 'a cat' })).data).toHaveLength(1)
    expect((await call(gateway.url, 'PATCH', `/v1/wallets/${session.wallet_id}`, project.live, { status: 'frozen' })).status).toBe(200)
    expect(await refusal(client.images.generate({ model: 'mock/image', prompt: 'a cat' }))).toEqual({ status: 402, code: 'wallet_frozen' })
    expect(await refusal(client.embeddings.create({ model: 'openai/text-embedding-3-small', input: 'hi' }))).toEqual({ status: 402, code: 'wallet_frozen' })
  })

  test('max_spend: the image whose hold would pass it is 402 session_spend_limit; the lineage spent the actual costs', async () => {
    // One $0.04 image fits in $0.05; a second one's hold would not.
    const session = await mintSession(gateway.url, project.live, { customer: 'media-capped', scope: { max_spend: '0.05' } })
    await credit(session.wallet_id, '1.00')
    const client = browser(session.session_token)
    const first = await client.images.generate(DALLE).withResponse()
    expect(first.data.data).toHaveLength(1)
    expect(await refusal(client.images.generate(DALLE))).toEqual({ status: 402, code: 'session_spend_limit' })
    // Embeddings count in the same lineage: a small one still fits.
    const small = await client.embeddings.create({ model: 'openai/text-embedding-3-small', input: INPUTS }).withResponse()
    const holder = `wallet:${session.wallet_id}`
    const ids = [first.response, small.response].map((r) => r.headers.get('x-request-id')!)
    await waitForDrain(sql, redis, holder, ids)
    const [usage] = await sql<{ cost: string }[]>`SELECT coalesce(sum(cost_nano), 0)::bigint AS cost FROM usage_events WHERE request_id = ANY(${ids})`
    expect(BigInt(usage!.cost)).toBe(DALLE_PRICE + EMBEDDING_COST)
    const [lineage] = await sql<{ lineage_id: string }[]>`SELECT lineage_id FROM end_user_sessions WHERE wallet_id = ${session.wallet_id}`
    expect(BigInt((await redis.hget(lineageKey(holder, lineage!.lineage_id), 'spent'))!)).toBe(BigInt(usage!.cost))
  })
})

describe('origins, preflights and tokens', () => {
  test('a wrong origin is 403 origin_not_allowed; no Origin (a server) is served', async () => {
    const session = await mintSession(gateway.url, project.live, { customer: 'media-origins' })
    const evil = browser(session.session_token, 'https://evil.example.com')
    expect(await refusal(evil.images.generate({ model: 'mock/image', prompt: 'a cat' }))).toEqual({ status: 403, code: 'origin_not_allowed' })
    expect(await refusal(evil.embeddings.create({ model: 'mock/embed', input: 'hi' }))).toEqual({ status: 403, code: 'origin_not_allowed' })
    const server = new OpenAI({ apiKey: session.session_token, baseURL: `${gateway.url}/v1`, maxRetries: 0 })
    expect((await server.images.generate({ model: 'mock/image', prompt: 'a cat' })).data).toHaveLength(1)
    expect((await server.embeddings.create({ model: 'mock/embed', input: 'hi' })).data).toHaveLength(1)
  })

  test('CORS preflights are answered for allowed origins only, on the four paths', async () => {
    for (const path of ['/v1/embeddings', '/llm/v1/embeddings', '/v1/images/generations', '/llm/v1/images/generations']) {
      const ok = await fetch(`${gateway.url}${path}`, {
        method: 'OPTIONS',
        headers: { origin: ORIGIN, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type, x-stainless-os' },
      })
      expect(ok.status).toBe(204)
      expect(ok.headers.get('access-control-allow-origin')).toBe(ORIGIN)
      expect(ok.headers.get('access-control-allow-headers')).toContain('x-stainless-os')
      const refused = await fetch(`${gateway.url}${path}`, { method: 'OPTIONS', headers: { origin: 'https://evil.example.com', 'access-control-request-method': 'POST' } })
      expect(refused.status).toBe(403)
      expect(refused.headers.get('access-control-allow-origin')).toBeNull()
      expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('origin_not_allowed')
    }
  })

  test('expired and revoked tokens are 401 (session_expired readable by the page, invalid_api_key)', async () => {
    const expiring = await mintSession(gateway.url, project.live, { customer: 'media-expiring' })
    await sql`UPDATE end_user_sessions SET expires_at = now() - interval '1 second' WHERE wallet_id = ${expiring.wallet_id}`
    // The token may be cached with its old expiry: the project's eviction makes the next use read it again.
    await call(gateway.url, 'PATCH', `/v1/projects/${project.id}`, project.accountKey, { name: 'Test app' })
    for (const [path, body] of [['/v1/images/generations', { model: 'mock/image', prompt: 'a cat' }], ['/v1/embeddings', { model: 'mock/embed', input: 'hi' }]] as const) {
      const expired = await post(path, expiring.session_token, body)
      expect({ status: expired.status, code: expired.code, allowOrigin: expired.allowOrigin }).toEqual({ status: 401, code: 'session_expired', allowOrigin: ORIGIN })
    }
    const revoked = await mintSession(gateway.url, project.live, { customer: 'media-revoked' })
    expect((await call(gateway.url, 'DELETE', `/v1/sessions/${revoked.session_token}`, project.live)).status).toBeLessThan(300)
    expect(await refusal(browser(revoked.session_token).images.generate({ model: 'mock/image', prompt: 'a cat' }))).toEqual({ status: 401, code: 'invalid_api_key' })
  })
})

describe('test mode', () => {
  test('paid image and embedding models are 403 paid_model_in_test_mode; the free mock/image and mock/embed (and auto) cost nothing', async () => {
    const session = await mintSession(gateway.url, project.test, { customer: 'media-tester' })
    const client = browser(session.session_token)
    expect(await refusal(client.images.generate(DALLE))).toEqual({ status: 403, code: 'paid_model_in_test_mode' })
    expect(await refusal(client.embeddings.create({ model: 'openai/text-embedding-3-small', input: 'hi' }))).toEqual({ status: 403, code: 'paid_model_in_test_mode' })
    const answers = [
      await post('/v1/images/generations', session.session_token, { model: 'mock/image', prompt: 'a cat' }),
      await post('/v1/images/generations', session.session_token, { model: 'auto', prompt: 'a cat' }),
      await post('/v1/embeddings', session.session_token, { model: 'mock/embed', input: 'hi' }),
      await post('/v1/embeddings', session.session_token, { model: 'auto', input: 'hi' }),
    ]
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200])
    const records = await Promise.all(answers.map((a) => gateway.usageFor(a.requestId, 5_000)))
    expect(records.map((r) => r.model)).toEqual(['mock/image', 'mock/image', 'mock/embed', 'mock/embed'])
    for (const record of records) expect(record).toMatchObject({ costNano: 0, accountId: `wallet:${session.wallet_id}`, platform: { mode: 'test', projectId: project.id } })
    // A test session scoped to paid image models only has no free one for auto: said clearly.
    const paidOnly = await mintSession(gateway.url, project.test, { customer: 'media-tester', scope: { models: ['openai/dall-e-3'] } })
    const auto = await post('/v1/images/generations', paidOnly.session_token, { model: 'auto', prompt: 'a cat' })
    expect({ status: auto.status, code: auto.code }).toEqual({ status: 403, code: 'paid_model_in_test_mode' })
  })
})

describe('race', () => {
  test('50 image requests from 10 sessions of one end user against a small wallet: never below zero, no session past its max_spend, ledger = usage = Redis', async () => {
    const scope = { max_spend: '0.08' } // two $0.04 images per session
    const first = await mintSession(gateway.url, project.live, { customer: 'media-racer', scope })
    const sessions = [first, ...(await Promise.all(Array.from({ length: 9 }, () => mintSession(gateway.url, project.live, { customer: 'media-racer', scope }))))]
    expect(new Set(sessions.map((s) => s.wallet_id)).size).toBe(1)
    const holder = `wallet:${first.wallet_id}`
    const creditNano = 5n * DALLE_PRICE // five images in all
    await credit(first.wallet_id, '0.20')
    const sampler = sampleMoney(redis, holder)
    const results = await Promise.all(
      Array.from({ length: 50 }, async (_, i) => {
        const session = sessions[i % sessions.length]!
        // scenario:slow keeps each answer in flight for a while, so the requests overlap.
        return { ...(await post('/v1/images/generations', session.session_token, { ...DALLE, prompt: `A lighthouse, request ${i} scenario:slow` })), session }
      }),
    )
    const seen = await sampler.stop()
    const served = results.filter((r) => r.status === 200)
    const codes = new Set(results.filter((r) => r.status !== 200).map((r) => r.code))
    expect(served.length).toBeGreaterThan(0)
    expect(served.length).toBeLessThanOrEqual(5)
    expect(served.every((r) => r.data.length === 1)).toBe(true)
    expect([...codes].every((code) => code === 'insufficient_balance' || code === 'session_spend_limit')).toBe(true)
    await waitForDrain(sql, redis, holder, served.map((r) => r.requestId))

    expect(seen.samples).toBeGreaterThan(0)
    expect(seen.minAvailable === null || seen.minAvailable >= 0n).toBe(true)
    const [usage] = await sql<{ rows: string; cost: string }[]>`SELECT count(*) AS rows, coalesce(sum(cost_nano), 0)::bigint AS cost FROM usage_events WHERE account_id = ${holder}`
    expect(Number(usage!.rows)).toBe(served.length)
    const cost = BigInt(usage!.cost)
    expect(cost).toBe(BigInt(served.length) * DALLE_PRICE)
    const balance = await ledgerBalance(holder)
    expect(balance).toBeGreaterThanOrEqual(0n)
    expect(balance).toBe(creditNano - cost)
    expect(BigInt((await redis.hget(subjectKeys(holder).wallet, 'avail'))!)).toBe(balance)
    const perSession = await sql<{ key_id: string; cost: string }[]>`
      SELECT key_id, sum(cost_nano)::bigint AS cost FROM usage_events WHERE account_id = ${holder} GROUP BY key_id`
    for (const row of perSession) expect(BigInt(row.cost)).toBeLessThanOrEqual(80_000_000n)
    console.log(`session image race: ${served.length}/50 served, spent ${usd(cost)} of ${usd(creditNano)}, ${perSession.length} sessions spent, refusals ${[...codes].join(', ')}`)
  }, 60_000)
})
