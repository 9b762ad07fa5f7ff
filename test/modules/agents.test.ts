// Agents and keys end to end: registration, hashed keys, the subscription gate, admin changes, and revocation across processes.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import OpenAI from 'openai'
import type { Sql } from '../../src/lib/db'
import { hashApiKey } from '../../src/modules/auth/service'
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream'
import { ADMIN_TOKEN, startGateway, upstreamEnv, type TestGateway } from '../helpers/gateway'
import { testDb, uniqueId } from '../helpers/db'

let upstream: FakeUpstream
let gateway: TestGateway
let second: TestGateway
let sql: Sql

beforeAll(async () => {
  upstream = startFakeUpstream()
  gateway = await startGateway(upstreamEnv(upstream.url))
  // A second gateway process on the same Postgres and Redis, as when the API is scaled out.
  second = await startGateway(upstreamEnv(upstream.url))
  sql = await testDb(2)
})
afterAll(async () => {
  await Promise.all([gateway.stop(), second.stop()])
  await sql.end()
  upstream.stop()
})

interface Registered {
  agent_id: string
  api_key: string
  key_id: string
}

async function register(agentId = uniqueId('agent')): Promise<Registered> {
  const response = await fetch(`${gateway.url}/agents/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ agent_id: agentId, name: 'Test Agent', description: 'An intelligent agent', capabilities: ['coding', 'research'] }),
  })
  expect(response.status).toBe(201)
  return (await response.json()) as Registered
}

function admin(method: string, path: string, body?: unknown, token = ADMIN_TOKEN, base = gateway.url) {
  return fetch(`${base}/admin${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
}

const chatWith = (apiKey: string, base = gateway.url) =>
  new OpenAI({ apiKey, baseURL: `${base}/llm/v1`, maxRetries: 0 }).chat.completions.create({ model: 'mock/echo', messages: [{ role: 'user', content: 'ping' }] })
const errorOf = (promise: PromiseLike<unknown>) => Promise.resolve(promise).then(() => null, (error: unknown) => error as InstanceType<typeof OpenAI.APIError>)

describe('registration', () => {
  test('returns the key once, with a recognisable prefix, and stores only its hash', async () => {
    const agent = await register()
    expect(agent.api_key).toMatch(/^mw_live_[A-Za-z0-9]{32}$/)
    const rows = await sql`SELECT * FROM api_keys WHERE account_id = ${agent.agent_id}`
    expect(rows).toHaveLength(1)
    expect(rows[0]!.key_hash).toBe(hashApiKey(agent.api_key))
    expect(JSON.stringify(rows)).not.toContain(agent.api_key)
  })

  test('a taken agent_id is a 409', async () => {
    const agent = await register()
    const again = await fetch(`${gateway.url}/agents/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ agent_id: agent.agent_id, name: 'x' }),
    })
    expect(again.status).toBe(409)
    expect(((await again.json()) as { error: { code: string } }).error.code).toBe('agent_id_taken')
  })

  test.each([
    [{ name: 'x' }, 'agent_id'],
    [{ agent_id: 'OK NOT', name: 'x' }, 'agent_id'],
    [{ agent_id: 'valid-id-1' }, 'name'],
    [{ agent_id: 'valid-id-2', name: 'x', capabilities: 'coding' }, 'capabilities'],
    [{ agent_id: 'valid-id-3', name: 'x', capabilities: [1] }, 'capabilities[0]'],
  ])('bad body %j → 400 naming %s', async (body, param) => {
    const response = await fetch(`${gateway.url}/agents/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
    expect(response.status).toBe(400)
    const json = (await response.json()) as { error: { param: string; message: string } }
    expect(json.error.param).toBe(param)
    expect(json.error.message).toContain(param)
  })
})

describe('the subscription gate and keys', () => {
  test('a new agent gets 402 subscription_required that says how to subscribe; both key headers authenticate', async () => {
    const agent = await register()
    const error = await errorOf(chatWith(agent.api_key))
    expect(error).toBeInstanceOf(OpenAI.APIError)
    expect(error!.status).toBe(402)
    expect(error!.code).toBe('subscription_required')
    expect(error!.message).toContain('/subscriptions/checkout')
    const viaHeader = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'x-api-key': agent.api_key, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'mock/echo', messages: [{ role: 'user', content: 'x' }] }),
    })
    expect(viaHeader.status).toBe(402)
  })

  test('with REQUIRE_SUBSCRIPTION=false a new agent can call at once', async () => {
    const open = await startGateway({ REQUIRE_SUBSCRIPTION: 'false' })
    try {
      const agent = await register()
      expect((await chatWith(agent.api_key, open.url)).choices[0]!.message.content).toBe('ping')
    } finally {
      await open.stop()
    }
  })

  test('an admin activation reaches every gateway process; the call then succeeds', async () => {
    const agent = await register()
    // Both processes cache the principal (inactive) first.
    expect((await errorOf(chatWith(agent.api_key)))!.status).toBe(402)
    expect((await errorOf(chatWith(agent.api_key, second.url)))!.status).toBe(402)
    expect((await admin('POST', `/agents/${agent.agent_id}/subscription`, { status: 'active' })).status).toBe(200)
    await eventually(async () => (await chatWith(agent.api_key, second.url)).choices[0]!.message.content === 'ping')
    expect((await chatWith(agent.api_key)).choices[0]!.message.content).toBe('ping')
  })

  test('a revoked key stops working on every process within a second', async () => {
    const agent = await register()
    await admin('POST', `/agents/${agent.agent_id}/subscription`, { status: 'active' })
    const extra = (await (await admin('POST', `/agents/${agent.agent_id}/keys`)).json()) as { key_id: string; api_key: string }
    expect(extra.api_key).toMatch(/^mw_live_/)
    // Warm both caches with the key.
    await chatWith(extra.api_key)
    await chatWith(extra.api_key, second.url)
    expect((await admin('DELETE', `/keys/${extra.key_id}`)).status).toBe(200)
    // The other process learns it over Redis pub/sub: well within the second the product promises.
    await eventually(async () => (await errorOf(chatWith(extra.api_key, second.url)))?.status === 401, 1_000)
    expect((await errorOf(chatWith(extra.api_key)))!.status).toBe(401)
    // The agent's other key still works.
    expect((await chatWith(agent.api_key)).choices[0]!.message.content).toBe('ping')
    expect((await admin('DELETE', `/keys/${extra.key_id}`)).status).toBe(404)
  })
})

describe('admin API', () => {
  test('requires the admin token (401), and a gateway without ADMIN_TOKEN has no admin API (404)', async () => {
    expect((await admin('POST', '/agents/x/subscription', { status: 'active' }, 'wrong')).status).toBe(401)
    const bare = await startGateway({ ADMIN_TOKEN: '' })
    try {
      expect((await admin('POST', '/agents/x/subscription', { status: 'active' }, ADMIN_TOKEN, bare.url)).status).toBe(404)
    } finally {
      await bare.stop()
    }
  })

  test.each([
    ['POST', '/subscription', { status: 'paused' }, 'status'],
    ['POST', '/subscription', {}, 'status'],
    ['PUT', '/spend-cap', { usd: 50 }, 'usd'],
    ['PUT', '/spend-cap', { usd: '-1' }, 'usd'],
    ['PUT', '/limits', { rpm: 0, tpm: null }, 'rpm'],
    ['PUT', '/limits', { rpm: 10, tpm: 'lots' }, 'tpm'],
  ])('%s …%s with %j → 400 naming %s', async (method, path, body, param) => {
    const agent = await register()
    const response = await admin(method, `/agents/${agent.agent_id}${path}`, body)
    expect(response.status).toBe(400)
    expect(((await response.json()) as { error: { param: string } }).error.param).toBe(param)
  })

  test('unknown agents are 404; limits and caps are stored', async () => {
    expect((await admin('PUT', '/agents/nobody-here/limits', { rpm: 10, tpm: null })).status).toBe(404)
    const agent = await register()
    expect(await (await admin('PUT', `/agents/${agent.agent_id}/limits`, { rpm: 120, tpm: 50_000 })).json()).toEqual({ agent_id: agent.agent_id, rpm: 120, tpm: 50_000 })
    expect(await (await admin('PUT', `/agents/${agent.agent_id}/spend-cap`, { usd: '50.00' })).json()).toEqual({ agent_id: agent.agent_id, spend_cap_usd: '50.00' })
    const [row] = await sql`SELECT rpm_limit, tpm_limit, spend_cap_nano FROM accounts WHERE id = ${agent.agent_id}`
    expect(row).toEqual({ rpm_limit: 120, tpm_limit: 50_000, spend_cap_nano: '50000000000' })
  })

  test('limits are a partial update: an omitted one keeps its value, null restores the default, {} is a 400', async () => {
    const agent = await register()
    const limits = (body: unknown) => admin('PUT', `/agents/${agent.agent_id}/limits`, body)
    expect(await (await limits({ rpm: 120, tpm: 50_000 })).json()).toEqual({ agent_id: agent.agent_id, rpm: 120, tpm: 50_000 })
    expect(await (await limits({ rpm: 5 })).json()).toEqual({ agent_id: agent.agent_id, rpm: 5, tpm: 50_000 })
    expect(await (await limits({ tpm: null })).json()).toEqual({ agent_id: agent.agent_id, rpm: 5, tpm: null })
    const empty = await limits({})
    expect(empty.status).toBe(400)
    const [row] = await sql`SELECT rpm_limit, tpm_limit FROM accounts WHERE id = ${agent.agent_id}`
    expect(row).toEqual({ rpm_limit: 5, tpm_limit: null })
  })

  test('every admin write takes an Idempotency-Key: a retry replays the first answer, the key reused for another write is a 409', async () => {
    const agent = await register()
    const key = `idem-${crypto.randomUUID()}`
    const write = (method: string, path: string, body?: unknown, idempotencyKey = key) =>
      fetch(`${gateway.url}/admin${path}`, {
        method,
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json', 'idempotency-key': idempotencyKey },
        body: body === undefined ? undefined : JSON.stringify(body),
      })
    // A new key is shown once: a retry of the same request (a lost response) must show the same key, not mint another.
    const first = await write('POST', `/agents/${agent.agent_id}/keys`)
    expect(first.status).toBe(201)
    const minted = (await first.json()) as { key_id: string; api_key: string }
    const retried = await Promise.all([1, 2, 3].map(() => write('POST', `/agents/${agent.agent_id}/keys`)))
    for (const response of retried) {
      expect(response.status).toBe(201)
      expect(response.headers.get('idempotent-replayed')).toBe('true')
      expect(await response.json()).toEqual(minted)
    }
    const keys = await sql`SELECT id FROM api_keys WHERE account_id = ${agent.agent_id}`
    expect(keys.length).toBe(2) // the one from registration, and one from the four requests
    // The same key for a different write: refused, and nothing changes.
    const reused = await write('PUT', `/agents/${agent.agent_id}/limits`, { rpm: 7 })
    expect(reused.status).toBe(409)
    expect(((await reused.json()) as { error: { code: string } }).error.code).toBe('idempotency_key_reused')
    const [row] = await sql`SELECT rpm_limit FROM accounts WHERE id = ${agent.agent_id}`
    expect(row!.rpm_limit).toBeNull()
    // A write that failed frees its key: the retry runs (here on an agent that now exists).
    const failKey = `idem-${crypto.randomUUID()}`
    const ghost = uniqueId('agent')
    expect((await write('PUT', `/agents/${ghost}/limits`, { rpm: 9 }, failKey)).status).toBe(404)
    await register(ghost)
    const after = await write('PUT', `/agents/${ghost}/limits`, { rpm: 9 }, failKey)
    expect(after.status).toBe(200)
    expect(after.headers.get('idempotent-replayed')).toBeNull()
    // Replays go through Postgres, so another gateway process answers them the same.
    const elsewhere = await fetch(`${second.url}/admin/agents/${ghost}/limits`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json', 'idempotency-key': failKey },
      body: JSON.stringify({ rpm: 9 }),
    })
    expect(elsewhere.headers.get('idempotent-replayed')).toBe('true')
    expect(await elsewhere.json()).toEqual({ agent_id: ghost, rpm: 9, tpm: null })
  })

  test('the Swagger document lists the admin and registration endpoints', async () => {
    const spec = (await (await fetch(`${gateway.url}/swagger/json`)).json()) as { paths: Record<string, unknown> }
    for (const path of [
      '/agents/register',
      '/admin/agents/{agent_id}/subscription',
      '/admin/agents/{agent_id}/spend-cap',
      '/admin/agents/{agent_id}/limits',
      '/admin/agents/{agent_id}/keys',
      '/admin/keys/{key_id}',
      '/llm/usage',
    ]) {
      expect(Object.keys(spec.paths)).toContain(path)
    }
  })
})

describe('spending cap', () => {
  test('a call whose worst case would cross the cap gets 402 spending_cap_reached', async () => {
    const agent = await register()
    await admin('POST', `/agents/${agent.agent_id}/subscription`, { status: 'active' })
    // Each call holds ceil(8 prompt tokens × $2.50/1M) + 20 output tokens × $10/1M ≈ $0.00022 and costs $0.0001475
    // (the fixture's 19/10 tokens): the first fits under $0.0003, the second's hold would not.
    await admin('PUT', `/agents/${agent.agent_id}/spend-cap`, { usd: '0.0003' })
    const client = new OpenAI({ apiKey: agent.api_key, baseURL: `${gateway.url}/v1`, maxRetries: 0 })
    const call = () => client.chat.completions.create({ model: 'openai/gpt-4o', max_tokens: 20, messages: [{ role: 'user', content: 'Hello' }] })
    await call()
    const error = await errorOf(call())
    expect(error!.status).toBe(402)
    expect(error!.code).toBe('spending_cap_reached')
  })
})

async function eventually(check: () => Promise<boolean>, limitMs = 3_000): Promise<void> {
  const stopAt = Date.now() + limitMs
  for (;;) {
    const ok = await check().catch(() => false)
    if (ok) return
    if (Date.now() > stopAt) throw new Error('condition not met in time')
    await Bun.sleep(20)
  }
}
