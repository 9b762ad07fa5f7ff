// The gateway config file in real processes: `bun run validate`, --config and GATEWAY_CONFIG, gateway.port vs PORT, models: in /v1/models, a bad file stopping the boot.
import { afterAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CATALOG_VERSION } from '../../src/pricing/catalog-data'
import { prepareTestDatabase, TEST_DATABASE_URL, TEST_QUEUE_PREFIX } from '../helpers/db'
import { freePort, spawnMeterway, type GatewayProcess } from '../helpers/processes'
import { waitFor } from '../helpers/poll'
import { START_ENV } from '../../src/lib/start-env'

const ROOT = join(import.meta.dir, '..', '..')
const ENTRY = join(ROOT, 'src', 'index.ts')
const VALIDATE = join(ROOT, 'src', 'validate.ts')
const FIXTURES = join(ROOT, 'test', 'fixtures', 'config')
const FLAT = join(FIXTURES, 'seed-flat-per-request.yaml')
const TOKEN_BASED = join(FIXTURES, 'seed-token-based.yaml')
const dir = mkdtempSync(join(tmpdir(), 'meterway-config-e2e-'))
const started: GatewayProcess[] = []
afterAll(() => {
  for (const gateway of started) gateway.child.kill('SIGKILL')
  rmSync(dir, { recursive: true, force: true })
})

/** The environment without the variables these tests set themselves. */
function baseEnv(): Record<string, string | undefined> {
  const { PORT: _port, GATEWAY_CONFIG: _config, ANTHROPIC_API_KEY: _key, ...rest } = process.env
  return rest
}

async function run(command: string[], env: Record<string, string> = {}, cwd = ROOT): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = Bun.spawn(command, { cwd, env: { ...baseEnv(), ...env }, stdout: 'pipe', stderr: 'pipe' })
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited])
  return { code, stdout, stderr }
}

const noStackTrace = (text: string) => expect(text).not.toMatch(/^\s+at /m)

describe('bun run validate', () => {
  test.each([
    [FLAT, '3 match rules, fallback $0.015'],
    [TOKEN_BASED, 'token-based, 3 models, fallback $0.005'],
  ])('the seed example %s: OK with a summary, exit 0', async (path, pricing) => {
    const { code, stdout } = await run(['bun', 'run', 'validate', path], { ANTHROPIC_API_KEY: 'sk-ant-test' })
    expect(code).toBe(0)
    expect(stdout).toContain(`OK ${path}: 1 route, 1 upstream, 1 wallet (base)`)
    expect(stdout).toContain(`POST /v1/messages → anthropic /v1/messages: ${pricing}`)
  })

  test('a bad file: every problem on its own line naming the file and key, exit 1, no stack trace', async () => {
    const path = join(dir, 'two-problems.yaml')
    writeFileSync(path, 'gateway:\n  port: "x"\n  hostname: y\n')
    const { code, stdout, stderr } = await run(['bun', 'run', 'validate', path])
    expect(code).toBe(1)
    expect(stdout).not.toContain('OK')
    expect(stderr).toContain(`${path}: gateway.port: expected a port number, 0 to 65535; got a string\n`)
    expect(stderr).toContain(`${path}: gateway.hostname: unknown key (expected one of: port, discovery, x402_chat, x402_chat_markup, cors_origins)\n`)
    noStackTrace(stderr)
  })

  test('an unset variable: exit 1 naming it; GATEWAY_CONFIG is read when no file is given', async () => {
    const { code, stderr } = await run(['bun', 'run', 'validate'], { GATEWAY_CONFIG: FLAT })
    expect(code).toBe(1)
    expect(stderr).toContain(`${FLAT}: upstreams.anthropic.headers.x-api-key: \${ANTHROPIC_API_KEY} is not set`)
  })

  test('meterway.yaml in the working folder, and no file at all', async () => {
    const folder = mkdtempSync(join(dir, 'cwd-'))
    const none = await run(['bun', VALIDATE], {}, folder)
    expect(none.code).toBe(1)
    expect(none.stderr).toContain('no config file')
    writeFileSync(join(folder, 'meterway.yaml'), 'gateway: { port: 3000 }\n')
    const found = await run(['bun', VALIDATE], {}, folder)
    expect(found.code).toBe(0)
    expect(found.stdout).toContain('OK meterway.yaml: 0 routes, 0 upstreams, 0 wallets')
  })
})

describe('booting with a config file', () => {
  test('--config loads the seed example; PORT wins over its gateway.port; the boot log names the file', async () => {
    const gateway = await spawnMeterway({ ANTHROPIC_API_KEY: 'sk-ant-test', ROLE: 'api' }, 30_000, ['--config', FLAT])
    started.push(gateway)
    // spawnMeterway set PORT and the process answers there, not on the file's 3000.
    expect((await fetch(`${gateway.url}/healthz`)).ok).toBe(true)
    await waitFor(() => gateway.output().includes('gateway config file loaded'), 5_000, 'the config file logged')
    const line = gateway.output().split('\n').find((l) => l.includes('gateway config file loaded'))!
    expect(JSON.parse(line)).toMatchObject({ path: FLAT, summary: '1 route, 1 upstream, 1 wallet (base)' })
    // The secret interpolated into the upstream headers never reaches the log.
    expect(gateway.output()).not.toContain('sk-ant-test')
    gateway.child.kill('SIGTERM')
    await gateway.exited
  })

  test('GATEWAY_CONFIG with a models: section: GET /v1/models shows the overridden and added models and the digest version', async () => {
    const path = join(dir, 'models.yaml')
    writeFileSync(
      path,
      [
        'models:',
        '  - id: openai/gpt-4o',
        '    usdPer1M: { output: "12.50" }',
        '  - id: openai/gpt-9',
        '    upstreamModel: gpt-9',
        '    contextWindow: 500000',
        '    maxOutputTokens: 100000',
        '    defaultMaxTokens: 8192',
        '    usdPer1M: { input: "3", output: "20" }',
        '    source: "our contract, 2027-01-01"',
        '',
      ].join('\n'),
    )
    const gateway = await spawnMeterway({ GATEWAY_CONFIG: path, ROLE: 'api' })
    started.push(gateway)
    const list = (await (await fetch(`${gateway.url}/v1/models`)).json()) as {
      catalog_version: string
      data: { id: string; pricing: { input: string; output: string }; source: string | null; catalog_version: string }[]
    }
    expect(list.catalog_version).toMatch(new RegExp(`^${CATALOG_VERSION.replace(/\./g, '\\.')}\\+[0-9a-f]{8}$`))
    const gpt4o = list.data.find((m) => m.id === 'openai/gpt-4o')!
    expect(gpt4o.pricing.output).toBe('12.50')
    expect(gpt4o.pricing.input).toBe('2.50')
    expect(gpt4o.source).toBeNull()
    const gpt9 = list.data.find((m) => m.id === 'openai/gpt-9')!
    expect(gpt9).toMatchObject({ pricing: { input: '3', output: '20' }, source: 'our contract, 2027-01-01', catalog_version: list.catalog_version })
    gateway.child.kill('SIGTERM')
    await gateway.exited
  })

  test('gateway.port applies when PORT is not set', async () => {
    await prepareTestDatabase()
    const port = freePort()
    const path = join(dir, 'port.yaml')
    writeFileSync(path, `gateway:\n  port: ${port}\n`)
    const child = Bun.spawn(['bun', ENTRY, `--config=${path}`], {
      env: { ...baseEnv(), HOST: '127.0.0.1', DATABASE_URL: TEST_DATABASE_URL, QUEUE_PREFIX: TEST_QUEUE_PREFIX, ROLE: 'api', ...START_ENV },
      stdout: 'ignore',
      stderr: 'ignore',
    })
    try {
      await waitFor(() => fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false), 20_000, `the gateway on the file's port ${port}`)
    } finally {
      child.kill('SIGKILL')
      await child.exited
    }
  })
})

describe('a bad config file stops the boot with one line and exit 1', () => {
  test.each([
    ['an unset variable', FLAT, 'upstreams.anthropic.headers.x-api-key: ${ANTHROPIC_API_KEY} is not set'],
    ['a missing file', join(dir, 'nope.yaml'), 'cannot read the file (no such file)'],
  ])('%s', async (_, path, why) => {
    const { code, stdout, stderr } = await run(['bun', ENTRY, '--config', path], { PORT: String(freePort()), HOST: '127.0.0.1' })
    expect(code).toBe(1)
    expect(stderr.trim().split('\n')).toEqual([`meterway: invalid configuration: ${path}: ${why}${why.startsWith('upstreams') ? ' (set the environment variable ANTHROPIC_API_KEY)' : ''}`])
    expect(stdout).toBe('')
  })

  test('a bad models override, through GATEWAY_CONFIG: the catalog error naming the entry and field', async () => {
    const path = join(dir, 'bad-models.yaml')
    writeFileSync(path, 'models:\n  - id: openai/gpt-4o\n    maxOutputTokens: 99999999\n')
    const { code, stderr } = await run(['bun', ENTRY], { GATEWAY_CONFIG: path, PORT: String(freePort()), HOST: '127.0.0.1' })
    expect(code).toBe(1)
    expect(stderr.trim().split('\n')).toEqual([`meterway: invalid configuration: ${path}: models: catalog entry openai/gpt-4o: maxOutputTokens is above contextWindow`])
  })

  test('bun run start --config passes the file through', async () => {
    const path = join(dir, 'unknown-key.yaml')
    writeFileSync(path, 'gateway:\n  discover: true\n')
    const { code, stderr } = await run(['bun', 'run', 'start', '--config', path], { PORT: String(freePort()), HOST: '127.0.0.1' })
    expect(code).toBe(1)
    expect(stderr).toContain(`meterway: invalid configuration: ${path}: gateway.discover: unknown key (expected one of: port, discovery, x402_chat, x402_chat_markup, cors_origins)\n`)
    noStackTrace(stderr)
  })

  test('an unknown command-line option', async () => {
    const { code, stderr } = await run(['bun', ENTRY, '--confg', 'x.yaml'], { PORT: String(freePort()), HOST: '127.0.0.1' })
    expect(code).toBe(1)
    expect(stderr.trim().split('\n')).toHaveLength(1)
    expect(stderr).toContain('usage: bun src/index.ts [--config gateway.yaml]')
  })
})
