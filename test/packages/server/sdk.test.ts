// @meterway/server against a running gateway: every sessions, wallets, customers and webhook-endpoint method, typed errors, and constructEvent on a real delivery.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { rmSync } from 'node:fs'
import { Meterway, MeterwayError, WebhookVerificationError, constructEvent, type WebhookEvent } from '@meterway/server'
import { Webhook } from 'standardwebhooks'
import { startGateway, type TestGateway } from '../../helpers/gateway'
import { call, projectWithKeys, type TestProject } from '../../helpers/platform'
import { waitFor } from '../../helpers/poll'

interface Received {
  path: string
  headers: Record<string, string>
  body: string
}

let gateway: TestGateway
let receiver: ReturnType<typeof Bun.serve>
let project: TestProject
let mw: Meterway
const received: Received[] = []

beforeAll(async () => {
  receiver = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    async fetch(request) {
      const headers: Record<string, string> = {}
      request.headers.forEach((value, key) => (headers[key] = value))
      received.push({ path: new URL(request.url).pathname, headers, body: await request.text() })
      return new Response('ok')
    },
  })
  gateway = await startGateway({ WEBHOOK_ALLOW_HTTP_LOOPBACK: 'true', STRIPE_PUBLISHABLE_KEY: 'pk_live_sdk', STRIPE_TEST_PUBLISHABLE_KEY: 'pk_test_sdk' })
  project = await projectWithKeys(gateway.url, { markup_percent: 20 })
  mw = new Meterway({ secretKey: project.live, baseUrl: gateway.url })
}, 30_000)
/** Bundles built by the tests, removed at the end. */
const builds: string[] = []
afterAll(async () => {
  await gateway?.stop()
  receiver?.stop(true)
  for (const dir of builds) rmSync(dir, { recursive: true, force: true })
})

/** The MeterwayError a call throws (fails the test if it resolves or throws anything else). */
async function refused(work: Promise<unknown>): Promise<MeterwayError> {
  const error = await work.then(
    () => null,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(MeterwayError)
  return error as MeterwayError
}

const user = () => `user_${crypto.randomUUID()}`

describe('sessions', () => {
  test('create returns the seed names in camelCase; the token works for the browser until refreshed', async () => {
    const externalId = user()
    const session = await mw.sessions.create({ customer: { externalId, email: 'ada@example.com', name: 'Ada' }, scope: { models: ['openai/gpt-4o-mini'], maxSpend: 2 }, ttlSeconds: 600 })
    expect(Object.keys(session).sort()).toEqual(['endCustomerId', 'expiresAt', 'mode', 'publishableKey', 'sessionToken', 'walletId'])
    expect(session).toMatchObject({ mode: 'live', publishableKey: 'pk_live_sdk' })
    expect(session.sessionToken).toStartWith('es_')
    expect(session.walletId).toStartWith('wal_')
    expect(session.endCustomerId).toStartWith('ecus_')
    const lifetime = Date.parse(session.expiresAt) - Date.now()
    expect(lifetime).toBeGreaterThan(590_000)
    expect(lifetime).toBeLessThanOrEqual(600_000)
    // The scope went over the wire as snake_case: the session's config shows it.
    expect((await call(gateway.url, 'GET', '/v1/config', session.sessionToken)).body.models).toEqual(['openai/gpt-4o-mini'])
    // A string customer is the same end customer (and wallet) again.
    const again = await mw.sessions.create({ customer: externalId })
    expect(again.walletId).toBe(session.walletId)
    expect(again.endCustomerId).toBe(session.endCustomerId)
  })

  test('refresh swaps the token (the old one is refused), revoke ends it; both then answer typed errors', async () => {
    const session = await mw.sessions.create({ customer: user() })
    const refreshed = await mw.sessions.refresh(session.sessionToken)
    expect(refreshed.sessionToken).not.toBe(session.sessionToken)
    expect(refreshed.walletId).toBe(session.walletId)
    expect((await call(gateway.url, 'GET', '/v1/wallet/balance', session.sessionToken)).status).toBe(401)
    expect((await call(gateway.url, 'GET', '/v1/wallet/balance', refreshed.sessionToken)).status).toBe(200)
    const stale = await refused(mw.sessions.refresh(session.sessionToken))
    expect(stale.status).toBe(401)

    expect(await mw.sessions.revoke(refreshed.sessionToken)).toEqual({ revoked: true, endCustomerId: session.endCustomerId })
    expect((await call(gateway.url, 'GET', '/v1/wallet/balance', refreshed.sessionToken)).status).toBe(401)
    const twice = await refused(mw.sessions.revoke(refreshed.sessionToken))
    expect(twice).toMatchObject({ status: 404, code: 'session_not_found' })
  })

  test('a project with sessions off: 403 end_user_sessions_disabled with the body', async () => {
    const off = await projectWithKeys(gateway.url, { end_user_sessions: false })
    const error = await refused(new Meterway({ secretKey: off.live, baseUrl: gateway.url }).sessions.create({ customer: user() }))
    expect(error).toMatchObject({ status: 403, code: 'end_user_sessions_disabled', type: 'permission_error' })
    expect((error.body as { error: { code: string } }).error.code).toBe('end_user_sessions_disabled')
    expect(error.message).toContain('turned off')
  })
})

describe('wallets', () => {
  test('credit (the seed free-trial call) adds the amount once per idempotency key; retrieve shows it', async () => {
    const { walletId, endCustomerId } = await mw.sessions.create({ customer: user() })
    const granted = await mw.wallets.credit({ walletId, amount: 5, reason: 'Signup bonus', idempotencyKey: `bonus-${walletId}` })
    expect(granted).toMatchObject({ walletId, amount: '5.00', created: true, balance: '5.00' })
    const replay = await mw.wallets.credit({ walletId, amount: 5, reason: 'Signup bonus', idempotencyKey: `bonus-${walletId}` })
    expect(replay).toMatchObject({ ledgerId: granted.ledgerId, created: false, balance: '5.00' })
    await mw.wallets.credit({ walletId, amount: '0.25' })
    expect(await mw.wallets.retrieve(walletId)).toEqual({
      id: walletId,
      endCustomerId,
      mode: 'live',
      balance: '5.25',
      held: '0.00',
      available: '5.25',
      currency: 'USD',
      status: 'active',
    })
  })

  test('typed errors: another project wallet is a 404, a bad amount a 400 naming amount_usd, a reused key with another amount a 409', async () => {
    const { walletId } = await mw.sessions.create({ customer: user() })
    const other = await projectWithKeys(gateway.url)
    const stranger = new Meterway({ secretKey: other.live, baseUrl: gateway.url })
    expect(await refused(stranger.wallets.retrieve(walletId))).toMatchObject({ status: 404, code: 'wallet_not_found' })
    expect(await refused(mw.wallets.credit({ walletId, amount: -1 }))).toMatchObject({ status: 400, param: 'amount_usd' })
    await mw.wallets.credit({ walletId, amount: 1, idempotencyKey: 'k' })
    expect(await refused(mw.wallets.credit({ walletId, amount: 2, idempotencyKey: 'k' }))).toMatchObject({ status: 409 })
  })
})

describe('customers', () => {
  test('list pages with { customers, hasMore }; retrieve adds recentLedger', async () => {
    const own = await projectWithKeys(gateway.url)
    const client = new Meterway({ secretKey: own.live, baseUrl: gateway.url })
    const first = await client.sessions.create({ customer: { externalId: 'alice', email: 'alice@example.com' } })
    await client.sessions.create({ customer: 'bob' })
    await client.wallets.credit({ walletId: first.walletId, amount: 3, reason: 'trial' })
    const all = await client.customers.list()
    expect(all.hasMore).toBe(false)
    expect(all.customers.map((c) => c.externalId).sort()).toEqual(['alice', 'bob'])
    const page = await client.customers.list({ limit: 1 })
    expect(page.customers).toHaveLength(1)
    expect(page.hasMore).toBe(true)
    const next = await client.customers.list({ limit: 1, startingAfter: page.customers[0]!.id })
    expect(next.customers).toHaveLength(1)
    expect(next.customers[0]!.id).not.toBe(page.customers[0]!.id)
    const alice = all.customers.find((c) => c.externalId === 'alice')!
    expect(alice).toMatchObject({ id: first.endCustomerId, email: 'alice@example.com', mode: 'live', lifetimeToppedUp: '3.00', lifetimeSpend: '0.00', wallet: { id: first.walletId, status: 'active', balance: '3.00' } })
    const detail = await client.customers.retrieve(first.endCustomerId)
    expect(detail.recentLedger).toHaveLength(1)
    expect(detail.recentLedger[0]).toMatchObject({ kind: 'credit', amount: '3.00', reason: 'trial' })
    expect(await refused(client.customers.retrieve('ecus_nope'))).toMatchObject({ status: 404, code: 'customer_not_found' })
  })
})

describe('webhook endpoints and constructEvent', () => {
  test('create, list, del; a real wallet.credited delivery verifies, a tampered one does not', async () => {
    const own = await projectWithKeys(gateway.url)
    const client = new Meterway({ secretKey: own.live, baseUrl: gateway.url })
    const hookPath = `/hooks/${own.id}`
    const endpoint = await client.webhookEndpoints.create({ url: `http://127.0.0.1:${receiver.port}${hookPath}`, enabledEvents: ['wallet.credited'] })
    expect(endpoint.secret).toStartWith('whsec_')
    expect(endpoint).toMatchObject({ enabledEvents: ['wallet.credited'], status: 'enabled', disabledReason: null })
    expect((await client.webhookEndpoints.list()).webhookEndpoints.map((e) => e.id)).toEqual([endpoint.id])

    const { walletId } = await client.sessions.create({ customer: user() })
    const credit = await client.wallets.credit({ walletId, amount: 2.5, reason: 'welcome' })
    const delivery = await waitFor(() => received.find((r) => r.path === hookPath), 10_000, 'the wallet.credited delivery')
    const event: WebhookEvent<{ wallet_id: string; amount_usd: string; ledger_id: string }> = client.webhooks.constructEvent(delivery.body, delivery.headers, endpoint.secret)
    expect(event.type).toBe('wallet.credited')
    expect(event.data).toMatchObject({ wallet_id: walletId, amount_usd: '2.50', ledger_id: credit.ledgerId })
    // The same check works on a fetch Headers object, and agrees with the standardwebhooks library.
    expect(constructEvent(delivery.body, new Headers(delivery.headers), endpoint.secret).id).toBe(event.id)
    expect(new Webhook(endpoint.secret).verify(delivery.body, delivery.headers)).toMatchObject({ id: event.id })

    const tamperedBody = delivery.body.replace('"2.50"', '"250.00"')
    expect(tamperedBody).not.toBe(delivery.body)
    expect(() => client.webhooks.constructEvent(tamperedBody, delivery.headers, endpoint.secret)).toThrow(WebhookVerificationError)
    const signature = delivery.headers['webhook-signature']!
    // One character in the middle of the base64 (the last ones may only carry padding bits).
    const flipped = signature.slice(0, 10) + (signature[10] === 'A' ? 'B' : 'A') + signature.slice(11)
    expect(() => client.webhooks.constructEvent(delivery.body, { ...delivery.headers, 'webhook-signature': flipped }, endpoint.secret)).toThrow('No matching signature')
    expect(() => client.webhooks.constructEvent(delivery.body, delivery.headers, 'whsec_' + btoa('another secret'))).toThrow(WebhookVerificationError)
    expect(() => client.webhooks.constructEvent(delivery.body, { ...delivery.headers, 'webhook-id': 'msg_other' }, endpoint.secret)).toThrow(WebhookVerificationError)
    const later = Number(delivery.headers['webhook-timestamp']) + 301
    expect(() => client.webhooks.constructEvent(delivery.body, delivery.headers, endpoint.secret, { nowSeconds: later })).toThrow('tolerance')
    const { 'webhook-signature': _dropped, ...unsigned } = delivery.headers
    expect(() => client.webhooks.constructEvent(delivery.body, unsigned, endpoint.secret)).toThrow('Missing')

    expect(await client.webhookEndpoints.del(endpoint.id)).toEqual({ id: endpoint.id, deleted: true })
    expect((await client.webhookEndpoints.list()).webhookEndpoints).toEqual([])
    expect(await refused(client.webhookEndpoints.del(endpoint.id))).toMatchObject({ status: 404 })
    expect(await refused(client.webhookEndpoints.create({ url: 'ftp://example.com', enabledEvents: ['wallet.credited'] }))).toMatchObject({ status: 400 })
  })
})

describe('the client itself', () => {
  test('a wrong key is a 401 invalid_api_key; an unreachable gateway is status 0 connection_error; a missing key throws at once', async () => {
    const wrong = new Meterway({ secretKey: 'sk_live_not_a_real_key_0123456789abcdef', baseUrl: gateway.url })
    expect(await refused(wrong.customers.list())).toMatchObject({ status: 401, code: 'invalid_api_key' })
    const closed = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => new Response('') })
    const port = closed.port
    closed.stop(true)
    const unreachable = new Meterway({ secretKey: project.live, baseUrl: `http://127.0.0.1:${port}` })
    expect(await refused(unreachable.customers.list())).toMatchObject({ status: 0, code: 'connection_error' })
    expect(() => new Meterway({ secretKey: '' })).toThrow(MeterwayError)
    expect(await refused(mw.wallets.retrieve(''))).toMatchObject({ code: 'invalid_argument', param: 'walletId' })
  })

  test('the fetch option carries every call, with the bearer key; a base URL with a path prefix is kept', async () => {
    const seen: { url: string; authorization: string | null }[] = []
    const client = new Meterway({
      secretKey: project.live,
      baseUrl: `${gateway.url}/`,
      fetch: (input, init) => {
        seen.push({ url: input, authorization: new Headers(init.headers).get('authorization') })
        return fetch(input, init)
      },
    })
    await client.customers.list({ limit: 2 })
    expect(seen).toEqual([{ url: `${gateway.url}/v1/customers?limit=2`, authorization: `Bearer ${project.live}` }])
    const prefixed = new Meterway({ secretKey: 'sk', baseUrl: 'http://gw.example/meterway', fetch: async (input) => Response.json({ data: [], has_more: false }, { headers: { 'x-url': input } }) })
    expect(await prefixed.customers.list()).toEqual({ customers: [], hasMore: false })
  })

  test('bun build bundles the package; the bundle runs against the gateway', async () => {
    const outdir = `${import.meta.dir}/../../../test-results/server-sdk-build-${process.pid}`
    builds.push(outdir)
    const built = Bun.spawnSync(['bun', 'run', 'build', '--outdir', outdir], { cwd: `${import.meta.dir}/../../../packages/server`, stderr: 'pipe', stdout: 'pipe' })
    expect(built.exitCode, built.stderr.toString()).toBe(0)
    const bundle = (await import(`${outdir}/index.js`)) as typeof import('@meterway/server')
    const client = new bundle.Meterway({ secretKey: project.live, baseUrl: gateway.url })
    const session = await client.sessions.create({ customer: user() })
    expect(session.sessionToken).toStartWith('es_')
    expect(bundle.Meterway.name).toBe('Meterway')
  })

  test.skipIf(!Bun.which('node'))('the bundle runs under Node: a session minted and a signed payload verified', async () => {
    const outdir = `${import.meta.dir}/../../../test-results/server-sdk-node-${process.pid}`
    builds.push(outdir)
    expect(Bun.spawnSync(['bun', 'run', 'build', '--outdir', outdir], { cwd: `${import.meta.dir}/../../../packages/server` }).exitCode).toBe(0)
    const secret = 'whsec_' + btoa('node secret of 24 bytes!')
    const body = JSON.stringify({ id: 'evt_1', type: 'wallet.credited', created_at: new Date().toISOString(), data: {} })
    const timestamp = String(Math.floor(Date.now() / 1000))
    const signature = new Bun.CryptoHasher('sha256', Buffer.from(secret.slice(6), 'base64')).update(`evt_1.${timestamp}.${body}`).digest('base64')
    const script = `
      const { Meterway } = await import(${JSON.stringify(`${outdir}/index.js`)})
      const mw = new Meterway({ secretKey: process.env.SK, baseUrl: process.env.BASE })
      const session = await mw.sessions.create({ customer: 'node-user' })
      const event = mw.webhooks.constructEvent(process.env.BODY, { 'webhook-id': 'evt_1', 'webhook-timestamp': process.env.TS, 'webhook-signature': 'v1,' + process.env.SIG }, process.env.SECRET)
      console.log(JSON.stringify({ token: session.sessionToken, type: event.type }))`
    const run = Bun.spawn(['node', '--input-type=module', '-e', script], {
      env: { PATH: process.env.PATH ?? '', SK: project.live, BASE: gateway.url, BODY: body, TS: timestamp, SIG: signature, SECRET: secret },
      stdout: 'pipe',
      stderr: 'pipe',
    })
    const [out, err, code] = await Promise.all([new Response(run.stdout).text(), new Response(run.stderr).text(), run.exited])
    expect(code, err).toBe(0)
    const printed = JSON.parse(out) as { token: string; type: string }
    expect(printed.token).toStartWith('es_')
    expect(printed.type).toBe('wallet.credited')
  })
})
