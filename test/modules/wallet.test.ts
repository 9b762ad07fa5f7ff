// Prepaid wallets end to end: admin billing mode and credits, GET /llm/balance, on real Postgres, Redis and Admission.
import { afterAll, beforeEach, describe, expect, test } from 'bun:test'
import { Elysia } from 'elysia'
import { findAccount, insertAccount } from '../../src/db/queries/accounts'
import { ledgerBalance } from '../../src/db/queries/ledger'
import { errorResponse } from '../../src/errors'
import { frameworkError } from '../../src/lib/framework-errors'
import { createLogger } from '../../src/lib/logger'
import { createRedis } from '../../src/lib/redis'
import { createHotRedis } from '../../src/lib/hot-redis'
import { Admission } from '../../src/limits/admission'
import { subjectKeys } from '../../src/limits/keys'
import { adminPlugin } from '../../src/modules/admin'
import { adminGuard } from '../../src/modules/auth/admin-guard'
import type { AdminDeps } from '../../src/modules/admin/service'
import { STATIC_ACCOUNT_ID, type Authenticator, type Principal } from '../../src/modules/auth/service'
import { walletPlugin } from '../../src/modules/wallet'
import { NANO_PER_USD } from '../../src/pricing/money'
import { TEST_QUEUE_PREFIX, testDb, uniqueId } from '../helpers/db'
import { testPrincipal } from '../helpers/principals'

const ADMIN_TOKEN = 'admin-token-for-the-wallet-tests-0123'
const STATIC_KEY = 'mw_static_wallet_key'

const sql = await testDb(8)
const redis = createRedis('redis://127.0.0.1:6379')
await redis.connect()
const hot = createHotRedis('redis://127.0.0.1:6379')
await hot.ready
const logLines: string[] = []
const logger = createLogger('warn', (line) => void logLines.push(line))
const admission = new Admission(hot, sql, { defaultRpm: 60, defaultTpm: 0, holdTtlMs: 60_000, onRedisError: 'deny', queuePrefix: TEST_QUEUE_PREFIX }, logger)

/** Redis failures to inject into the next admission.credit calls (the real Admission runs otherwise). */
let creditFailuresLeft = 0
const adminAdmission: AdminDeps['admission'] = {
  credit: (subject, amountNano, ledgerId) => {
    if (creditFailuresLeft > 0) {
      creditFailuresLeft--
      return Promise.reject(new Error('Command timed out'))
    }
    return admission.credit(subject, amountNano, ledgerId)
  },
}

const principal = (accountId: string, kind: Principal['kind'], billingMode: Principal['billingMode'] = 'prepaid'): Principal =>
  testPrincipal(accountId, { kind, billingMode })
const principals = new Map<string, Principal>([[STATIC_KEY, principal(STATIC_ACCOUNT_ID, 'static', 'postpaid')]])
const authenticate: Authenticator = (apiKey) => principals.get(apiKey) ?? null
const changed: string[] = []
const agents: string[] = []

const app = new Elysia()
  .onError(({ code, error, request, path }) => errorResponse(frameworkError(code, error, request.method, path)))
  .use(
    adminPlugin(adminGuard(ADMIN_TOKEN), {
      sql,
      onAccountChanged: async (accountId) => void changed.push(accountId),
      onKeyRevoked: async () => {},
      admission: adminAdmission,
      logger,
    }),
  )
  .use(walletPlugin({ sql, admission, authenticate }))
  .listen({ port: 0, hostname: '127.0.0.1' })
const base = `http://127.0.0.1:${app.server!.port}`

afterAll(async () => {
  await app.stop(true)
  const keys = agents.flatMap((id) => Object.values(subjectKeys(id)))
  if (keys.length > 0) await redis.del(...keys)
  redis.disconnect()
  await sql.end()
})

beforeEach(() => {
  changed.length = 0
  logLines.length = 0
  creditFailuresLeft = 0
})

/** A fresh account and an API key that authenticates as it. */
async function newAgent(billingMode: Principal['billingMode'] = 'prepaid'): Promise<{ id: string; key: string }> {
  const id = uniqueId('agent')
  expect(await insertAccount(sql, { id, name: `Agent ${id}`, description: 'wallet test', capabilities: [] })).toBe(true)
  agents.push(id)
  const key = `mw_test_${id}`
  principals.set(key, principal(id, 'agent', billingMode))
  return { id, key }
}

interface ErrorJson {
  error: { message: string; type: string; param: string | null; code: string | null }
}
interface CreditJson {
  ledger_id: string
  agent_id: string
  amount_usd: string
  reference: string
  created: boolean
  balance_usd: string
}
interface BalanceJson {
  balance_usd: string
  held_usd: string
  available_usd: string
  currency: string
  billing_mode: string
  recent_ledger: { id: string; kind: string; amount_usd: string; reference: string; reason: string; created_at: string }[]
}

function admin(method: string, path: string, body?: unknown, headers: Record<string, string> = {}, token: string | null = ADMIN_TOKEN) {
  const all: Record<string, string> = { 'content-type': 'application/json', ...headers }
  if (token !== null) all.authorization = `Bearer ${token}`
  return fetch(`${base}/admin${path}`, { method, headers: all, body: body === undefined ? undefined : JSON.stringify(body) })
}

const credit = (agentId: string, body: unknown, idempotencyKey?: string) =>
  admin('POST', `/agents/${agentId}/credit`, body, idempotencyKey === undefined ? {} : { 'idempotency-key': idempotencyKey })

async function creditOk(agentId: string, usd: string, idempotencyKey?: string, reason?: string): Promise<CreditJson> {
  const response = await credit(agentId, reason === undefined ? { usd } : { usd, reason }, idempotencyKey)
  expect(response.status).toBe(201)
  return (await response.json()) as CreditJson
}

async function balanceOf(key: string): Promise<BalanceJson> {
  const response = await fetch(`${base}/llm/balance`, { headers: { authorization: `Bearer ${key}` } })
  expect(response.status).toBe(200)
  return (await response.json()) as BalanceJson
}

const ledgerRows = (agentId: string) => sql<{ id: string; amount_nano: string; reference: string }[]>`SELECT * FROM ledger WHERE account_id = ${agentId} ORDER BY id`
const usd = (dollars: number) => BigInt(dollars) * NANO_PER_USD

describe('PUT /admin/agents/{id}/billing', () => {
  test('switches the mode both ways, stores it, and evicts the cached principal', async () => {
    const agent = await newAgent('postpaid')
    const toPrepaid = await admin('PUT', `/agents/${agent.id}/billing`, { mode: 'prepaid' })
    expect(toPrepaid.status).toBe(200)
    expect(await toPrepaid.json()).toEqual({ agent_id: agent.id, billing_mode: 'prepaid' })
    expect(((await findAccount(sql, agent.id)) as unknown as { billing_mode: string }).billing_mode).toBe('prepaid')
    expect(changed).toEqual([agent.id])

    const toPostpaid = await admin('PUT', `/agents/${agent.id}/billing`, { mode: 'postpaid' })
    expect(await toPostpaid.json()).toEqual({ agent_id: agent.id, billing_mode: 'postpaid' })
    expect(((await findAccount(sql, agent.id)) as unknown as { billing_mode: string }).billing_mode).toBe('postpaid')
    expect(changed).toEqual([agent.id, agent.id])
  })

  test('an unknown agent is a 404 and evicts nothing', async () => {
    const response = await admin('PUT', '/agents/no-such-agent/billing', { mode: 'prepaid' })
    expect(response.status).toBe(404)
    const json = (await response.json()) as ErrorJson
    expect(json.error.code).toBe('agent_not_found')
    expect(json.error.param).toBe('agent_id')
    expect(changed).toEqual([])
  })

  test.each([[{ mode: 'free' }], [{}], [{ mode: null }], [{ mode: 'PREPAID' }]])('bad body %j → 400 naming mode', async (body) => {
    const agent = await newAgent('postpaid')
    const response = await admin('PUT', `/agents/${agent.id}/billing`, body)
    expect(response.status).toBe(400)
    const json = (await response.json()) as ErrorJson
    expect(json.error.type).toBe('invalid_request_error')
    expect(json.error.param).toBe('mode')
    expect(json.error.message).toContain('mode')
    expect(((await findAccount(sql, agent.id)) as unknown as { billing_mode: string }).billing_mode).toBe('postpaid')
  })
})

describe('POST /admin/agents/{id}/credit and GET /llm/balance', () => {
  test('a credit adds one ledger row and raises the balance', async () => {
    const agent = await newAgent()
    const before = await balanceOf(agent.key)
    expect(before).toEqual({ balance_usd: '0.00', held_usd: '0.00', available_usd: '0.00', currency: 'USD', billing_mode: 'prepaid', recent_ledger: [] })

    const created = await creditOk(agent.id, '10.00', 'topup-1', 'welcome credit')
    expect(created).toEqual({
      ledger_id: expect.any(String),
      agent_id: agent.id,
      amount_usd: '10.00',
      reference: `credit:${agent.id}:topup-1`,
      created: true,
      balance_usd: '10.00',
    })
    const rows = await ledgerRows(agent.id)
    expect(rows.map((row) => [row.id, row.amount_nano, row.reference])).toEqual([[created.ledger_id, usd(10).toString(), `credit:${agent.id}:topup-1`]])

    const after = await balanceOf(agent.key)
    expect(after.balance_usd).toBe('10.00')
    expect(after.available_usd).toBe('10.00')
    expect(after.held_usd).toBe('0.00')
    expect(after.recent_ledger).toEqual([
      { id: created.ledger_id, kind: 'credit', amount_usd: '10.00', reference: `credit:${agent.id}:topup-1`, reason: 'welcome credit', created_at: expect.any(String) },
    ])
    expect(Number.isNaN(Date.parse(after.recent_ledger[0]!.created_at))).toBe(false)
  })

  test('without an Idempotency-Key each request is a new credit with a random reference', async () => {
    const agent = await newAgent()
    const first = await creditOk(agent.id, '1.5')
    const second = await creditOk(agent.id, '1.5')
    expect(first.reference).not.toBe(second.reference)
    expect(second.balance_usd).toBe('3.00')
    expect((await balanceOf(agent.key)).balance_usd).toBe('3.00')
  })

  test('the same Idempotency-Key twice: one ledger row, the replay answers 200 created:false, the balance does not move', async () => {
    const agent = await newAgent()
    await balanceOf(agent.key) // the wallet is in Redis, so the replay would be counted there if it were applied twice
    const first = await credit(agent.id, { usd: '7.25', reason: 'invoice 42' }, 'same-key')
    expect(first.status).toBe(201)
    const firstJson = (await first.json()) as CreditJson
    const replay = await credit(agent.id, { usd: '7.25', reason: 'invoice 42' }, 'same-key')
    expect(replay.status).toBe(200)
    expect(await replay.json()).toEqual({ ...firstJson, created: false })

    expect(await ledgerRows(agent.id)).toHaveLength(1)
    expect(await ledgerBalance(sql, agent.id)).toBe(7_250_000_000n)
    expect((await admission.balance(agent.id)).availableNano).toBe(7_250_000_000n)
    expect((await balanceOf(agent.key)).balance_usd).toBe('7.25')
  })

  test('a replayed Idempotency-Key with a different amount is a 409 and adds nothing', async () => {
    const agent = await newAgent()
    await creditOk(agent.id, '2.00', 'key-a')
    const response = await credit(agent.id, { usd: '20.00' }, 'key-a')
    expect(response.status).toBe(409)
    expect(((await response.json()) as ErrorJson).error.code).toBe('idempotency_key_reused')
    expect(await ledgerBalance(sql, agent.id)).toBe(usd(2))
    expect((await admission.balance(agent.id)).availableNano).toBe(usd(2))
  })

  test('an Idempotency-Key belongs to one agent: the same key on another agent is a separate credit', async () => {
    const [a, b] = [await newAgent(), await newAgent()]
    await creditOk(a.id, '1.00', 'shared-key')
    await creditOk(b.id, '2.00', 'shared-key')
    expect(await ledgerBalance(sql, a.id)).toBe(usd(1))
    expect(await ledgerBalance(sql, b.id)).toBe(usd(2))
  })

  test('20 concurrent credits with distinct keys: Postgres and Redis both hold the exact sum', async () => {
    const agent = await newAgent()
    await admission.balance(agent.id) // loaded: every credit must be applied in Redis, in whatever order they land
    // Nano-USD fractions in every amount, so any float arithmetic on the way would show.
    const amounts = Array.from({ length: 20 }, (_, i) => `${i + 1}.${String(123_456_789 + i).padStart(9, '0')}`)
    const responses = await Promise.all(amounts.map((amount, i) => credit(agent.id, { usd: amount }, `burst-${i}`)))
    expect(responses.map((response) => response.status)).toEqual(amounts.map(() => 201))
    const expected = amounts.reduce((sum, amount) => {
      const [whole, fraction] = amount.split('.') as [string, string]
      return sum + BigInt(whole) * NANO_PER_USD + BigInt(fraction)
    }, 0n)
    expect(await ledgerRows(agent.id)).toHaveLength(20)
    expect(await ledgerBalance(sql, agent.id)).toBe(expected)
    expect(await admission.balance(agent.id)).toEqual({ availableNano: expected, heldNano: 0n })
    expect(logLines).toEqual([])
  })

  test('20 concurrent credits before the wallet is loaded: the rebuilt wallet counts each exactly once', async () => {
    const agent = await newAgent()
    const responses = await Promise.all(Array.from({ length: 20 }, (_, i) => credit(agent.id, { usd: '0.000000001' }, `tiny-${i}`)))
    expect(responses.every((response) => response.status === 201)).toBe(true)
    expect(await ledgerBalance(sql, agent.id)).toBe(20n)
    expect(await admission.balance(agent.id)).toEqual({ availableNano: 20n, heldNano: 0n })
  })

  test('a credit made while the wallet is not in Redis is counted exactly once after the rebuild', async () => {
    const agent = await newAgent()
    const wallet = subjectKeys(agent.id).wallet
    expect(await redis.exists(wallet)).toBe(0)
    await creditOk(agent.id, '5.00', 'offline-1') // Redis has no wallet: nothing to raise yet
    expect(await admission.balance(agent.id)).toEqual({ availableNano: usd(5), heldNano: 0n }) // rebuilt from Postgres, with the credit

    await creditOk(agent.id, '3.00', 'online-1') // the wallet is loaded now: raised in Redis
    expect((await admission.balance(agent.id)).availableNano).toBe(usd(8))
    // Replaying the credit the rebuild already counted must not count it again.
    expect((await credit(agent.id, { usd: '5.00' }, 'offline-1')).status).toBe(200)
    expect((await admission.balance(agent.id)).availableNano).toBe(usd(8))

    await redis.del(wallet)
    expect((await admission.balance(agent.id)).availableNano).toBe(await ledgerBalance(sql, agent.id))
    expect((await balanceOf(agent.key)).balance_usd).toBe('8.00')
  })

  test('when Redis fails after the commit, the credit still answers 201, is logged without secrets, and a retry with the same key repairs Redis', async () => {
    const agent = await newAgent()
    await admission.balance(agent.id)
    creditFailuresLeft = 1
    const first = await credit(agent.id, { usd: '4.00' }, 'flaky-redis')
    expect(first.status).toBe(201)
    expect(((await first.json()) as CreditJson).balance_usd).toBe('4.00')
    expect((await admission.balance(agent.id)).availableNano).toBe(0n)
    expect(logLines).toHaveLength(1)
    expect(logLines[0]).toContain(agent.id)
    expect(logLines[0]).not.toContain(ADMIN_TOKEN)

    const retry = await credit(agent.id, { usd: '4.00' }, 'flaky-redis')
    expect(retry.status).toBe(200)
    expect((await admission.balance(agent.id)).availableNano).toBe(usd(4))
    expect(await ledgerRows(agent.id)).toHaveLength(1)
  })

  // KNOWN BUG in src/limits/scripts/credit-1.lua (not this module's file): the wallet's `seq` watermark is advanced by
  // every applied credit, so a credit whose Redis step lands after a later credit's (a retry after a Redis failure, or a
  // slow response) is skipped as "already counted" and Redis stays short until the wallet is rebuilt. Flip to `test`
  // once credit-1 remembers applied ids above the load watermark instead of advancing it.
  test('a retry repairs Redis even when a later credit was applied in between', async () => {
    const agent = await newAgent()
    await admission.balance(agent.id)
    creditFailuresLeft = 1
    expect((await credit(agent.id, { usd: '1.00' }, 'lost-in-redis')).status).toBe(201)
    await creditOk(agent.id, '2.00', 'applied-after')
    expect((await credit(agent.id, { usd: '1.00' }, 'lost-in-redis')).status).toBe(200)
    expect((await admission.balance(agent.id)).availableNano).toBe(await ledgerBalance(sql, agent.id))
  })

  test('held money counts in balance_usd but not in available_usd', async () => {
    const agent = await newAgent()
    await creditOk(agent.id, '10.00')
    const ticket = await admission.admit({
      requestId: uniqueId('req'),
      subject: agent.id,
      accountId: agent.id,
      limits: { rpm: null, tpm: null },
      mode: 'prepaid',
      capNano: null,
      holdNano: usd(3),
      chargeTokens: 0,
    })
    const during = await balanceOf(agent.key)
    expect([during.balance_usd, during.held_usd, during.available_usd]).toEqual(['10.00', '3.00', '7.00'])
    await admission.settle(ticket, 1_250_000_000, 0, null)
    const after = await balanceOf(agent.key)
    expect([after.balance_usd, after.held_usd, after.available_usd]).toEqual(['8.75', '0.00', '8.75'])
  })

  test('recent_ledger lists the last 20 entries, newest first', async () => {
    const agent = await newAgent()
    for (let i = 1; i <= 22; i++) await creditOk(agent.id, `${i}.00`, `seq-${i}`)
    const { recent_ledger } = await balanceOf(agent.key)
    expect(recent_ledger).toHaveLength(20)
    expect(recent_ledger.map((entry) => entry.amount_usd)).toEqual(Array.from({ length: 20 }, (_, i) => `${22 - i}.00`))
  })

  test('a postpaid agent sees its mode', async () => {
    const agent = await newAgent('postpaid')
    expect((await balanceOf(agent.key)).billing_mode).toBe('postpaid')
  })
})

describe('validation and access', () => {
  test.each([[0], ['0'], ['0.00'], ['-1'], ['abc'], [5], ['1.0000000001'], ['1e3'], [' 5'], [null], [undefined], ['1000000.000000001']])(
    'usd %j → 400 naming usd, and no ledger row',
    async (value) => {
      const agent = await newAgent()
      const response = await credit(agent.id, value === undefined ? {} : { usd: value })
      expect(response.status).toBe(400)
      const json = (await response.json()) as ErrorJson
      expect(json.error.param).toBe('usd')
      expect(json.error.message).toContain('usd')
      expect(await ledgerRows(agent.id)).toHaveLength(0)
    },
  )

  test('a credit for an unknown agent is a 404', async () => {
    const response = await credit('no-such-agent', { usd: '1.00' }, 'k')
    expect(response.status).toBe(404)
    expect(((await response.json()) as ErrorJson).error.code).toBe('agent_not_found')
  })

  test('an oversized Idempotency-Key is a 400 naming it', async () => {
    const agent = await newAgent()
    const response = await credit(agent.id, { usd: '1.00' }, 'k'.repeat(256))
    expect(response.status).toBe(400)
    expect(((await response.json()) as ErrorJson).error.param).toBe('idempotency-key')
    expect(await ledgerRows(agent.id)).toHaveLength(0)
  })

  test('admin routes need the admin token (an agent key is not one)', async () => {
    const agent = await newAgent()
    for (const token of [null, 'wrong-token', agent.key]) {
      const billing = await admin('PUT', `/agents/${agent.id}/billing`, { mode: 'postpaid' }, {}, token)
      const credited = await admin('POST', `/agents/${agent.id}/credit`, { usd: '1.00' }, {}, token)
      expect([billing.status, credited.status]).toEqual([401, 401])
    }
    expect(await ledgerRows(agent.id)).toHaveLength(0)
    expect(changed).toEqual([])
  })

  test('GET /llm/balance needs an agent key: none or unknown → 401, a static key → 400', async () => {
    expect((await fetch(`${base}/llm/balance`)).status).toBe(401)
    expect((await fetch(`${base}/llm/balance`, { headers: { authorization: 'Bearer nope' } })).status).toBe(401)
    const staticKey = await fetch(`${base}/llm/balance`, { headers: { 'x-api-key': STATIC_KEY } })
    expect(staticKey.status).toBe(400)
    const json = (await staticKey.json()) as ErrorJson
    expect(json.error.code).toBe('wallet_not_available')
    expect(json.error.message).toContain('agent key')
  })
})
