// MeterwayClient against a running gateway: streaming, image() and embeddings(), session refresh before expiry and after a 401 session_expired, typed errors, and the bundle under Node.
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Sql } from '../../../src/lib/db'
import { testDb } from '../../helpers/db'
import { startGateway, type TestGateway } from '../../helpers/gateway'
import { call, mintSession, projectWithKeys, type TestProject } from '../../helpers/platform'
import { waitFor } from '../../helpers/poll'
import { MeterwayClient, MeterwayClientError, type SessionInput } from '../../../packages/client/src'

let gateway: TestGateway
let sql: Sql
let project: TestProject

beforeAll(async () => {
  // Sessions read from Postgres on every use, so a test can expire one in the database.
  gateway = await startGateway({ PRINCIPAL_CACHE_TTL_MS: '0' })
  sql = await testDb(2)
  project = await projectWithKeys(gateway.url, { allowed_origins: ['https://app.example.com'] })
}, 60_000)
afterAll(async () => {
  await sql?.end()
  await gateway?.stop()
}, 30_000)

/** A test-mode session of a new end user, as @meterway/server returns it. */
async function session(user = `user_${crypto.randomUUID()}`, ttlSeconds = 900, models = ['mock/echo']) {
  const minted = await mintSession(gateway.url, project.test, { customer: user, ttl_seconds: ttlSeconds, scope: { models } })
  return { user, sessionToken: minted.session_token, expiresAt: minted.expires_at, walletId: minted.wallet_id }
}

const collect = async (iterator: AsyncIterable<string>) => {
  const out: string[] = []
  for await (const delta of iterator) out.push(delta)
  return out
}

test('stream() yields the reply delta by delta; chat() answers the same text whole', async () => {
  const client = new MeterwayClient({ session: await session(), baseUrl: gateway.url })
  const prompt = 'the quick brown fox jumps over the lazy dog'
  const deltas = await collect(client.stream({ model: 'mock/echo', messages: [{ role: 'user', content: prompt }] }))
  expect(deltas.length).toBe(9)
  expect(deltas.join('')).toBe(prompt)
  const whole = await client.chat({ model: 'mock/echo', messages: [{ role: 'user', content: prompt }] })
  expect(whole.choices[0]!.message.content).toBe(prompt)
  const config = await client.getConfig()
  expect(config).toMatchObject({ mode: 'test', models: ['mock/echo'] })
  expect((await client.getBalance()).balance_usd).toBe('0.00')
  client.close()
})

test('image() and embeddings() are paid by the session: the free mock models in test mode, on the end user\'s wallet', async () => {
  const minted = await session(undefined, 900, ['mock/image', 'mock/embed', 'openai/dall-e-3'])
  const client = new MeterwayClient({ session: minted, baseUrl: gateway.url, autoRefresh: false })
  const image = await client.image({ model: 'mock/image', prompt: 'a lighthouse at dusk', response_format: 'b64_json' })
  expect(image.data).toHaveLength(1)
  expect(image.data[0]!.b64_json!.length).toBeGreaterThan(0)
  const embedded = await client.embeddings({ model: 'mock/embed', input: ['first text', 'second text'] })
  expect(embedded.data.map((d) => d.index)).toEqual([0, 1])
  expect((embedded.data[0]!.embedding as number[]).length).toBeGreaterThan(0)
  expect(embedded.usage.prompt_tokens).toBeGreaterThan(0)
  // Paid from the end user's wallet (free models: nothing moved), with the session on the usage row.
  const rows = async () => sql<{ model: string; cost_nano: string; platform_mode: string }[]>`
    SELECT model, cost_nano, platform_mode FROM usage_events WHERE account_id = ${`wallet:${minted.walletId}`} ORDER BY model`
  await waitFor(async () => (await rows()).length === 2, 10_000, 'the two usage rows')
  expect((await rows()).map((r) => ({ ...r }))).toEqual([
    { model: 'mock/embed', cost_nano: '0', platform_mode: 'test' },
    { model: 'mock/image', cost_nano: '0', platform_mode: 'test' },
  ])
  expect((await client.getBalance()).balance_usd).toBe('0.00')
  // Typed refusals: a paid model in test mode, a model outside the scope.
  const paid = await client.image({ model: 'openai/dall-e-3', prompt: 'a cat' }).catch((caught) => caught)
  expect(paid).toBeInstanceOf(MeterwayClientError)
  expect({ status: paid.status, code: paid.code }).toEqual({ status: 403, code: 'paid_model_in_test_mode' })
  const outOfScope = await client.embeddings({ model: 'openai/text-embedding-3-small', input: 'hi' }).catch((caught) => caught)
  expect({ status: outOfScope.status, code: outOfScope.code }).toEqual({ status: 403, code: 'model_not_allowed' })
  client.close()
})

test('image() and embeddings() refresh once on a 401 session_expired, then succeed', async () => {
  const first = await session(undefined, 900, ['mock/image', 'mock/embed'])
  let refreshes = 0
  const client = new MeterwayClient({ session: first, baseUrl: gateway.url, autoRefresh: false, refresh: async () => (refreshes++, session(first.user, 900, ['mock/image', 'mock/embed'])) })
  await sql`UPDATE end_user_sessions SET expires_at = now() - interval '1 second' WHERE wallet_id = ${first.walletId}`
  expect((await client.image({ model: 'mock/image', prompt: 'a cat' })).data).toHaveLength(1)
  expect(refreshes).toBe(1)
  expect((await client.embeddings({ model: 'mock/embed', input: 'hi' })).data).toHaveLength(1)
  expect(refreshes).toBe(1)
  client.close()
})

test('refreshes before expiry through the refresh callback, on its timer, and keeps working on the new token', async () => {
  const first = await session(undefined, 60)
  const refreshed: string[] = []
  const client = new MeterwayClient({
    session: first,
    baseUrl: gateway.url,
    // The session lives 60 s; refreshing 58 s before its end means about 2 s from now.
    refreshBeforeMs: 58_000,
    refresh: async () => {
      const next = await session(first.user, 60)
      refreshed.push(next.sessionToken)
      return next
    },
  })
  expect(client.session.token).toBe(first.sessionToken)
  await waitFor(() => refreshed.length >= 1, 10_000, 'the timer refresh')
  expect(Date.now()).toBeLessThan(Date.parse(first.expiresAt))
  expect(client.session.token).toBe(refreshed[0]!)
  expect(await collect(client.stream({ model: 'mock/echo', messages: [{ role: 'user', content: 'still here' }] }))).toEqual(['still', ' here'])
  client.close()
})

test('a client made with autoRefresh: false refreshes on its timer once started; close() stops it', async () => {
  const first = await session(undefined, 60)
  let refreshes = 0
  const client = new MeterwayClient({ session: first, baseUrl: gateway.url, refreshBeforeMs: 59_000, autoRefresh: false, refresh: async () => (refreshes++, session(first.user, 60)) })
  client.start()
  await waitFor(() => client.session.token !== first.sessionToken, 10_000, 'the started timer refresh')
  client.close()
  expect(refreshes).toBe(1)
})

test('without a refresh callback the gateway refreshes the token itself; the old token is refused from then on', async () => {
  const first = await session(undefined, 60)
  const seen: string[] = []
  const client = new MeterwayClient({ session: first, baseUrl: gateway.url, refreshBeforeMs: 59_500, autoRefresh: false, onSession: (next) => seen.push(next.token) })
  // No timer: the refresh happens before the first request past the threshold.
  await waitFor(() => Date.parse(first.expiresAt) - Date.now() <= 59_500, 2_000, 'the refresh threshold')
  await client.getBalance()
  expect(seen).toHaveLength(1)
  expect(seen[0]).not.toBe(first.sessionToken)
  expect((await call(gateway.url, 'GET', '/v1/wallet/balance', first.sessionToken)).status).toBe(401)
  expect((await call(gateway.url, 'GET', '/v1/wallet/balance', seen[0]!)).status).toBe(200)
})

test('a 401 session_expired is answered by one refresh and the call is made again', async () => {
  const first = await session()
  let refreshes = 0
  const client = new MeterwayClient({
    session: first,
    baseUrl: gateway.url,
    autoRefresh: false,
    refresh: async () => {
      refreshes++
      return session(first.user)
    },
  })
  await sql`UPDATE end_user_sessions SET expires_at = now() - interval '1 second' WHERE wallet_id = ${first.walletId}`
  expect((await call(gateway.url, 'GET', '/v1/wallet/balance', first.sessionToken)).body.error.code).toBe('session_expired')
  expect((await client.getBalance()).status).toBe('active')
  expect(refreshes).toBe(1)
})

test('a refresh that brings an expired session again ends in the typed 401, after exactly one retry', async () => {
  const first = await session()
  let refreshes = 0
  const stale: SessionInput = { sessionToken: first.sessionToken, expiresAt: first.expiresAt }
  const client = new MeterwayClient({ session: first, baseUrl: gateway.url, autoRefresh: false, refresh: async () => (refreshes++, stale) })
  await sql`UPDATE end_user_sessions SET expires_at = now() - interval '1 second' WHERE wallet_id = ${first.walletId}`
  const error = await client.getConfig().catch((caught) => caught)
  expect(error).toBeInstanceOf(MeterwayClientError)
  expect({ status: error.status, code: error.code }).toEqual({ status: 401, code: 'session_expired' })
  expect(refreshes).toBe(1)
})

test('refusals are MeterwayClientError with the status and code', async () => {
  const client = new MeterwayClient({ session: await session(), baseUrl: gateway.url, autoRefresh: false })
  const outOfScope = await collect(client.stream({ model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] })).catch((caught) => caught)
  expect(outOfScope).toBeInstanceOf(MeterwayClientError)
  expect({ status: outOfScope.status, code: outOfScope.code }).toEqual({ status: 403, code: 'model_not_allowed' })
  // This gateway has no Stripe key for test mode.
  const topUp = await client.createTopUp(10).catch((caught) => caught)
  expect({ status: topUp.status, code: topUp.code }).toEqual({ status: 503, code: 'top_ups_not_configured' })
  const unreachable = new MeterwayClient({ session: await session(), baseUrl: 'http://127.0.0.1:1', autoRefresh: false })
  const network = await unreachable.getBalance().catch((caught) => caught)
  expect({ status: network.status, code: network.code }).toEqual({ status: 0, code: 'network_error' })
})

test('the browser bundle runs under Node: a stream from the gateway', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'meterway-client-'))
  try {
    const built = await Bun.build({ entrypoints: [join(import.meta.dir, '..', '..', '..', 'packages', 'client', 'src', 'index.ts')], outdir: dir, target: 'browser', format: 'esm' })
    expect(built.success).toBe(true)
    const { sessionToken, expiresAt } = await session()
    const script = `
      const { MeterwayClient } = await import(${JSON.stringify(join(dir, 'index.js'))})
      const client = new MeterwayClient({ session: { token: ${JSON.stringify(sessionToken)}, expiresAt: ${JSON.stringify(expiresAt)} }, baseUrl: ${JSON.stringify(gateway.url)} })
      const out = []
      for await (const delta of client.stream({ model: 'mock/echo', messages: [{ role: 'user', content: 'from node too' }] })) out.push(delta)
      console.log(JSON.stringify(out))`
    const node = Bun.spawn(['node', '--input-type=module', '-e', script], { stdout: 'pipe', stderr: 'pipe' })
    const [out, err, code] = await Promise.all([new Response(node.stdout).text(), new Response(node.stderr).text(), node.exited])
    expect(err).toBe('')
    expect(code).toBe(0)
    expect(JSON.parse(out)).toEqual(['from', ' node', ' too'])
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}, 30_000)
