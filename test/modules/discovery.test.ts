// GET /.well-known/x402 from the seed's two YAML files and a file with every kind of pricing: routes, prices, accepts, facilitator (never its headers).
import { afterAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Elysia } from 'elysia'
import { errorResponse } from '../../src/errors'
import { frameworkError } from '../../src/lib/framework-errors'
import { loadGatewayConfigFile } from '../../src/lib/gateway-config/load'
import type { GatewayFile } from '../../src/lib/gateway-config/types'
import { discoveryPlugin } from '../../src/modules/discovery'
import { BUILT_IN_TABLE_NOTE } from '../../src/modules/discovery/service'
import { usdcOn } from '../../src/x402/assets'
import { paymentTerms } from '../../src/x402/requirements'

const FIXTURES = join(import.meta.dir, '..', 'fixtures', 'config')
const env = { ANTHROPIC_API_KEY: 'sk-ant-test-key', FACILITATOR_TOKEN: 'facilitator-secret-token-123' }
const BASE_USDC = usdcOn('base')!

const dir = mkdtempSync(join(tmpdir(), 'mw-discovery-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** The terms as the paid routes resolve them: the file's wallets on the accepted networks, that network's USDC. */
const termsOf = (file: GatewayFile) => paymentTerms(file.accepts, file.wallets, 60)

function appFor(file: GatewayFile) {
  return new Elysia()
    .onError(({ code, error, request, path }) => errorResponse(frameworkError(code, error, request.method, path)))
    .use(discoveryPlugin({ file, terms: termsOf(file) }))
}

async function discover(file: GatewayFile) {
  const response = await appFor(file).handle(new Request('http://gateway.test:3000/.well-known/x402'))
  expect(response.status).toBe(200)
  return { response, body: (await response.json()) as any }
}

describe('the seed files', () => {
  test('flat per-request: the match rules with their globs and the fallback, as USD and atomic units', async () => {
    const file = loadGatewayConfigFile(join(FIXTURES, 'seed-flat-per-request.yaml'), env)
    const { body, response } = await discover(file)
    expect(response.headers.get('cache-control')).toBe('public, max-age=60')
    expect(body.x402Version).toBe(2)
    expect(body.accepts).toEqual([
      { network: 'eip155:8453', asset: BASE_USDC.address, asset_name: 'USDC', decimals: 6, extra: BASE_USDC.domain, payTo: '0xYourWalletAddress', maxTimeoutSeconds: 60 },
    ])
    expect(body.facilitator).toEqual({ url: 'https://x402.org/facilitator' })
    expect(body.routes).toEqual([
      {
        route: 'POST /v1/messages',
        method: 'POST',
        path: '/v1/messages',
        resource: 'http://gateway.test:3000/v1/messages',
        schemes: ['exact'],
        pricing: {
          type: 'match',
          rules: [
            { where: { 'body.model': 'claude-haiku-*' }, price: { usd: '0.005', amount: '5000' } },
            { where: { 'body.model': 'claude-sonnet-*' }, price: { usd: '0.015', amount: '15000' } },
            { where: { 'body.model': 'claude-opus-*' }, price: { usd: '0.075', amount: '75000' } },
          ],
          fallback: { usd: '0.015', amount: '15000' },
        },
      },
    ])
  })

  test('token-based: the models map, the fallback and a note of the built-in table', async () => {
    const file = loadGatewayConfigFile(join(FIXTURES, 'seed-token-based.yaml'), env)
    const { body } = await discover(file)
    expect(body.routes).toHaveLength(1)
    expect(body.routes[0].pricing).toEqual({
      type: 'token-based',
      model_field: 'body.model',
      models: {
        'claude-haiku-4-5-20251001': { usd: '0.001', amount: '1000' },
        'claude-sonnet-4-5-20250929': { usd: '0.005', amount: '5000' },
        'claude-opus-4-6': { usd: '0.02', amount: '20000' },
      },
      fallback: { usd: '0.005', amount: '5000' },
      built_in_table: BUILT_IN_TABLE_NOTE,
    })
  })
})

test('every kind of pricing, two networks, and the facilitator without its headers', async () => {
  const path = join(dir, 'all.yaml')
  writeFileSync(
    path,
    `gateway: { discovery: true }
wallets:
  base: "0x1111111111111111111111111111111111111111"
  base-sepolia: "0x2222222222222222222222222222222222222222"
accepts:
  - { asset: USDC, network: base }
  - { asset: USDC, network: base-sepolia }
facilitator:
  url: "https://facilitator.example.com"
  headers: { Authorization: "Bearer \${FACILITATOR_TOKEN}" }
upstreams:
  api: { url: "https://api.example.com" }
routes:
  "GET /weather/:city": { upstream: api, price: "$0.001" }
  "POST /search":
    upstream: api
    match:
      - where: { query.tier: "pro*", headers.x-region: "eu-?" }
        price: "$0.02"
    fallback: "$0.002"
  "POST /v1/chat/completions": { upstream: api, type: metered }
  "GET /default": { upstream: api }
defaults: { price: "$0.0001" }
`,
  )
  const file = loadGatewayConfigFile(path, env)
  const { body } = await discover(file)
  const text = JSON.stringify(body)
  expect(text).not.toContain('facilitator-secret-token')
  expect(text).not.toContain('Authorization')
  expect(body.facilitator).toEqual({ url: 'https://facilitator.example.com' })
  expect(body.accepts.map((a: { network: string; payTo: string }) => [a.network, a.payTo])).toEqual([
    ['eip155:8453', '0x1111111111111111111111111111111111111111'],
    ['eip155:84532', '0x2222222222222222222222222222222222222222'],
  ])
  const byRoute = Object.fromEntries(body.routes.map((r: { route: string }) => [r.route, r]))
  expect(Object.keys(byRoute)).toEqual(['GET /weather/:city', 'POST /search', 'POST /v1/chat/completions', 'GET /default'])
  expect(byRoute['GET /weather/:city'].pricing).toEqual({ type: 'static', price: { usd: '0.001', amount: '1000' } })
  expect(byRoute['POST /search'].pricing.rules).toEqual([{ where: { 'query.tier': 'pro*', 'headers.x-region': 'eu-?' }, price: { usd: '0.02', amount: '20000' } }])
  expect(byRoute['GET /default'].pricing).toEqual({ type: 'static', price: { usd: '0.0001', amount: '100' } })
  expect(byRoute['POST /v1/chat/completions']).toMatchObject({ schemes: ['upto', 'exact'], pricing: { type: 'metered', schemes: ['upto', 'exact'], prices: '/v1/models' } })
})

describe('in the gateway', () => {
  test('served when the file says discovery: true, 404 in our error shape when it says false', async () => {
    const { startGateway } = await import('../helpers/gateway')
    const flat = await Bun.file(join(FIXTURES, 'seed-flat-per-request.yaml')).text()
    const off = join(dir, 'off.yaml')
    writeFileSync(off, flat.replace('discovery: true', 'discovery: false'))
    const on = join(dir, 'on.yaml')
    writeFileSync(on, flat)
    for (const [path, status] of [[on, 200], [off, 404]] as const) {
      const gateway = await startGateway({ GATEWAY_CONFIG: path, ANTHROPIC_API_KEY: 'sk-ant-test-key' })
      try {
        const response = await fetch(`${gateway.url}/.well-known/x402`)
        expect(response.status).toBe(status)
        const body = (await response.json()) as { routes?: unknown[]; error?: { type: string } }
        if (status === 200) expect(body.routes).toHaveLength(1)
        else expect(body.error?.type).toBe('invalid_request_error')
      } finally {
        await gateway.stop()
      }
    }
  })
})
