// CORS on x402 routes (gateway.cors_origins): preflights answered for allowed pages, and PAYMENT-REQUIRED / PAYMENT-RESPONSE exposed on paid routes' and metered routes' answers; other origins get nothing.
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { x402Client } from '@x402/core/client'
import { ExactEvmScheme } from '@x402/evm'
import { wrapFetchWithPayment } from '@x402/fetch'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { TEST_KEY } from '../helpers/gateway'
import { corsPaymentSections, startX402Stack, type X402Stack } from '../helpers/x402-stack'

const PAGE = 'https://pay.example.com'
const OTHER = 'https://evil.example.com'

let stack: X402Stack
let { gateway } = {} as X402Stack

beforeAll(async () => {
  stack = await startX402Stack({ sections: corsPaymentSections(PAGE) })
  ;({ gateway } = stack)
})
afterAll(() => stack?.stop())

const body = JSON.stringify({ model: 'claude-sonnet-4-20250514', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }] })
const preflight = (path: string, origin: string) =>
  fetch(`${gateway.url}${path}`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type, payment-signature' } })
const exposed = (response: Response) => (response.headers.get('access-control-expose-headers') ?? '').split(/,\s*/)

for (const path of ['/v1/paid', '/v1/messages']) {
  test(`${path}: an allowed page's preflight is granted POST with PAYMENT-SIGNATURE; another origin's is 403 in our shape`, async () => {
    const granted = await preflight(path, PAGE)
    expect(granted.status).toBe(204)
    expect(granted.headers.get('access-control-allow-origin')).toBe(PAGE)
    expect(granted.headers.get('access-control-allow-methods')).toContain('POST')
    expect(granted.headers.get('access-control-allow-headers')).toContain('payment-signature')
    const refused = await preflight(path, OTHER)
    expect(refused.status).toBe(403)
    expect(refused.headers.get('access-control-allow-origin')).toBeNull()
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('origin_not_allowed')
  })

  test(`${path}: the 402 exposes PAYMENT-REQUIRED to the allowed page only`, async () => {
    const response = await fetch(`${gateway.url}${path}`, { method: 'POST', headers: { origin: PAGE, 'content-type': 'application/json' }, body })
    expect(response.status).toBe(402)
    expect(response.headers.get('payment-required')).not.toBeNull()
    expect(response.headers.get('access-control-allow-origin')).toBe(PAGE)
    expect(exposed(response)).toContain('payment-required')
    const other = await fetch(`${gateway.url}${path}`, { method: 'POST', headers: { origin: OTHER, 'content-type': 'application/json' }, body })
    expect(other.status).toBe(402)
    expect(other.headers.get('access-control-allow-origin')).toBeNull()
  })
}

test('a paid answer exposes PAYMENT-RESPONSE to the page', async () => {
  const account = privateKeyToAccount(generatePrivateKey())
  const paying = wrapFetchWithPayment(fetch, x402Client.fromConfig({ schemes: [{ network: 'eip155:*', client: new ExactEvmScheme(account) }] }))
  for (const path of ['/v1/paid', '/v1/messages']) {
    const response = await paying(`${gateway.url}${path}`, { method: 'POST', headers: { origin: PAGE, 'content-type': 'application/json' }, body })
    expect(response.status).toBe(200)
    expect(response.headers.get('payment-response')).not.toBeNull()
    expect(response.headers.get('access-control-allow-origin')).toBe(PAGE)
    expect(exposed(response)).toContain('payment-response')
    await response.text()
  }
})

test('a request with an API key on the built-in route gets no x402 grant', async () => {
  const response = await fetch(`${gateway.url}/llm/v1/messages`, { method: 'POST', headers: { origin: PAGE, 'content-type': 'application/json', 'x-api-key': TEST_KEY }, body: JSON.stringify({ model: 'mock/echo', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] }) })
  expect(response.status).toBe(200)
  expect(response.headers.get('access-control-allow-origin')).toBeNull()
})
