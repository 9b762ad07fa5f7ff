// Every public and admin route fed hostile input (NUL bytes, impossible months, bad numbers, deep or broken JSON,
// wrong types, oversized bodies and headers): a 4xx in our one error shape naming the field, never a 5xx.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import OpenAI from 'openai'
import { MAX_JSON_DEPTH } from '../../src/lib/json-depth'
import { uniqueId } from '../helpers/db'
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream'
import { ADMIN_TOKEN, startGateway, TEST_KEY, upstreamEnv, type TestGateway } from '../helpers/gateway'
import { mintSession, projectWithKeys, type TestProject } from '../helpers/platform'
import { chunkedBody, deepArrays, deepObjects, expectAnthropicError, expectError, expectError as expectOurError, jsonWithRaw, rawHttp, withValue, type Expected } from '../helpers/hostile'

/** MAX_BODY_BYTES of this gateway: 100,000-deep arrays (200 KB) fit under it and reach the depth check. */
const MAX_BODY = 256 * 1024
/** Registration, admin and webhook-endpoint bodies (their routes' own limit). */
const SMALL_BODY = 64 * 1024
const CHECKOUT_BODY = 4096
const TOP_UP_BODY = 4096
const CONNECT_ONBOARD_BODY = 16 * 1024

/** secret: a platform secret key (sk_live_…); session: an end-user session token; refresh: a session token used once. */
type Auth = 'none' | 'static' | 'agent' | 'admin' | 'secret' | 'session' | 'refresh'

interface Route {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'
  /** As Swagger documents it (wildcard routes, which Swagger leaves out, as Elysia declares them). */
  path: string
  /** A concrete path that reaches the handler. */
  url: () => string
  auth: Auth
  /** A valid JSON body; `signed` routes take text and check a signature before anything else. */
  body?: () => Record<string, unknown>
  signed?: true
  /** The most the route reads (413 beyond). */
  maxBody?: number
  /** Body fields that are text: a NUL must be refused naming them. */
  textFields?: string[]
  integerFields?: string[]
  /** What a NUL in a text field answers when it is not 400 (chat looks the model up: 404 model_not_found). */
  nulStatus?: number
  /** The route answers in the Anthropic Messages API's error shape. */
  anthropic?: true
  /** Path parameters, each with a builder of the URL around a value. */
  pathParams?: Record<string, (value: string) => string>
  query?: { period?: 'optional' | 'required'; limit?: true }
}

let upstream: FakeUpstream
let gateway: TestGateway
let agentKey = ''
let agentId = ''
let project: TestProject
let sessionToken = ''
/** Refreshing replaces a token, so each refresh is sent with one of these, never the shared session token. */
const refreshTokens: string[] = []

const chatBody = () => ({ model: 'openai/gpt-4o', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] })
const chatRoute = (prefix: string): Route => ({
  method: 'POST', path: `${prefix}/chat/completions`, url: () => `${prefix}/chat/completions`, auth: 'static', body: chatBody, maxBody: MAX_BODY,
  textFields: ['model'], integerFields: ['max_tokens', 'max_completion_tokens', 'n'], nulStatus: 404,
})
// Gemini embeds text only, so every input that is not text is wrong for it (mock/embed would take [1, 2] as token ids).
const embeddingsRoute = (prefix: string): Route => ({
  method: 'POST', path: `${prefix}/embeddings`, url: () => `${prefix}/embeddings`, auth: 'static', body: () => ({ model: 'google/gemini-embedding-001', input: ['hi'] }),
  maxBody: MAX_BODY, textFields: ['model'], integerFields: ['dimensions'], nulStatus: 404,
})
const imagesRoute = (prefix: string): Route => ({
  method: 'POST', path: `${prefix}/images/generations`, url: () => `${prefix}/images/generations`, auth: 'static', body: () => ({ model: 'mock/image', prompt: 'a cat' }),
  maxBody: MAX_BODY, textFields: ['model'], integerFields: ['n'], nulStatus: 404,
})
const messagesBody = () => ({ model: 'anthropic/claude-sonnet-4', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] })
const messagesRoute = (prefix: string): Route => ({
  method: 'POST', path: `${prefix}/messages`, url: () => `${prefix}/messages`, auth: 'static', body: messagesBody, maxBody: MAX_BODY,
  textFields: ['model'], integerFields: ['max_tokens'], nulStatus: 404, anthropic: true,
})
const countTokensRoute = (prefix: string): Route => ({
  method: 'POST', path: `${prefix}/messages/count_tokens`, url: () => `${prefix}/messages/count_tokens`, auth: 'static',
  body: () => ({ model: 'anthropic/claude-sonnet-4', messages: [{ role: 'user', content: 'hi' }] }), maxBody: MAX_BODY,
  textFields: ['model'], nulStatus: 404, anthropic: true,
})
const agentRoute = (method: Route['method'], suffix: string, body?: () => Record<string, unknown>, extra: Partial<Route> = {}): Route => ({
  method, path: `/admin/agents/{agent_id}${suffix}`, url: () => `/admin/agents/${agentId}${suffix}`, auth: 'admin',
  ...(body ? { body, maxBody: SMALL_BODY } : {}),
  pathParams: { agent_id: (value) => `/admin/agents/${encodeURIComponent(value)}${suffix}` },
  ...extra,
})
const endpointRoute = (method: Route['method'], suffix: string, extra: Partial<Route> = {}): Route => ({
  method, path: `/v1/webhook_endpoints/{id}${suffix}`, url: () => `/v1/webhook_endpoints/we_missing${suffix}`, auth: 'agent',
  pathParams: { id: (value) => `/v1/webhook_endpoints/${encodeURIComponent(value)}${suffix}` },
  ...extra,
})
const get = (path: string, auth: Auth = 'none', extra: Partial<Route> = {}): Route => ({ method: 'GET', path, url: () => path, auth, ...extra })
const projectRoute = (method: Route['method'], suffix: string, extra: Partial<Route> = {}): Route => ({
  method, path: `/v1/projects/{id}${suffix}`, url: () => `/v1/projects/${project.id}${suffix}`, auth: 'agent',
  pathParams: { id: (value) => `/v1/projects/${encodeURIComponent(value)}${suffix}` },
  ...extra,
})
const walletRoute = (method: Route['method'], suffix: string, extra: Partial<Route> = {}): Route => ({
  method, path: `/v1/wallets/{id}${suffix}`, url: () => `/v1/wallets/wal_missing${suffix}`, auth: 'secret',
  pathParams: { id: (value) => `/v1/wallets/${encodeURIComponent(value)}${suffix}` },
  ...extra,
})

const routes: Route[] = [
  get('/healthz'),
  get('/readyz'),
  get('/metrics'),
  get('/v1/models'),
  get('/llm/v1/models'),
  get('/llm/models'),
  { ...get('/v1/models/*'), url: () => '/v1/models/openai/gpt-4o' },
  { ...get('/llm/v1/models/*'), url: () => '/llm/v1/models/openai/gpt-4o' },
  chatRoute('/v1'),
  chatRoute('/llm/v1'),
  embeddingsRoute('/v1'),
  embeddingsRoute('/llm/v1'),
  imagesRoute('/v1'),
  imagesRoute('/llm/v1'),
  messagesRoute('/v1'),
  messagesRoute('/llm/v1'),
  countTokensRoute('/v1'),
  countTokensRoute('/llm/v1'),
  {
    method: 'POST', path: '/agents/register', url: () => '/agents/register', auth: 'none', maxBody: SMALL_BODY,
    body: () => ({ agent_id: uniqueId('hostile'), name: 'Hostile', description: 'probe', capabilities: ['x'] }),
    textFields: ['agent_id', 'name', 'description', 'capabilities[0]'],
  },
  get('/llm/usage', 'agent', { query: { period: 'optional' } }),
  agentRoute('POST', '/subscription', () => ({ status: 'active' }), { textFields: ['status'] }),
  agentRoute('PUT', '/spend-cap', () => ({ usd: '5.00' }), { textFields: ['usd'] }),
  agentRoute('PUT', '/limits', () => ({ rpm: 10, tpm: 1000 }), { integerFields: ['rpm', 'tpm'] }),
  agentRoute('PUT', '/low-balance-threshold', () => ({ usd: '1.00' }), { textFields: ['usd'] }),
  agentRoute('PUT', '/billing', () => ({ mode: 'prepaid' }), { textFields: ['mode'] }),
  agentRoute('POST', '/credit', () => ({ usd: '1.00', reason: 'probe' }), { textFields: ['usd', 'reason'] }),
  agentRoute('POST', '/keys'),
  {
    method: 'DELETE', path: '/admin/keys/{key_id}', url: () => '/admin/keys/key_missing', auth: 'admin',
    pathParams: { key_id: (value) => `/admin/keys/${encodeURIComponent(value)}` },
  },
  get('/admin/reconciliation', 'admin', { url: () => '/admin/reconciliation?period=2025-01', query: { period: 'required' } }),
  get('/admin/reconciliation/manual-adjustments', 'admin', { query: { period: 'optional', limit: true } }),
  // limit is checked beside a period in test/x402/payment-records.test.ts (this suite sends it alone).
  get('/admin/payments', 'admin', { url: () => '/admin/payments?period=2025-01', query: { period: 'required' } }),
  { method: 'POST', path: '/stripe/webhook', url: () => '/stripe/webhook', auth: 'none', signed: true, maxBody: MAX_BODY, body: () => ({ id: 'evt_1', object: 'event' }) },
  get('/subscriptions/checkout/success'),
  get('/subscriptions/checkout/cancel'),
  { method: 'POST', path: '/subscriptions/checkout', url: () => '/subscriptions/checkout', auth: 'agent', body: () => ({ plan: 'pro' }), maxBody: CHECKOUT_BODY, textFields: ['plan'] },
  get('/subscriptions', 'agent'),
  get('/llm/balance', 'agent'),
  {
    method: 'POST', path: '/v1/webhook_endpoints/', url: () => '/v1/webhook_endpoints', auth: 'agent', maxBody: SMALL_BODY,
    body: () => ({ url: 'http://127.0.0.1:9/hook', enabled_events: ['wallet.credited'] }), textFields: ['url', 'enabled_events[0]'],
  },
  get('/v1/webhook_endpoints/', 'agent', { url: () => '/v1/webhook_endpoints' }),
  endpointRoute('DELETE', ''),
  endpointRoute('POST', '/rotate_secret'),
  endpointRoute('GET', '/deliveries', { query: { limit: true } }),
  // Platform mode. Boolean fields are left out of the bodies: `true` is the wrong-type probe, and it is a right value there.
  {
    method: 'POST', path: '/v1/projects/', url: () => '/v1/projects', auth: 'agent', maxBody: SMALL_BODY,
    body: () => ({ name: 'Hostile', markup_percent: 10, allowed_origins: ['https://app.example.com'] }), textFields: ['name', 'allowed_origins[0]'],
  },
  get('/v1/projects/', 'agent', { url: () => '/v1/projects' }),
  projectRoute('PATCH', '', { body: () => ({ name: 'Renamed' }), maxBody: SMALL_BODY, textFields: ['name'] }),
  projectRoute('POST', '/keys', { body: () => ({ mode: 'test' }), maxBody: SMALL_BODY, textFields: ['mode'] }),
  projectRoute('GET', '/usage', { query: { period: 'optional' } }),
  projectRoute('GET', '/usage/daily', { query: { period: 'optional' } }),
  projectRoute('GET', '/keys'),
  projectRoute('GET', '/customers', { query: { limit: true } }),
  projectRoute('GET', '/ledger', { query: { limit: true } }),
  projectRoute('GET', '/webhook_endpoints'),
  {
    method: 'GET', path: '/v1/projects/{id}/webhook_endpoints/{endpoint_id}/deliveries', url: () => `/v1/projects/${project.id}/webhook_endpoints/we_missing/deliveries`,
    auth: 'agent', query: { limit: true },
    pathParams: {
      id: (value) => `/v1/projects/${encodeURIComponent(value)}/webhook_endpoints/we_missing/deliveries`,
      endpoint_id: (value) => `/v1/projects/${project.id}/webhook_endpoints/${encodeURIComponent(value)}/deliveries`,
    },
  },
  {
    method: 'DELETE', path: '/v1/projects/{id}/keys/{key_id}', url: () => `/v1/projects/${project.id}/keys/pkey_missing`, auth: 'agent',
    pathParams: {
      id: (value) => `/v1/projects/${encodeURIComponent(value)}/keys/pkey_missing`,
      key_id: (value) => `/v1/projects/${project.id}/keys/${encodeURIComponent(value)}`,
    },
  },
  {
    method: 'POST', path: '/v1/sessions/', url: () => '/v1/sessions', auth: 'secret', maxBody: SMALL_BODY,
    body: () => ({ customer: 'hostile_user', scope: { max_spend: '1.00' }, ttl_seconds: 900 }), textFields: ['customer'], integerFields: ['ttl_seconds'],
  },
  {
    method: 'DELETE', path: '/v1/sessions/{session_token}', url: () => '/v1/sessions/es_missing', auth: 'secret',
    pathParams: { session_token: (value) => `/v1/sessions/${encodeURIComponent(value)}` },
  },
  { method: 'POST', path: '/v1/sessions/refresh', url: () => '/v1/sessions/refresh', auth: 'refresh' },
  get('/v1/config', 'session'),
  get('/v1/wallet/balance', 'session'),
  { method: 'POST', path: '/v1/wallet/top-up', url: () => '/v1/wallet/top-up', auth: 'session', body: () => ({ amount_usd: '10.00' }), maxBody: TOP_UP_BODY, textFields: ['amount_usd'] },
  walletRoute('GET', ''),
  walletRoute('PATCH', '', { body: () => ({ status: 'active' }), maxBody: SMALL_BODY, textFields: ['status'] }),
  walletRoute('POST', '/credit', { body: () => ({ amount_usd: '1.00', reason: 'probe' }), maxBody: SMALL_BODY, textFields: ['amount_usd', 'reason'] }),
  get('/v1/customers/', 'secret', { url: () => '/v1/customers', query: { limit: true } }),
  {
    ...get('/v1/customers/{id}', 'secret'), url: () => '/v1/customers/ecus_missing',
    pathParams: { id: (value) => `/v1/customers/${encodeURIComponent(value)}` },
  },
  {
    method: 'POST', path: '/v1/connect/onboard', url: () => '/v1/connect/onboard', auth: 'secret', maxBody: CONNECT_ONBOARD_BODY,
    body: () => ({ refresh_url: 'https://app.example.com/r', return_url: 'https://app.example.com/d' }), textFields: ['refresh_url', 'return_url'],
  },
  get('/v1/connect/status', 'secret'),
  { method: 'POST', path: '/v1/connect/payouts', url: () => '/v1/connect/payouts', auth: 'agent' },
  get('/v1/connect/payouts', 'agent', { query: { limit: true } }),
]

beforeAll(async () => {
  upstream = startFakeUpstream()
  gateway = await startGateway({
    ...upstreamEnv(upstream.url),
    MAX_BODY_BYTES: String(MAX_BODY),
    STRIPE_WEBHOOK_SECRET: 'whsec_hostile_input_tests',
    WEBHOOK_ALLOW_HTTP_LOOPBACK: 'true',
    // This file presents many wrong keys on purpose; the limit itself is tested in test/modules/failed-attempts.test.ts.
    AUTH_FAILURE_LIMIT: '0',
  })
  agentId = uniqueId('hostile')
  const registered = await fetch(`${gateway.url}/agents/register`, { method: 'POST', body: JSON.stringify({ agent_id: agentId, name: 'Hostile' }) })
  agentKey = ((await registered.json()) as { api_key: string }).api_key
  project = await projectWithKeys(gateway.url, {}, agentKey)
  sessionToken = (await mintSession(gateway.url, project.live, { customer: 'hostile_user' })).session_token
  for (let i = 0; i < 20; i++) refreshTokens.push((await mintSession(gateway.url, project.live, { customer: 'hostile_user' })).session_token)
})
afterAll(async () => {
  await gateway.stop()
  upstream.stop()
})

const CREDENTIALS: Record<Exclude<Auth, 'none' | 'refresh'>, () => string> = {
  static: () => TEST_KEY,
  agent: () => agentKey,
  admin: () => ADMIN_TOKEN,
  secret: () => project.live,
  session: () => sessionToken,
}

function credentials(auth: Auth): Record<string, string> {
  if (auth === 'none') return {}
  const credential = auth === 'refresh' ? refreshTokens.shift() : CREDENTIALS[auth]()
  if (credential === undefined) throw new Error('out of session tokens to refresh with: mint more in beforeAll')
  return { authorization: `Bearer ${credential}` }
}

function send(route: Route, options: { url?: string; body?: string | ReadableStream<Uint8Array>; headers?: Record<string, string> } = {}): Promise<Response> {
  return fetch(`${gateway.url}${options.url ?? route.url()}`, {
    method: route.method,
    headers: { 'content-type': 'application/json', ...credentials(route.auth), ...options.headers },
    ...(options.body !== undefined ? { body: options.body } : {}),
  })
}

/** What a body the route cannot use answers: a signed route refuses every unsigned body before reading it as JSON. */
const refusal = (route: Route, expected: Expected): Expected => (route.signed ? { status: 400, code: 'invalid_signature' } : expected)

/** Deep JSON: 400 naming the first too-deep value when the body fits the route's limit, else 413. */
function deepExpectation(route: Route, bytes: number, paramPrefix: string): Expected {
  if (bytes > route.maxBody!) return { status: 413, code: 'request_too_large' }
  return refusal(route, { status: 400, code: 'nesting_too_deep', param: `${paramPrefix}…` })
}

test('the list covers every route the gateway documents', async () => {
  const documented = (await (await fetch(`${gateway.url}/swagger/json`)).json()) as { paths: Record<string, Record<string, unknown>> }
  const listed = new Set(routes.map((r) => `${r.method} ${r.path}`))
  const missing = Object.entries(documented.paths)
    .flatMap(([path, operations]) => Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`))
    .filter((route) => !listed.has(route))
  expect(missing).toEqual([])
})

describe.each(routes.map((route) => [`${route.method} ${route.path}`, route] as const))('%s', (_name, route) => {
  // Each route's refusals in its own shape: ours, or Anthropic's on the Messages API.
  const expectError = (response: Response, expected: Expected, label?: string) =>
    route.anthropic ? expectAnthropicError(response, expected, label) : expectOurError(response, expected, label)
  test('junk in the query string is not a 5xx; headers over 16 KiB get Bun’s own 431', async () => {
    const junk = await send(route, { url: `${route.url()}${route.url().includes('?') ? '&' : '?'}x=%00&y=${'%FF'.repeat(500)}&z[a]=1` })
    expect(junk.status).toBeLessThan(500)
    if (junk.status >= 400) await expectError(junk, { status: '4xx' }, 'junk query')
    else await junk.arrayBuffer()
    // Bun answers before any of our code runs, without a body (see src/app.ts): the one 4xx not in our shape.
    const huge = await send(route, { headers: { 'x-padding': 'a'.repeat(20_000) } })
    expect(huge.status).toBe(431)
  })

  if (route.method !== 'GET') {
    test('a body over MAX_BODY_BYTES is a 413 in our shape, by Content-Length or sent chunked', async () => {
      await expectError(await send(route, { body: ' '.repeat(MAX_BODY + 1) }), { status: 413, code: 'request_too_large' }, 'content-length')
      if (route.maxBody) {
        const response = await send(route, { body: chunkedBody(route.maxBody + 1) })
        await expectError(response, { status: 413, code: 'request_too_large' }, 'chunked')
      }
    })
  }

  if (route.auth !== 'none') {
    test('missing, malformed and unknown credentials are a 401 in our shape', async () => {
      const keys = [null, 'x', `mw_live_${'A'.repeat(31)}`, `mw_live_${'A'.repeat(32)}`, 'k'.repeat(8_000), 'clé-ünïcødé', 'a b c']
      for (const key of keys) {
        const response = await fetch(`${gateway.url}${route.url()}`, { method: route.method, headers: key === null ? {} : { authorization: `Bearer ${key}` } })
        await expectError(response, { status: 401, code: 'invalid_api_key' }, `key ${String(key).slice(0, 20)}`)
      }
    })
  }

  if (route.body) {
    const body = route.body
    test('broken JSON, wrong types and wrong field types are a 400', async () => {
      for (const text of ['{"model":', '', '[]', '"text"', '42', 'null', 'true', '{"a":1}{"b":2}', '\u0000']) {
        await expectError(await send(route, { body: text }), refusal(route, { status: 400 }), `body ${JSON.stringify(text)}`)
      }
      for (const field of Object.keys(body())) {
        for (const wrong of [{ nested: true }, [1, 2], true]) {
          const response = await send(route, { body: JSON.stringify(withValue(body(), field, wrong)) })
          await expectError(response, refusal(route, { status: 400, param: `${field}…` }), `${field}=${JSON.stringify(wrong)}`)
        }
      }
    })

    test('JSON nested 10,000 and 100,000 deep, in a known or an unknown field, is refused naming where', async () => {
      const fields = ['zz_unknown', route.textFields?.[0] ?? Object.keys(body())[0]!]
      for (const levels of [MAX_JSON_DEPTH + 1, 10_000, 100_000]) {
        for (const raw of [deepArrays(levels), deepObjects(levels)]) {
          for (const field of fields) {
            const text = jsonWithRaw(body(), field, raw)
            const response = await send(route, { body: text })
            await expectError(response, deepExpectation(route, Buffer.byteLength(text), field), `${field} ${levels} deep`)
          }
        }
      }
    })

    for (const field of route.textFields ?? []) {
      test(`a NUL byte in ${field} is refused naming it`, async () => {
        for (const value of ['\u0000', 'a\u0000b', `${'x'.repeat(10)}\u0000`]) {
          const response = await send(route, { body: JSON.stringify(withValue(body(), field, value)) })
          await expectError(response, { status: route.nulStatus ?? 400, param: field === 'model' ? 'model' : field }, `${field}=${JSON.stringify(value)}`)
        }
      })
    }

    for (const field of route.integerFields ?? []) {
      test(`${field}: non-integer, negative, zero, huge and non-numeric values are a 400 naming it`, async () => {
        for (const value of [2.5, -1, 0, 1e308, Number.MAX_SAFE_INTEGER + 2, 'twelve', '2.5']) {
          const response = await send(route, { body: JSON.stringify(withValue(body(), field, value)) })
          await expectError(response, { status: 400, param: field }, `${field}=${value}`)
        }
      })
    }
  }

  for (const [param, urlWith] of Object.entries(route.pathParams ?? {})) {
    test(`a NUL byte or 10,000 characters in the path parameter ${param} is a 4xx`, async () => {
      const body = route.body ? JSON.stringify(route.body()) : undefined
      await expectError(await send(route, { url: urlWith('a\u0000b'), body }), { status: 400, param }, 'NUL')
      await expectError(await send(route, { url: urlWith('a'.repeat(10_000)), body }), { status: '4xx' }, 'long')
    })
  }

  if (route.query?.period) {
    test('period: years outside 1970–9999, malformed months and NUL are a 400 naming it; 1970-01 and 9999-12 answer', async () => {
      const base = route.url().split('?')[0]
      for (const period of ['0000-01', '1969-12', '10000-01', '9999-13', '2025-00', '2025-1', '25-01', '2025-01-01', '2025/01', '%00', '2025-01%00', '-001-01']) {
        await expectError(await send(route, { url: `${base}?period=${period}` }), { status: 400, param: 'period' }, period)
      }
      if (route.query?.period === 'required') await expectError(await send(route, { url: base }), { status: 400, param: 'period' }, 'absent')
      for (const period of ['1970-01', '9999-12']) {
        const response = await send(route, { url: `${base}?period=${period}` })
        expect(response.status, `${period}: ${await response.clone().text()}`).toBe(200)
        await response.arrayBuffer()
      }
    })
  }

  if (route.query?.limit) {
    test('limit: non-integer, negative, zero, huge and NUL are a 400 naming it', async () => {
      for (const limit of ['2.5', '-1', '0', '1e3', '0x10', '99999999999999999999', '100000', 'NaN', 'Infinity', '', '%00', '%205']) {
        await expectError(await send(route, { url: `${route.url()}?limit=${limit}` }), { status: 400, param: 'limit' }, `limit=${limit}`)
      }
    })
  }
})

test('an unknown route answers 404 in our shape, whatever it is sent', async () => {
  const response = await fetch(`${gateway.url}/v1/%00/${'x'.repeat(5000)}?a=%00`, { method: 'POST', body: deepArrays(100_000) })
  await expectError(response, { status: 404, code: 'unknown_route' })
})

test('a NUL byte in a header line gets Bun’s own bodiless 400, before any of our code', async () => {
  const answer = await rawHttp(gateway.url, `GET /v1/models HTTP/1.1\r\nHost: x\r\nX-Bad: a\u0000b\r\n\r\n`)
  expect(answer).toStartWith('HTTP/1.1 400')
})

test('the openai SDK sending a body over MAX_BODY_BYTES gets 413 request_too_large, even far over it', async () => {
  const client = new OpenAI({ apiKey: TEST_KEY, baseURL: `${gateway.url}/v1`, maxRetries: 0 })
  for (const size of [MAX_BODY + 1, MAX_BODY * 40]) {
    const error = await client.chat.completions.create({ model: 'openai/gpt-4o', messages: [{ role: 'user', content: 'x'.repeat(size) }] }).then(
      () => null,
      (e: unknown) => e as InstanceType<typeof OpenAI.APIError>,
    )
    expect(error?.status).toBe(413)
    expect(error?.code).toBe('request_too_large')
  }
})
