// The gateway config file: the seed's examples load as written, prices are exact, and every kind of mistake names the file and key.
import { afterAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ConfigError, loadConfig } from '../../src/config'
import { parsePrice } from '../../src/lib/gateway-config/price'

const FIXTURES = join(import.meta.dir, '..', 'fixtures', 'config')
const FLAT = join(FIXTURES, 'seed-flat-per-request.yaml')
const TOKEN_BASED = join(FIXTURES, 'seed-token-based.yaml')
const ENV = { ANTHROPIC_API_KEY: 'sk-ant-test' }
const dir = mkdtempSync(join(tmpdir(), 'meterway-config-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

let written = 0
function file(text: string): string {
  const path = join(dir, `case-${++written}.yaml`)
  writeFileSync(path, text)
  return path
}

/** The ConfigError message loading `path` gives (the test fails if it loads). */
function errorOf(path: string, env: Record<string, string> = ENV): string {
  try {
    loadConfig(env, { configFile: path })
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError)
    const message = (error as Error).message
    expect(message).not.toContain('\n')
    return message
  }
  throw new Error(`${path} loaded`)
}

const ROUTE_HEAD = `
accepts: [{ asset: USDC, network: base }]
wallets: { base: "0x1111111111111111111111111111111111111111" }
upstreams:
  anthropic: { url: "http://127.0.0.1:9/", headers: { x-api-key: "\${ANTHROPIC_API_KEY}" }, timeout: 2.5 }
routes:
  "POST /v1/messages":
    upstream: anthropic
`

describe('the seed examples', () => {
  test('flat per-request pricing (match rules) loads unmodified, with exact prices and the key interpolated', () => {
    const config = loadConfig(ENV, { configFile: FLAT })
    const file = config.gatewayFile!
    expect(file.path).toBe(FLAT)
    expect(file.gateway).toEqual({ port: 3000, discovery: true, x402Chat: false, x402ChatMarkupBps: 0, corsOrigins: [] })
    expect(file.wallets).toEqual([{ network: 'base', caip2: 'eip155:8453', address: '0xYourWalletAddress' }])
    expect(file.accepts).toEqual([{ asset: 'USDC', network: 'base', caip2: 'eip155:8453' }])
    expect(file.upstreams.anthropic).toEqual({
      name: 'anthropic',
      url: 'https://api.anthropic.com',
      headers: { 'x-api-key': 'sk-ant-test', 'anthropic-version': '2023-06-01' },
      timeoutMs: 120_000,
    })
    const [route] = file.routes
    expect(route).toMatchObject({ key: 'POST /v1/messages', method: 'POST', path: '/v1/messages', upstream: 'anthropic', upstreamPath: '/v1/messages' })
    expect(route!.pricing.kind).toBe('match')
    if (route!.pricing.kind !== 'match') return
    expect(route!.pricing.rules.map((r) => [r.where, r.price.atomic])).toEqual([
      [[{ source: 'body', field: 'model', glob: 'claude-haiku-*' }], 5000n],
      [[{ source: 'body', field: 'model', glob: 'claude-sonnet-*' }], 15_000n],
      [[{ source: 'body', field: 'model', glob: 'claude-opus-*' }], 75_000n],
    ])
    expect(route!.pricing.fallback).toEqual({ usd: '0.015', atomic: 15_000n, nano: 15_000_000n })
    // A placeholder address loads (the seed uses one) but is called out.
    expect(file.warnings.join('\n')).toContain('wallets.base')
  })

  test('token-based pricing loads unmodified with its models map and fallback', () => {
    const file = loadConfig(ENV, { configFile: TOKEN_BASED }).gatewayFile!
    const pricing = file.routes[0]!.pricing
    expect(pricing.kind).toBe('token-based')
    if (pricing.kind !== 'token-based') return
    expect(Object.fromEntries(Object.entries(pricing.models).map(([model, price]) => [model, price.atomic]))).toEqual({
      'claude-haiku-4-5-20251001': 1000n,
      'claude-sonnet-4-5-20250929': 5000n,
      'claude-opus-4-6': 20_000n,
    })
    expect(pricing.fallback?.atomic).toBe(5000n)
  })

  test('gateway.port applies unless PORT is set', () => {
    expect(loadConfig(ENV, { configFile: FLAT }).port).toBe(3000)
    expect(loadConfig({ ...ENV, PORT: '9123' }, { configFile: FLAT }).port).toBe(9123)
    expect(loadConfig({}).port).toBe(8080)
  })

  test('GATEWAY_CONFIG names the file; --config (configFile) wins over it; no file means none', () => {
    expect(loadConfig({ ...ENV, GATEWAY_CONFIG: TOKEN_BASED }).gatewayFile?.path).toBe(TOKEN_BASED)
    expect(loadConfig({ ...ENV, GATEWAY_CONFIG: TOKEN_BASED }, { configFile: FLAT }).gatewayFile?.path).toBe(FLAT)
    expect(loadConfig({}, { cwd: dir }).gatewayFile).toBeNull()
  })

  test('meterway.yaml in the working folder is read when nothing else names a file', () => {
    const folder = mkdtempSync(join(dir, 'cwd-'))
    writeFileSync(join(folder, 'meterway.yaml'), 'gateway: { port: 4321 }\n')
    const config = loadConfig({}, { cwd: folder })
    expect(config.gatewayFile?.path).toBe(join(folder, 'meterway.yaml'))
    expect(config.port).toBe(4321)
  })
})

describe('prices', () => {
  test.each([
    ['$0.005', 5000n],
    ['0.005', 5000n],
    ['$1', 1_000_000n],
    ['$0.000001', 1n],
    ['$12.345678', 12_345_678n],
  ])('%s is exact USDC atomic units, 1,000 nano-USD each', (text, atomic) => {
    const price = parsePrice(text)
    expect(typeof price).toBe('object')
    if (typeof price === 'string') return
    expect(price.atomic).toBe(atomic)
    expect(price.nano).toBe(atomic * 1000n)
  })

  test.each([['$0.0000001'], ['$0'], ['5 dollars'], ['$-1'], ['$1e3']])('%s is refused', (text) => {
    expect(typeof parsePrice(text)).toBe('string')
  })
})

describe('every mistake names the file, the key and what was expected, in one line', () => {
  test('bad YAML syntax: the file, line and column', () => {
    const path = file('gateway:\n  port: 3000\nroutes: [\n')
    expect(errorOf(path)).toMatch(new RegExp(`^${path}:\\d+:\\d+: YAML syntax: `))
  })

  test('a key given twice', () => {
    const path = file('gateway: { port: 1 }\ngateway: { port: 2 }\n')
    expect(errorOf(path)).toContain('Map keys must be unique')
  })

  test('an unknown key lists the known ones', () => {
    const path = file('gateway:\n  port: 3000\n  hostname: example\n')
    expect(errorOf(path)).toBe(`${path}: gateway.hostname: unknown key (expected one of: port, discovery, x402_chat, x402_chat_markup, cors_origins)`)
  })

  test('an unknown top-level key', () => {
    expect(errorOf(file('rutes: {}\n'))).toContain(': rutes: unknown key (expected one of: gateway, wallets, accepts, facilitator, upstreams, routes, defaults, models)')
  })

  test('a wrong type', () => {
    const path = file('gateway:\n  port: "three thousand"\n')
    expect(errorOf(path)).toBe(`${path}: gateway.port: expected a port number, 0 to 65535; got a string`)
  })

  test('a route naming an upstream that is not defined', () => {
    const path = file(`${ROUTE_HEAD.replace('upstream: anthropic', 'upstream: anthropc')}    price: "$0.01"\n`)
    expect(errorOf(path)).toBe(`${path}: routes."POST /v1/messages".upstream: expected one of the upstreams (anthropic); got "anthropc"`)
  })

  test('an unset ${VAR} names the variable and where it is used', () => {
    const message = errorOf(FLAT, {})
    expect(message).toBe(`${FLAT}: upstreams.anthropic.headers.x-api-key: \${ANTHROPIC_API_KEY} is not set (set the environment variable ANTHROPIC_API_KEY)`)
  })

  test('a price with 7 decimals', () => {
    const path = file(`${ROUTE_HEAD}    match:\n      - where: { body.model: "claude-*" }\n        price: "$0.0000001"\n    fallback: "$0.01"\n`)
    expect(errorOf(path)).toBe(`${path}: routes."POST /v1/messages".match[0].price: expected at most 6 decimals (USDC's precision); got "$0.0000001"`)
  })

  test('a price written as a bare number', () => {
    const path = file(`${ROUTE_HEAD}    price: 0.01\n`)
    expect(errorOf(path)).toContain(`${path}: routes."POST /v1/messages".price: expected a quoted price such as "$0.005"`)
  })

  test('a bad models override gives the catalog error naming the entry and field', () => {
    const path = file('models:\n  - id: openai/gpt-9\n    upstreamModel: gpt-9\n    usdPer1M: { input: "3", output: "20" }\n')
    expect(errorOf(path)).toBe(`${path}: models: catalog entry openai/gpt-9: /contextWindow: Expected required property`)
    const price = file('models:\n  - id: openai/gpt-4o\n    usdPer1M: { output: "twelve" }\n')
    expect(errorOf(price)).toContain(`${price}: models: catalog override openai/gpt-4o: /usdPer1M/output:`)
  })

  test('a malformed upstream URL, and a cloud metadata address', () => {
    const bad = file(`${ROUTE_HEAD.replace('http://127.0.0.1:9/', 'not a url')}    price: "$0.01"\n`)
    expect(errorOf(bad)).toBe(`${bad}: upstreams.anthropic.url: expected an absolute http(s) URL; got "not a url"`)
    const metadata = file(`${ROUTE_HEAD.replace('http://127.0.0.1:9/', 'http://169.254.169.254/')}    price: "$0.01"\n`)
    expect(errorOf(metadata)).toContain(`${metadata}: upstreams.anthropic.url: `)
    const ftp = file(`${ROUTE_HEAD.replace('http://127.0.0.1:9/', 'ftp://files.example.com/')}    price: "$0.01"\n`)
    expect(errorOf(ftp)).toContain('expected an http(s) URL')
  })

  test('a route without any price', () => {
    const path = file(ROUTE_HEAD)
    expect(errorOf(path)).toBe(`${path}: routes."POST /v1/messages".price: expected a price, match rules, type: token-based or metered (or defaults.price)`)
  })

  test('a where key that is not body/query/headers/params', () => {
    const path = file(`${ROUTE_HEAD}    match:\n      - where: { cookie.x: "a" }\n        price: "$0.01"\n    fallback: "$0.01"\n`)
    expect(errorOf(path)).toBe(`${path}: routes."POST /v1/messages".match[0].where."cookie.x": expected body.x, query.x, headers.x or params.x`)
  })

  test('an accepted network without a wallet, and a network we do not know', () => {
    const path = file(`${ROUTE_HEAD.replace('network: base', 'network: base-sepolia')}    price: "$0.01"\n`)
    expect(errorOf(path)).toBe(`${path}: accepts[0].network: expected a wallet for base-sepolia under wallets (where payments go)`)
    const unknown = file(`${ROUTE_HEAD.replace('wallets: { base:', 'wallets: { solana:')}    price: "$0.01"\n`)
    expect(errorOf(unknown)).toContain(`${unknown}: wallets.solana: expected a network: base or base-sepolia`)
  })

  test('metered only where tokens can be counted, and without flat prices', () => {
    const path = file(`${ROUTE_HEAD}    type: metered\n    price: "$0.01"\n`)
    expect(errorOf(path)).toContain(`${path}: routes."POST /v1/messages".price: not used by type: metered`)
    const elsewhere = file(ROUTE_HEAD.replace('POST /v1/messages', 'POST /v1/other') + '    type: metered\n')
    expect(errorOf(elsewhere)).toContain('routes."POST /v1/other".type: expected metered only on POST /v1/chat/completions or POST /v1/messages')
  })

  test('markup: a quoted percentage (at most 2 decimals) on metered routes and x402_chat_markup, named by key when wrong', () => {
    const ok = file(`gateway: { x402_chat_markup: "2.55%" }\n${ROUTE_HEAD}    type: metered\n    markup: "12.5%"\n`)
    const loaded = loadConfig(ENV, { configFile: ok }).gatewayFile!
    expect(loaded.routes[0]!.pricing).toEqual({ kind: 'metered', markupBps: 1250 })
    expect(loaded.gateway.x402ChatMarkupBps).toBe(255)
    const bare = file(`${ROUTE_HEAD}    type: metered\n    markup: 20\n`)
    expect(errorOf(bare)).toBe(`${bare}: routes."POST /v1/messages".markup: expected a quoted percentage such as "20%" (got the bare number 20)`)
    const fine = file(`${ROUTE_HEAD}    type: metered\n    markup: "0.125%"\n`)
    expect(errorOf(fine)).toBe(`${fine}: routes."POST /v1/messages".markup: expected a percentage such as "20%" (at most 2 decimals); got "0.125%"`)
    const huge = file(`${ROUTE_HEAD}    type: metered\n    markup: "1000.01%"\n`)
    expect(errorOf(huge)).toBe(`${huge}: routes."POST /v1/messages".markup: expected at most 1000%; got "1000.01%"`)
    const flat = file(`${ROUTE_HEAD}    price: "$0.01"\n    markup: "20%"\n`)
    expect(errorOf(flat)).toBe(`${flat}: routes."POST /v1/messages".markup: expected only with type: metered (a fixed price carries its own margin)`)
    const chat = file(`gateway: { x402_chat: true, x402_chat_markup: "-5%" }\n${ROUTE_HEAD}    price: "$0.01"\n`)
    expect(errorOf(chat)).toBe(`${chat}: gateway.x402_chat_markup: expected a percentage such as "20%" (at most 2 decimals); got "-5%"`)
  })

  test('cors_origins: "*" or origins, normalized; a path or another scheme is named by index', () => {
    const ok = file(`gateway: { cors_origins: ["https://Pay.example.com", "http://localhost:5173", "*"] }\n${ROUTE_HEAD}    price: "$0.01"\n`)
    expect(loadConfig(ENV, { configFile: ok }).gatewayFile!.gateway.corsOrigins).toEqual(['https://pay.example.com', 'http://localhost:5173', '*'])
    const bad = file(`gateway: { cors_origins: ["https://pay.example.com", "https://pay.example.com/app"] }\n${ROUTE_HEAD}    price: "$0.01"\n`)
    expect(errorOf(bad)).toBe(`${bad}: gateway.cors_origins[1]: expected "*" or an origin such as "https://app.example.com" (scheme and host, no path); got "https://pay.example.com/app"`)
    const ftp = file(`gateway: { cors_origins: ["ftp://pay.example.com"] }\n${ROUTE_HEAD}    price: "$0.01"\n`)
    expect(errorOf(ftp)).toContain('gateway.cors_origins[0]: expected "*" or an origin')
  })

  test('a file that does not exist', () => {
    const path = join(dir, 'missing.yaml')
    expect(errorOf(path)).toBe(`${path}: cannot read the file (no such file)`)
  })
})

test('defaults.price prices a route that names none; metered and facilitator defaults', () => {
  const path = file(`defaults: { price: "$0.002" }\nfacilitator: { url: "https://facilitator.example.com/", headers: { Authorization: "Bearer x" } }\n${ROUTE_HEAD}  "POST /v1/chat/completions":\n    upstream: anthropic\n    type: metered\n`)
  const file_ = loadConfig(ENV, { configFile: path }).gatewayFile!
  expect(file_.routes.map((r) => [r.key, r.pricing])).toEqual([
    ['POST /v1/messages', { kind: 'static', price: { usd: '0.002', atomic: 2000n, nano: 2_000_000n } }],
    ['POST /v1/chat/completions', { kind: 'metered', markupBps: 0 }],
  ])
  expect(file_.facilitator).toEqual({ url: 'https://facilitator.example.com', headers: { authorization: 'Bearer x' } })
  expect(file_.upstreams.anthropic!.timeoutMs).toBe(2500)
})

test('a file of aliases that would unfold into a huge one is refused in one line', () => {
  const bomb = ['a: &a [x, x, x, x, x, x, x, x, x]', 'b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]', 'c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]', 'd: [*c, *c, *c, *c, *c, *c, *c, *c, *c]', ''].join('\n')
  const path = file(bomb)
  expect(errorOf(path)).toBe(`${path}: YAML: Excessive alias count indicates a resource exhaustion attack`)
})

test("the README's Config file example loads", async () => {
  const readme = await Bun.file(join(import.meta.dir, '..', '..', 'README.md')).text()
  const section = readme.slice(readme.indexOf('## Config file'))
  const example = /```yaml\n([\s\S]*?)```/.exec(section)![1]!
  const config = loadConfig({ ANTHROPIC_API_KEY: 'k', FACILITATOR_TOKEN: 't' }, { configFile: file(example) })
  expect(config.gatewayFile!.routes.map((r) => [r.key, r.pricing.kind])).toEqual([
    ['POST /v1/messages', 'match'],
    ['POST /v1/complete', 'token-based'],
    ['POST /v1/chat/completions', 'metered'],
  ])
  expect(config.gatewayFile!.facilitator.headers).toEqual({ authorization: 'Bearer t' })
})
