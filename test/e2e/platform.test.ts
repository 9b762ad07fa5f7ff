// Platform mode end to end: project → keys → session → refresh → revoke across two gateway processes, expiry, isolation, credits, customers, validation.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { Sql } from '../../src/lib/db'
import { hashApiKey } from '../../src/modules/auth/service'
import { testDb } from '../helpers/db'
import { startGateway, type TestGateway } from '../helpers/gateway'
import { call, mintSession, projectWithKeys, registerAccount } from '../helpers/platform'
import { waitFor } from '../helpers/poll'
import { spawnMeterway, type GatewayProcess } from '../helpers/processes'

// A cached credential would stay valid this long: only the pub/sub eviction can explain a refusal within a second.
const LONG_CACHE = { PRINCIPAL_CACHE_TTL_MS: '600000' }
const PUBLISHABLE = { STRIPE_PUBLISHABLE_KEY: 'pk_live_platform_tests', STRIPE_TEST_PUBLISHABLE_KEY: 'pk_test_platform_tests' }

let gateway: TestGateway
let replica: GatewayProcess
let sql: Sql
let url = ''
let replicaUrl = ''

beforeAll(async () => {
  gateway = await startGateway({ ...LONG_CACHE, ...PUBLISHABLE })
  replica = await spawnMeterway({ ...LONG_CACHE, ...PUBLISHABLE, ROLE: 'api', LOG_LEVEL: 'warn' })
  sql = await testDb(2)
  url = gateway.url
  replicaUrl = replica.url!
}, 60_000)
afterAll(async () => {
  replica?.child.kill('SIGTERM')
  await replica?.exited
  await sql?.end()
  await gateway?.stop()
}, 30_000)

const statusOf = async (base: string, method: string, path: string, key: string) => (await call(base, method, path, key)).status

describe('projects, keys and sessions', () => {
  test('a project is created, listed and changed with the account key; markup_percent is stored as basis points', async () => {
    const accountKey = await registerAccount(url)
    const created = await call(url, 'POST', '/v1/projects', accountKey, { name: 'Chat app', markup_percent: 12.5, allowed_origins: ['https://App.example.com'], end_user_sessions: true })
    expect(created.status).toBe(201)
    expect(created.body).toMatchObject({ object: 'project', name: 'Chat app', markup_percent: 12.5, markup_bps: 1250, allowed_origins: ['https://app.example.com'], end_user_sessions: true })
    const listed = await call(url, 'GET', '/v1/projects', accountKey)
    expect(listed.body.data.map((p: { id: string }) => p.id)).toEqual([created.body.id])
    const changed = await call(url, 'PATCH', `/v1/projects/${created.body.id}`, accountKey, { markup_percent: 1000, end_user_sessions: false })
    expect(changed.status).toBe(200)
    expect(changed.body).toMatchObject({ markup_bps: 100_000, end_user_sessions: false, name: 'Chat app', allowed_origins: ['https://app.example.com'] })
    const [row] = await sql<{ markup_bps: number }[]>`SELECT markup_bps FROM projects WHERE id = ${created.body.id}`
    expect(row!.markup_bps).toBe(100_000)
  })

  test('a secret key is shown once and stored only hashed', async () => {
    const project = await projectWithKeys(url)
    expect(project.live).toMatch(/^sk_live_[A-Za-z0-9]{32}$/)
    expect(project.test).toMatch(/^sk_test_[A-Za-z0-9]{32}$/)
    const rows = await sql<{ key_hash: string; display: string }[]>`SELECT key_hash, display FROM project_keys WHERE project_id = ${project.id} ORDER BY mode`
    expect(rows.map((r) => r.key_hash)).toEqual([hashApiKey(project.live), hashApiKey(project.test)])
    const stored = JSON.stringify(await sql`SELECT * FROM project_keys WHERE project_id = ${project.id}`)
    expect(stored).not.toContain(project.live)
  })

  test('project → keys → session → refresh → revoke: a second gateway process refuses the old and the revoked token within a second', async () => {
    const project = await projectWithKeys(url, { allowed_origins: ['https://app.example.com'] })
    const session = await mintSession(url, project.live, { customer: { external_id: 'user_123', email: 'u@example.com', name: 'Ada' }, scope: { models: ['openai/gpt-4o-mini'], max_spend: '2.00' } })
    expect(session.session_token).toMatch(/^es_[A-Za-z0-9]{32}$/)
    expect(session).toMatchObject({ mode: 'live', publishable_key: 'pk_live_platform_tests' })
    expect(session.wallet_id).toStartWith('wal_')
    const lifetime = Date.parse(session.expires_at) - Date.now()
    expect(lifetime).toBeGreaterThan(890_000)
    expect(lifetime).toBeLessThanOrEqual(900_000)

    // The same end user again: the same customer and wallet, a new token.
    const again = await mintSession(url, project.live, { customer: 'user_123' })
    expect(again.wallet_id).toBe(session.wallet_id)
    expect(again.end_customer_id).toBe(session.end_customer_id)
    expect(again.session_token).not.toBe(session.session_token)

    const config = await call(url, 'GET', '/v1/config', session.session_token)
    expect(config.body).toEqual({ publishable_key: 'pk_live_platform_tests', mode: 'live', models: ['openai/gpt-4o-mini'] })
    // Both processes know the token now (and cache it for ten minutes).
    for (const base of [url, replicaUrl]) expect(await statusOf(base, 'GET', '/v1/wallet/balance', session.session_token)).toBe(200)

    const refreshed = await call(replicaUrl, 'POST', '/v1/sessions/refresh', session.session_token)
    expect(refreshed.status).toBe(201)
    expect(refreshed.body).toMatchObject({ wallet_id: session.wallet_id, end_customer_id: session.end_customer_id, mode: 'live' })
    const [old, next] = await Promise.all([
      sql<{ lineage_id: string; replaced_by: string; revoked_at: Date | null }[]>`SELECT * FROM end_user_sessions WHERE token_hash = ${hashApiKey(session.session_token)}`,
      sql<{ id: string; lineage_id: string; scope_models: string[]; max_spend_nano: string }[]>`SELECT * FROM end_user_sessions WHERE token_hash = ${hashApiKey(refreshed.body.session_token)}`,
    ])
    // Same lineage (a max_spend counts across refreshes), same scope, and the old row names its successor.
    expect(next[0]!.lineage_id).toBe(old[0]!.lineage_id)
    expect(old[0]!.replaced_by).toBe(next[0]!.id)
    expect(next[0]!.scope_models).toEqual(['openai/gpt-4o-mini'])
    expect(next[0]!.max_spend_nano).toBe('2000000000')
    await waitFor(async () => (await statusOf(url, 'GET', '/v1/wallet/balance', session.session_token)) === 401, 1_000, 'the in-process gateway to refuse the refreshed-away token')
    expect(await statusOf(replicaUrl, 'GET', '/v1/wallet/balance', session.session_token)).toBe(401)
    expect((await call(url, 'POST', '/v1/sessions/refresh', session.session_token)).status).toBe(401)

    const token = refreshed.body.session_token as string
    for (const base of [url, replicaUrl]) expect(await statusOf(base, 'GET', '/v1/config', token)).toBe(200)
    const revoked = await call(url, 'DELETE', `/v1/sessions/${token}`, project.live)
    expect(revoked.body).toEqual({ revoked: true, end_customer_id: session.end_customer_id })
    const started = performance.now()
    await waitFor(async () => (await statusOf(replicaUrl, 'GET', '/v1/config', token)) === 401, 1_000, 'the second process to refuse the revoked session')
    expect(performance.now() - started).toBeLessThan(1_000)
    const refused = await call(replicaUrl, 'GET', '/v1/config', token)
    expect(refused.body.error.code).toBe('invalid_api_key')
    expect((await call(url, 'DELETE', `/v1/sessions/${token}`, project.live)).status).toBe(404)
  })

  test('a revoked secret key is refused by the other process within a second', async () => {
    const project = await projectWithKeys(url)
    for (const base of [url, replicaUrl]) expect(await statusOf(base, 'GET', '/v1/customers', project.live)).toBe(200)
    const [key] = await sql<{ id: string }[]>`SELECT id FROM project_keys WHERE key_hash = ${hashApiKey(project.live)}`
    const revoked = await call(url, 'DELETE', `/v1/projects/${project.id}/keys/${key!.id}`, project.accountKey)
    expect(revoked.body).toEqual({ id: key!.id, project_id: project.id, revoked: true })
    await waitFor(async () => (await statusOf(replicaUrl, 'GET', '/v1/customers', project.live)) === 401, 1_000, 'the second process to refuse the revoked key')
    expect(await statusOf(url, 'GET', '/v1/customers', project.live)).toBe(401)
    // The other key of the project still works.
    expect(await statusOf(replicaUrl, 'GET', '/v1/customers', project.test)).toBe(200)
  })

  test('racing first sightings of one end user make one customer and one wallet; racing refreshes of one token make one new token', async () => {
    const project = await projectWithKeys(url)
    const minted = await Promise.all(Array.from({ length: 12 }, (_, i) => mintSession(i % 2 ? url : replicaUrl, project.live, { customer: 'raced_user' })))
    expect(new Set(minted.map((m) => m.wallet_id)).size).toBe(1)
    expect(new Set(minted.map((m) => m.end_customer_id)).size).toBe(1)
    const [counted] = await sql<{ customers: string; wallets: string }[]>`
      SELECT (SELECT count(*) FROM end_customers WHERE project_id = ${project.id})::text AS customers,
             (SELECT count(*) FROM end_user_wallets WHERE project_id = ${project.id})::text AS wallets`
    expect(counted).toEqual({ customers: '1', wallets: '1' })
    const refreshes = await Promise.all(Array.from({ length: 8 }, (_, i) => call(i % 2 ? url : replicaUrl, 'POST', '/v1/sessions/refresh', minted[0]!.session_token)))
    expect(refreshes.map((r) => r.status).sort()).toEqual([201, 401, 401, 401, 401, 401, 401, 401])
  })

  test('a test key mints es_test_ sessions on a test wallet of its own, apart from the live one of the same external id', async () => {
    const project = await projectWithKeys(url)
    const live = await mintSession(url, project.live, { customer: 'same_user' })
    const sandbox = await mintSession(url, project.test, { customer: 'same_user' })
    expect(sandbox.session_token).toMatch(/^es_test_[A-Za-z0-9]{32}$/)
    expect(sandbox).toMatchObject({ mode: 'test', publishable_key: 'pk_test_platform_tests' })
    expect(sandbox.wallet_id).not.toBe(live.wallet_id)
    expect(sandbox.end_customer_id).not.toBe(live.end_customer_id)
  })

  test('an expired session is 401 session_expired, also when it was cached while valid', async () => {
    const project = await projectWithKeys(url)
    const session = await mintSession(url, project.live, { customer: 'short_lived', ttl_seconds: 60 })
    // ttl_seconds cannot go below 60; the row's expiry is brought forward instead, before the first use caches it.
    await sql`UPDATE end_user_sessions SET expires_at = now() + interval '1 second' WHERE token_hash = ${hashApiKey(session.session_token)}`
    expect(await statusOf(url, 'GET', '/v1/config', session.session_token)).toBe(200)
    const expired = await waitFor(async () => {
      const answer = await call(url, 'GET', '/v1/config', session.session_token)
      return answer.status === 401 ? answer : null
    }, 5_000, 'the session to expire')
    expect(expired.body.error.code).toBe('session_expired')
    const refresh = await call(url, 'POST', '/v1/sessions/refresh', session.session_token)
    expect(refresh.status).toBe(401)
    expect(refresh.body.error.code).toBe('session_expired')
  })

  test('sessions are refused while the project has end-user sessions off, and its tokens stop working when they are turned off', async () => {
    const project = await projectWithKeys(url)
    const session = await mintSession(url, project.live, { customer: 'toggle_user' })
    expect(await statusOf(replicaUrl, 'GET', '/v1/config', session.session_token)).toBe(200)
    expect((await call(url, 'PATCH', `/v1/projects/${project.id}`, project.accountKey, { end_user_sessions: false })).status).toBe(200)
    const refused = await call(url, 'POST', '/v1/sessions', project.live, { customer: 'toggle_user' })
    expect(refused.status).toBe(403)
    expect(refused.body.error.code).toBe('end_user_sessions_disabled')
    await waitFor(async () => (await statusOf(replicaUrl, 'GET', '/v1/config', session.session_token)) === 401, 1_000, 'the replica to refuse the token')
  })
})

describe('wallets and customers', () => {
  test('a credit is applied once per Idempotency-Key; a reused key with another amount is a 409; the balance follows', async () => {
    const project = await projectWithKeys(url)
    const session = await mintSession(url, project.live, { customer: 'credited' })
    const path = `/v1/wallets/${session.wallet_id}/credit`
    const first = await call(url, 'POST', path, project.live, { amount_usd: '5.00', reason: 'Signup bonus' }, { 'idempotency-key': 'bonus-1' })
    expect(first.status).toBe(201)
    expect(first.body).toMatchObject({ wallet_id: session.wallet_id, amount_usd: '5.00', created: true, balance_usd: '5.00' })
    const replay = await call(replicaUrl, 'POST', path, project.live, { amount_usd: '5.00', reason: 'Signup bonus' }, { 'idempotency-key': 'bonus-1' })
    expect(replay.status).toBe(200)
    expect(replay.body).toMatchObject({ ledger_id: first.body.ledger_id, created: false, balance_usd: '5.00' })
    const reused = await call(url, 'POST', path, project.live, { amount_usd: '6.00', reason: 'Signup bonus' }, { 'idempotency-key': 'bonus-1' })
    expect(reused.status).toBe(409)
    expect(reused.body.error.code).toBe('idempotency_key_reused')
    await call(url, 'POST', path, project.live, { amount_usd: '0.25' }, { 'idempotency-key': 'bonus-2' })

    const [ledger] = await sql<{ sum: string; rows: string }[]>`SELECT sum(amount_nano)::text AS sum, count(*)::text AS rows FROM ledger WHERE account_id = ${`wallet:${session.wallet_id}`}`
    expect(ledger).toEqual({ sum: '5250000000', rows: '2' })
    const wallet = await call(url, 'GET', `/v1/wallets/${session.wallet_id}`, project.live)
    expect(wallet.body).toEqual({
      id: session.wallet_id, object: 'wallet', end_customer_id: session.end_customer_id, mode: 'live',
      balance_usd: '5.25', held_usd: '0.00', available_usd: '5.25', currency: 'USD', status: 'active',
    })
    const balance = await call(url, 'GET', '/v1/wallet/balance', session.session_token)
    expect(balance.body).toMatchObject({ balance_usd: '5.25', available_usd: '5.25', currency: 'USD' })
    expect(balance.body.recent_ledger.map((e: { amount_usd: string }) => e.amount_usd)).toEqual(['0.25', '5.00'])

    const frozen = await call(url, 'PATCH', `/v1/wallets/${session.wallet_id}`, project.live, { status: 'frozen' })
    expect(frozen.body.status).toBe('frozen')
    expect((await call(url, 'GET', '/v1/wallet/balance', session.session_token)).body.status).toBe('frozen')
  })

  test('the customers list pages by starting_after, with balances and lifetime totals equal to the ledger', async () => {
    const project = await projectWithKeys(url)
    const minted = []
    for (const id of ['c_one', 'c_two', 'c_three']) minted.push(await mintSession(url, project.live, { customer: { external_id: id, email: `${id}@example.com` } }))
    // A test-mode customer is not in the live list.
    await mintSession(url, project.test, { customer: 'c_one' })
    await call(url, 'POST', `/v1/wallets/${minted[1]!.wallet_id}/credit`, project.live, { amount_usd: '3.50' })
    const first = await call(url, 'GET', '/v1/customers?limit=2', project.live)
    expect(first.body.data).toHaveLength(2)
    expect(first.body.has_more).toBe(true)
    const rest = await call(url, 'GET', `/v1/customers?limit=2&starting_after=${first.body.data[1].id}`, project.live)
    expect(rest.body.has_more).toBe(false)
    const all = [...first.body.data, ...rest.body.data]
    expect(all.map((c: { external_id: string }) => c.external_id).sort()).toEqual(['c_one', 'c_three', 'c_two'])
    for (const customer of all) {
      const [sums] = await sql<{ balance: string }[]>`SELECT coalesce(sum(amount_nano), 0)::text AS balance FROM ledger WHERE account_id = ${`wallet:${customer.wallet.id}`}`
      expect(BigInt(Math.round(Number(customer.wallet.balance_usd) * 1e9))).toBe(BigInt(sums!.balance))
      expect(customer.mode).toBe('live')
      expect(customer.lifetime_spend_usd).toBe('0.00')
    }
    const credited = all.find((c: { external_id: string }) => c.external_id === 'c_two')
    expect(credited).toMatchObject({ email: 'c_two@example.com', lifetime_topped_up_usd: '3.50', wallet: { id: minted[1]!.wallet_id, balance_usd: '3.50' } })
    const detail = await call(url, 'GET', `/v1/customers/${credited.id}`, project.live)
    expect(detail.body.recent_ledger.map((e: { amount_usd: string; kind: string }) => [e.kind, e.amount_usd])).toEqual([['credit', '3.50']])
  })

  test('isolation: another project, another account and the other mode all get 404', async () => {
    const a = await projectWithKeys(url)
    const b = await projectWithKeys(url)
    const session = await mintSession(url, a.live, { customer: 'private_user' })
    const testSession = await mintSession(url, a.test, { customer: 'private_user' })
    for (const [key, label] of [[b.live, 'project B live'], [b.test, 'project B test'], [a.test, 'project A test']] as const) {
      for (const [method, path, body] of [
        ['GET', `/v1/wallets/${session.wallet_id}`],
        ['PATCH', `/v1/wallets/${session.wallet_id}`, { status: 'frozen' }],
        ['POST', `/v1/wallets/${session.wallet_id}/credit`, { amount_usd: '1.00' }],
        ['GET', `/v1/customers/${session.end_customer_id}`],
        ['DELETE', `/v1/sessions/${session.session_token}`],
      ] as const) {
        const answer = await call(url, method, path, key, body)
        expect(answer.status, `${label}: ${method} ${path}`).toBe(404)
      }
      expect((await call(url, 'GET', '/v1/customers', key)).body.data.map((c: { id: string }) => c.id)).not.toContain(session.end_customer_id)
    }
    // The live key does not reach the test wallet either.
    expect((await call(url, 'GET', `/v1/wallets/${testSession.wallet_id}`, a.live)).status).toBe(404)
    // Account B's own key cannot see or change A's project.
    expect((await call(url, 'PATCH', `/v1/projects/${a.id}`, b.accountKey, { name: 'stolen' })).status).toBe(404)
    expect((await call(url, 'POST', `/v1/projects/${a.id}/keys`, b.accountKey, { mode: 'live' })).status).toBe(404)
    expect((await call(url, 'GET', '/v1/projects', b.accountKey)).body.data.map((p: { id: string }) => p.id)).toEqual([b.id])
    // Nothing was changed through those attempts.
    expect((await call(url, 'GET', `/v1/wallets/${session.wallet_id}`, a.live)).body).toMatchObject({ status: 'active', balance_usd: '0.00' })
    expect(await statusOf(url, 'GET', '/v1/config', session.session_token)).toBe(200)
  })

  test('Idempotency-Keys of project writes belong to their account', async () => {
    const [one, two] = [await registerAccount(url), await registerAccount(url)]
    const headers = { 'idempotency-key': 'create-project' }
    const first = await call(url, 'POST', '/v1/projects', one, { name: 'Same' }, headers)
    const replay = await call(url, 'POST', '/v1/projects', one, { name: 'Same' }, headers)
    const other = await call(url, 'POST', '/v1/projects', two, { name: 'Same' }, headers)
    expect(first.status).toBe(201)
    expect(replay.body.id).toBe(first.body.id)
    expect(other.status).toBe(201)
    expect(other.body.id).not.toBe(first.body.id)
  })
})

describe('validation', () => {
  test('bad settings, modes, customers, scopes and ttls are 400s naming the field', async () => {
    const project = await projectWithKeys(url)
    const cases: [string, string, string, unknown, string][] = [
      ['POST', '/v1/projects', project.accountKey, { name: 'x', markup_percent: 12.345 }, 'markup_percent'],
      ['POST', '/v1/projects', project.accountKey, { name: 'x', markup_percent: 1000.01 }, 'markup_percent'],
      ['POST', '/v1/projects', project.accountKey, { name: 'x', markup_percent: -1 }, 'markup_percent'],
      ['POST', '/v1/projects', project.accountKey, { name: 'x', allowed_origins: ['https://app.example.com/path'] }, 'allowed_origins[0]'],
      ['POST', '/v1/projects', project.accountKey, { name: '' }, 'name'],
      ['PATCH', `/v1/projects/${project.id}`, project.accountKey, {}, ''],
      ['POST', `/v1/projects/${project.id}/keys`, project.accountKey, { mode: 'prod' }, 'mode'],
      ['POST', '/v1/sessions', project.live, { customer: '' }, 'customer'],
      ['POST', '/v1/sessions', project.live, { customer: 'u', ttl_seconds: 59 }, 'ttl_seconds'],
      ['POST', '/v1/sessions', project.live, { customer: 'u', ttl_seconds: 3601 }, 'ttl_seconds'],
      ['POST', '/v1/sessions', project.live, { customer: 'u', scope: { models: ['no/such-model'] } }, 'scope.models[0]'],
      ['POST', '/v1/sessions', project.live, { customer: 'u', scope: { max_spend: '0' } }, 'scope.max_spend'],
      ['POST', '/v1/sessions', project.live, { customer: 'u', scope: { max_spend: '-1' } }, 'scope.max_spend'],
      ['GET', '/v1/customers?limit=101', project.live, undefined, 'limit'],
    ]
    for (const [method, path, key, body, param] of cases) {
      const answer = await call(url, method, path, key, body)
      expect(answer.status, `${method} ${path} ${JSON.stringify(body)}: ${JSON.stringify(answer.body)}`).toBe(400)
      if (param) expect(answer.body.error.param, JSON.stringify(body)).toBe(param)
    }
    const session = await mintSession(url, project.live, { customer: 'v' })
    for (const amount of ['0', '0.00', '1000000.01']) {
      const answer = await call(url, 'POST', `/v1/wallets/${session.wallet_id}/credit`, project.live, { amount_usd: amount })
      expect(answer.status, amount).toBe(400)
      expect(answer.body.error.param).toBe('amount_usd')
    }
    // Each credential on its own routes only: an account key does not mint sessions, a secret key does not manage projects.
    expect((await call(url, 'POST', '/v1/sessions', project.accountKey, { customer: 'u' })).status).toBe(401)
    expect((await call(url, 'GET', '/v1/projects', project.live)).status).toBe(401)
    expect((await call(url, 'GET', '/v1/wallet/balance', project.live)).status).toBe(401)
  })
})
