// Configuration: defaults, conversions, and a bad value stopping the boot with one line naming the variable.
import { describe, expect, test } from 'bun:test'
import { join } from 'node:path'
import { ConfigError, loadConfig } from '../src/config'

describe('loadConfig', () => {
  test('defaults give a runnable single-machine config', () => {
    const config = loadConfig({})
    expect(config.port).toBe(8080)
    expect(config.staticApiKeys).toEqual([])
    expect(config.providers.openai.baseUrl).toBe('https://api.openai.com/v1')
    expect(config.providers.anthropic.baseUrl).toBe('https://api.anthropic.com')
    expect(config.providers.google.baseUrl).toBe('https://generativelanguage.googleapis.com')
    expect(Object.isFrozen(config)).toBe(true)
  })

  test('strings are converted and lists split', () => {
    const config = loadConfig({ PORT: '9000', GATEWAY_API_KEYS: ' a, b ,,c ', METER_CROSSCHECK_RATE: '0.25', OPENAI_BASE_URL: 'http://127.0.0.1:1/v1/' })
    expect(config.port).toBe(9000)
    expect(config.staticApiKeys).toEqual(['a', 'b', 'c'])
    expect(config.meterCrosscheckRate).toBe(0.25)
    expect(config.providers.openai.baseUrl).toBe('http://127.0.0.1:1/v1')
  })

  test.each([
    ['PORT', 'eighty'],
    ['PORT', '70000'],
    ['UPSTREAM_TIMEOUT_MS', '-5'],
    ['OPENAI_BASE_URL', 'ftp://nope'],
    ['LOG_LEVEL', 'loud'],
    ['METER_CROSSCHECK_RATE', 'perhaps'],
    ['METER_CROSSCHECK_RATE', '1.5'],
    ['REDIS_URL', 'localhost:6379'],
    ['AUTH_FAILURE_LIMIT', '-1'],
    ['AUTH_FAILURE_LIMIT', 'many'],
    ['TRUST_FORWARDED_FOR', 'maybe'],
  ])('%s=%s is refused, naming the variable', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError)
    try {
      loadConfig({ [name]: value })
    } catch (error) {
      expect((error as Error).message.startsWith(`${name}:`)).toBe(true)
      expect((error as Error).message).toContain(JSON.stringify(value))
    }
  })

  test('ADMIN_TOKEN: empty turns the admin API off, 32 characters or more turn it on, anything shorter stops the boot', () => {
    expect(loadConfig({ ADMIN_TOKEN: '' }).adminToken).toBe('')
    expect(loadConfig({}).adminToken).toBe('')
    const token = 'T'.repeat(32)
    expect(loadConfig({ ADMIN_TOKEN: token }).adminToken).toBe(token)
    for (const short of ['a', 'adminZq', 'Zq'.repeat(15) + 'Z', `${'Zq'.repeat(10)} ${'Zq'.repeat(10)}`]) {
      expect(() => loadConfig({ ADMIN_TOKEN: short })).toThrow(ConfigError)
      try {
        loadConfig({ ADMIN_TOKEN: short })
      } catch (error) {
        const message = (error as Error).message
        expect(message.startsWith('ADMIN_TOKEN:')).toBe(true)
        expect(message).toContain('32 characters')
        // A wrong secret is still a secret: its length is told, not its value.
        expect(message).not.toContain(JSON.stringify(short))
        expect(message).not.toContain('Zq')
        expect(message).toContain(`${short.length} character`)
      }
    }
  })

  test('failed-attempt limits default to 20 per minute per address, socket addresses', () => {
    const config = loadConfig({})
    expect(config.authFailures).toEqual({ limit: 20, windowMs: 60_000 })
    expect(config.trustForwardedFor).toBe(false)
  })

  test('the process refuses to boot with one line on stderr and exit code 1', async () => {
    const child = Bun.spawn(['bun', join(import.meta.dir, '..', 'src', 'index.ts')], {
      env: { ...process.env, PORT: 'not-a-port' },
      stdout: 'pipe',
      stderr: 'pipe',
    })
    const [code, stderr] = await Promise.all([child.exited, new Response(child.stderr).text()])
    expect(code).toBe(1)
    const lines = stderr.trim().split('\n')
    expect(lines).toHaveLength(1)
    expect(lines[0]).toContain('PORT')
  })
})

test('a short ADMIN_TOKEN stops the boot with one line naming it, and the token is not printed', async () => {
  const child = Bun.spawn(['bun', join(import.meta.dir, '..', 'src', 'index.ts')], {
    env: { ...process.env, ADMIN_TOKEN: 'a' },
    stdout: 'pipe',
    stderr: 'pipe',
  })
  const [code, stderr] = await Promise.all([child.exited, new Response(child.stderr).text()])
  expect(code).toBe(1)
  const lines = stderr.trim().split('\n')
  expect(lines).toHaveLength(1)
  expect(lines[0]).toContain('ADMIN_TOKEN:')
  expect(lines[0]).not.toContain('"a"')
})

describe('Redis Cluster settings', () => {
  test('REDIS_URL names one Redis by default', () => {
    const config = loadConfig({})
    expect(config.redis).toEqual({ kind: 'single', url: 'redis://127.0.0.1:6379' })
    expect(config.redisUrl).toBe('redis://127.0.0.1:6379')
  })

  test('redis+cluster:// lists some nodes, with optional credentials that stay out of redisUrl', () => {
    const plain = loadConfig({ REDIS_URL: 'redis+cluster://10.0.0.1:7000,redis-b:7001,[::1]:7002' })
    expect(plain.redis).toEqual({ kind: 'cluster', nodes: [{ host: '10.0.0.1', port: 7000 }, { host: 'redis-b', port: 7001 }, { host: '::1', port: 7002 }] })
    expect(plain.redisUrl).toBe('redis+cluster://10.0.0.1:7000,redis-b:7001,::1:7002')
    const secured = loadConfig({ REDIS_URL: 'redis+cluster://app:p%40ss@h1:7000,h2:7001/' })
    expect(secured.redis).toEqual({ kind: 'cluster', nodes: [{ host: 'h1', port: 7000 }, { host: 'h2', port: 7001 }], username: 'app', password: 'p@ss' })
    expect(secured.redisUrl).not.toContain('p@ss')
  })

  test('REDIS_CLUSTER_NODES names a cluster too', () => {
    expect(loadConfig({ REDIS_CLUSTER_NODES: 'h1:7000, h2:7001' }).redis).toEqual({ kind: 'cluster', nodes: [{ host: 'h1', port: 7000 }, { host: 'h2', port: 7001 }] })
  })

  test.each([
    [{ REDIS_CLUSTER_NODES: 'h1:7000', REDIS_URL: 'redis://127.0.0.1:6379' }, 'REDIS_CLUSTER_NODES:'],
    [{ REDIS_CLUSTER_NODES: 'h1' }, 'REDIS_CLUSTER_NODES:'],
    [{ REDIS_URL: 'redis+cluster://h1:7000,h2' }, 'REDIS_URL:'],
    [{ REDIS_URL: 'redis+cluster://h1:99999' }, 'REDIS_URL:'],
    [{ REDIS_URL: 'redis+cluster://' }, 'REDIS_URL:'],
  ])('%p is refused, naming the variable', (env, prefix) => {
    expect(() => loadConfig(env)).toThrow(ConfigError)
    try {
      loadConfig(env)
    } catch (error) {
      expect((error as Error).message.startsWith(prefix)).toBe(true)
    }
  })
})
