// Chat with an end user's session token, as a browser sends it (the openai SDK, an Origin header): paid from the end user's wallet, within its scope, max_spend, origins and mode; and 200 streams raced on one wallet.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type Redis from 'ioredis'
import Anthropic from '@anthropic-ai/sdk'
import OpenAI from 'openai'
import type { Sql } from '../../src/lib/db'
import { createRedis } from '../../src/lib/redis'
import { lineageKey, subjectKeys } from '../../src/limits/keys'
import { testDb } from '../helpers/db'
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream'
import { startGateway, upstreamEnv, type TestGateway } from '../helpers/gateway'
import { sampleMoney, usd, waitForDrain } from '../helpers/money'
import { browserClient, refusal } from '../helpers/browser'
import { call, mintSession, projectWithKeys, type TestProject } from '../helpers/platform'
import { waitFor } from '../helpers/poll'

const ORIGIN = 'https://app.example.com'
const MESSAGES = [{ role: 'user' as const, content: 'Hello! scenario:slow' }]

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

/** Streams one completion to its end; returns the request id. */
async function stream(client: OpenAI, body: { model: string; max_tokens?: number }) {
  const { data, response } = await client.chat.completions.create({ ...body, messages: MESSAGES, stream: true }).withResponse()
  let text = ''
  for await (const chunk of data) text += chunk.choices[0]?.delta?.content ?? ''
  return { requestId: response.headers.get('x-request-id')!, text, allowOrigin: response.headers.get('access-control-allow-origin') }
}

async function ledgerBalance(holder: string): Promise<bigint> {
  const [row] = await sql<{ balance: string }[]>`SELECT coalesce(sum(amount_nano), 0)::bigint AS balance FROM ledger WHERE account_id = ${holder}`
  return BigInt(row!.balance)
}

describe('a session pays from its wallet', () => {
  test('an empty wallet is 402; after a credit a stream debits exactly its usage cost, and Redis and the ledger agree', async () => {
    const session = await mintSession(gateway.url, project.live, { customer: { external_id: 'payer' } })
    const client = browser(session.session_token)
    expect(await refusal(client.chat.completions.create({ model: 'openai/gpt-4o', max_tokens: 16, messages: MESSAGES }))).toEqual({ status: 402, code: 'insufficient_balance' })

    await credit(session.wallet_id, '1.00')
    const holder = `wallet:${session.wallet_id}`
    const { requestId, text, allowOrigin } = await stream(client, { model: 'openai/gpt-4o', max_tokens: 16 })
    expect(text.length).toBeGreaterThan(0)
    expect(allowOrigin).toBe(ORIGIN)
    await waitForDrain(sql, redis, holder, [requestId])
    const [row] = await sql<{ account_id: string; cost_nano: string }[]>`
      SELECT account_id, key_id, cost_nano, money_mode, project_id, end_customer_id, session_id, platform_mode FROM usage_events WHERE request_id = ${requestId}`
    const [minted] = await sql<{ id: string }[]>`SELECT id FROM end_user_sessions WHERE wallet_id = ${session.wallet_id}`
    expect(row).toMatchObject({
      account_id: holder,
      money_mode: 'prepaid',
      project_id: project.id,
      end_customer_id: session.end_customer_id,
      session_id: minted!.id,
      key_id: minted!.id,
      platform_mode: 'live',
    })
    const cost = BigInt(row!.cost_nano)
    expect(cost).toBeGreaterThan(0n)
    const [debit] = await sql<{ amount_nano: string }[]>`SELECT amount_nano FROM ledger WHERE reference = ${requestId}`
    expect(BigInt(debit!.amount_nano)).toBe(-cost)
    const balance = await ledgerBalance(holder)
    expect(balance).toBe(1_000_000_000n - cost)
    expect(BigInt((await redis.hget(subjectKeys(holder).wallet, 'avail'))!)).toBe(balance)
    const wallet = await call(gateway.url, 'GET', `/v1/wallets/${session.wallet_id}`, project.live)
    expect(wallet.body.balance_usd).toBe(usdString(balance))
  })

  test('max_spend stops the session with 402 session_spend_limit; its lineage spent the actual costs', async () => {
    const session = await mintSession(gateway.url, project.live, { customer: 'capped', scope: { max_spend: '0.0005' } })
    await credit(session.wallet_id, '1.00')
    const client = browser(session.session_token)
    const ids: string[] = []
    let refused: { status: number; code: string | null } | null = null
    for (let i = 0; i < 50 && !refused; i++) {
      try {
        ids.push((await stream(client, { model: 'openai/gpt-4o', max_tokens: 16 })).requestId)
      } catch (error) {
        refused = { status: (error as InstanceType<typeof OpenAI.APIError>).status ?? 0, code: ((error as InstanceType<typeof OpenAI.APIError>).code as string) ?? null }
      }
    }
    expect(refused).toEqual({ status: 402, code: 'session_spend_limit' })
    expect(ids.length).toBeGreaterThan(0)
    const holder = `wallet:${session.wallet_id}`
    await waitForDrain(sql, redis, holder, ids)
    const [usage] = await sql<{ cost: string }[]>`SELECT coalesce(sum(cost_nano), 0)::bigint AS cost FROM usage_events WHERE request_id = ANY(${ids})`
    expect(BigInt(usage!.cost)).toBeLessThanOrEqual(500_000n)
    const [lineage] = await sql<{ lineage_id: string }[]>`SELECT lineage_id FROM end_user_sessions WHERE wallet_id = ${session.wallet_id}`
    expect(BigInt((await redis.hget(lineageKey(holder, lineage!.lineage_id), 'spent'))!)).toBe(BigInt(usage!.cost))
    // The wallet still has money: the session's cap refused, not the balance; a new session of the same user may spend.
    const fresh = await mintSession(gateway.url, project.live, { customer: 'capped' })
    expect((await stream(browser(fresh.session_token), { model: 'openai/gpt-4o', max_tokens: 16 })).text.length).toBeGreaterThan(0)
  })

  test('an out-of-scope model is 403 model_not_allowed; a frozen wallet 402 wallet_frozen', async () => {
    const session = await mintSession(gateway.url, project.live, { customer: 'scoped', scope: { models: ['openai/gpt-4o-mini'] } })
    await credit(session.wallet_id, '1.00')
    const client = browser(session.session_token)
    expect(await refusal(client.chat.completions.create({ model: 'openai/gpt-4o', max_tokens: 16, messages: MESSAGES }))).toEqual({ status: 403, code: 'model_not_allowed' })
    expect((await stream(client, { model: 'openai/gpt-4o-mini', max_tokens: 16 })).text.length).toBeGreaterThan(0)
    expect((await call(gateway.url, 'PATCH', `/v1/wallets/${session.wallet_id}`, project.live, { status: 'frozen' })).status).toBe(200)
    expect(await refusal(client.chat.completions.create({ model: 'openai/gpt-4o-mini', max_tokens: 16, messages: MESSAGES }))).toEqual({ status: 402, code: 'wallet_frozen' })
  })
})

describe('the Messages API with a session token', () => {
  test('Anthropic\'s SDK streams, paid from the wallet within the scope; an out-of-scope model is 403', async () => {
    const session = await mintSession(gateway.url, project.live, { customer: 'claude-user', scope: { models: ['openai/gpt-4o-mini'] } })
    await credit(session.wallet_id, '1.00')
    const client = new Anthropic({ apiKey: session.session_token, baseURL: gateway.url, maxRetries: 0, defaultHeaders: { origin: ORIGIN } })
    const streamed = client.messages.stream({ model: 'openai/gpt-4o-mini', max_tokens: 16, messages: MESSAGES })
    const message = await streamed.finalMessage()
    expect(message.content.length).toBeGreaterThan(0)
    const requestId = (await streamed.withResponse()).response.headers.get('x-request-id')!
    const holder = `wallet:${session.wallet_id}`
    await waitForDrain(sql, redis, holder, [requestId])
    const [row] = await sql<{ cost_nano: string }[]>`SELECT account_id, cost_nano, end_customer_id FROM usage_events WHERE request_id = ${requestId}`
    expect(row).toMatchObject({ account_id: holder, end_customer_id: session.end_customer_id })
    expect(await ledgerBalance(holder)).toBe(1_000_000_000n - BigInt(row!.cost_nano))
    const refused = await client.messages.create({ model: 'openai/gpt-4o', max_tokens: 16, messages: MESSAGES }).then(
      () => null,
      (error: unknown) => error,
    )
    expect(refused).toBeInstanceOf(Anthropic.PermissionDeniedError)
    expect((refused as InstanceType<typeof Anthropic.PermissionDeniedError>).message).toContain('may not use openai/gpt-4o')
  })
})

describe('origins and tokens', () => {
  test('a wrong origin is 403 origin_not_allowed; a request without Origin (a server) is served', async () => {
    const session = await mintSession(gateway.url, project.live, { customer: 'origins' })
    const other = browser(session.session_token, 'https://evil.example.com')
    expect(await refusal(other.chat.completions.create({ model: 'mock/echo', messages: MESSAGES }))).toEqual({ status: 403, code: 'origin_not_allowed' })
    const noOrigin = new OpenAI({ apiKey: session.session_token, baseURL: `${gateway.url}/v1`, maxRetries: 0 })
    const answer = await noOrigin.chat.completions.create({ model: 'mock/echo', messages: MESSAGES })
    expect(answer.choices[0]!.message.content).toBeTruthy()
  })

  test('CORS preflights are answered for allowed origins only, on both chat paths', async () => {
    for (const path of ['/v1/chat/completions', '/llm/v1/chat/completions']) {
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

  test('expired and revoked tokens are 401 (session_expired, invalid_api_key)', async () => {
    const expiring = await mintSession(gateway.url, project.live, { customer: 'expiring' })
    await sql`UPDATE end_user_sessions SET expires_at = now() - interval '1 second' WHERE wallet_id = ${expiring.wallet_id}`
    // The token may be cached with its old expiry: the project's eviction makes the next use read it again.
    await call(gateway.url, 'PATCH', `/v1/projects/${project.id}`, project.accountKey, { name: 'Test app' })
    expect(await refusal(browser(expiring.session_token).chat.completions.create({ model: 'mock/echo', messages: MESSAGES }))).toEqual({ status: 401, code: 'session_expired' })
    // The page can read why (CORS granted to an allowed origin), so it knows to ask its backend for a new token.
    const expired = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${expiring.session_token}`, origin: ORIGIN, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'mock/echo', messages: MESSAGES }),
    })
    expect(expired.status).toBe(401)
    expect(expired.headers.get('access-control-allow-origin')).toBe(ORIGIN)

    const revoked = await mintSession(gateway.url, project.live, { customer: 'revoked' })
    expect((await call(gateway.url, 'DELETE', `/v1/sessions/${revoked.session_token}`, project.live)).status).toBeLessThan(300)
    expect(await refusal(browser(revoked.session_token).chat.completions.create({ model: 'mock/echo', messages: MESSAGES }))).toEqual({ status: 401, code: 'invalid_api_key' })
  })

  test('the agent routes do not take a session token (embeddings and images do: session-media.test.ts)', async () => {
    const session = await mintSession(gateway.url, project.live, { customer: 'elsewhere' })
    const answer = await call(gateway.url, 'GET', '/llm/usage', session.session_token)
    expect(answer.status).toBe(401)
  })
})

describe('test mode', () => {
  test('a paid model is 403 paid_model_in_test_mode pointing at auto; auto streams from a free model and costs nothing', async () => {
    const session = await mintSession(gateway.url, project.test, { customer: 'tester' })
    expect(session.session_token).toStartWith('es_test_')
    const client = browser(session.session_token)
    try {
      await client.chat.completions.create({ model: 'openai/gpt-4o', max_tokens: 16, messages: MESSAGES })
      throw new Error('expected a refusal')
    } catch (error) {
      const apiError = error as InstanceType<typeof OpenAI.APIError>
      expect(apiError.status).toBe(403)
      expect(apiError.code).toBe('paid_model_in_test_mode')
      expect(apiError.message).toContain('"auto"')
    }
    const { requestId, text } = await stream(client, { model: 'auto' })
    expect(text.length).toBeGreaterThan(0)
    const record = await gateway.usageFor(requestId, 5_000)
    expect(record.model).toStartWith('mock/')
    expect(record.costNano).toBe(0)
    expect(record.accountId).toBe(`wallet:${session.wallet_id}`)
  })
})

describe('race', () => {
  test('200 streams from 20 sessions of one end user against a small wallet: never below zero, no session past its max_spend, the ledger exact', async () => {
    const first = await mintSession(gateway.url, project.live, { customer: 'racer', scope: { max_spend: '0.0004' } })
    const sessions = [first, ...(await Promise.all(Array.from({ length: 19 }, () => mintSession(gateway.url, project.live, { customer: 'racer', scope: { max_spend: '0.0004' } }))))]
    expect(new Set(sessions.map((s) => s.wallet_id)).size).toBe(1)
    const holder = `wallet:${first.wallet_id}`
    const creditNano = 4_000_000n
    await credit(first.wallet_id, '0.004')
    const sampler = sampleMoney(redis, holder)
    const results = await Promise.all(
      Array.from({ length: 200 }, async (_, i) => {
        const session = sessions[i % sessions.length]!
        const response = await fetch(`${gateway.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${session.session_token}`, 'content-type': 'application/json', origin: ORIGIN },
          body: JSON.stringify({ model: 'openai/gpt-4o', max_tokens: 16, stream: true, messages: MESSAGES }),
        })
        const body = await response.text()
        const code = response.status === 200 ? null : (JSON.parse(body) as { error: { code: string } }).error.code
        return { status: response.status, code, requestId: response.headers.get('x-request-id')!, token: session.session_token }
      }),
    )
    const seen = await sampler.stop()
    const served = results.filter((r) => r.status === 200)
    const codes = new Set(results.filter((r) => r.status !== 200).map((r) => r.code))
    expect(served.length).toBeGreaterThan(0)
    expect(served.length).toBeLessThan(200)
    expect([...codes].every((code) => code === 'insufficient_balance' || code === 'session_spend_limit')).toBe(true)
    await waitForDrain(sql, redis, holder, served.map((r) => r.requestId))

    expect(seen.minAvailable === null || seen.minAvailable >= 0n).toBe(true)
    const [usage] = await sql<{ cost: string }[]>`SELECT coalesce(sum(cost_nano), 0)::bigint AS cost FROM usage_events WHERE account_id = ${holder}`
    const cost = BigInt(usage!.cost)
    const balance = await ledgerBalance(holder)
    expect(balance).toBeGreaterThanOrEqual(0n)
    expect(balance).toBe(creditNano - cost)
    expect(BigInt((await redis.hget(subjectKeys(holder).wallet, 'avail'))!)).toBe(balance)
    const perSession = await sql<{ key_id: string; cost: string }[]>`
      SELECT key_id, sum(cost_nano)::bigint AS cost FROM usage_events WHERE account_id = ${holder} GROUP BY key_id`
    for (const row of perSession) expect(BigInt(row.cost)).toBeLessThanOrEqual(400_000n)
    console.log(`race: ${served.length}/200 served, spent ${usd(cost)} of ${usd(creditNano)}, ${perSession.length} sessions spent, refusals ${[...codes].join(', ')}`)
  }, 60_000)
})

/** The API's decimal USD string for nano-USD, as the wallet read formats it. */
function usdString(nano: bigint): string {
  return `${nano / 1_000_000_000n}.${(nano % 1_000_000_000n).toString().padStart(9, '0')}`.replace(/\.?0+$/, '')
}
