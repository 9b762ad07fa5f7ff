// CORS on the session token's browser routes besides chat (balance, top-up, config, refresh): preflights, the grant on answers and on 401s, nothing for other origins.
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startGateway, type TestGateway } from '../helpers/gateway'
import { mintSession, projectWithKeys } from '../helpers/platform'

const PAGE = 'https://shop.example.com'
let gateway: TestGateway
let token = ''

beforeAll(async () => {
  gateway = await startGateway({})
  const project = await projectWithKeys(gateway.url, { allowed_origins: [PAGE] })
  token = (await mintSession(gateway.url, project.test, { customer: `user_${crypto.randomUUID()}` })).session_token
}, 60_000)
afterAll(() => gateway?.stop())

const preflight = (path: string, origin: string, method: string) =>
  fetch(`${gateway.url}${path}`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': 'authorization, content-type' } })

test('preflights of the four routes are granted to an allowed origin and refused to another', async () => {
  for (const [path, method] of [
    ['/v1/wallet/balance', 'GET'],
    ['/v1/wallet/top-up', 'POST'],
    ['/v1/config', 'GET'],
    ['/v1/sessions/refresh', 'POST'],
  ] as const) {
    const granted = await preflight(path, PAGE, method)
    expect(granted.status).toBe(204)
    expect(granted.headers.get('access-control-allow-origin')).toBe(PAGE)
    expect(granted.headers.get('access-control-allow-methods')).toContain(method)
    expect(granted.headers.get('access-control-allow-headers')).toBe('authorization, content-type')
    const refused = await preflight(path, 'https://evil.example.net', method)
    expect(refused.status).toBe(403)
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('origin_not_allowed')
    expect(refused.headers.get('access-control-allow-origin')).toBeNull()
  }
})

test('answers carry the grant for an allowed origin, 401s included, and none for another origin or another path', async () => {
  const balance = await fetch(`${gateway.url}/v1/wallet/balance`, { headers: { authorization: `Bearer ${token}`, origin: PAGE } })
  expect(balance.status).toBe(200)
  expect(balance.headers.get('access-control-allow-origin')).toBe(PAGE)
  const unknown = await fetch(`${gateway.url}/v1/config`, { headers: { authorization: 'Bearer es_test_unknown', origin: PAGE } })
  expect(unknown.status).toBe(401)
  expect(unknown.headers.get('access-control-allow-origin')).toBe(PAGE)
  const elsewhere = await fetch(`${gateway.url}/v1/wallet/balance`, { headers: { authorization: `Bearer ${token}`, origin: 'https://evil.example.net' } })
  expect(elsewhere.headers.get('access-control-allow-origin')).toBeNull()
  const otherPath = await fetch(`${gateway.url}/v1/models`, { headers: { origin: PAGE } })
  expect(otherPath.headers.get('access-control-allow-origin')).toBeNull()
})
