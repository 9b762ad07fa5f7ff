// docker-compose.yml (which cannot be run here) stays right: the four services, health checks, volumes, and only settings the gateway knows.
import { expect, test } from 'bun:test'
import { join } from 'node:path'
import { EnvSchema, loadConfig } from '../src/config'

const file = join(import.meta.dir, '..', 'docker-compose.yml')
interface Service {
  environment?: Record<string, string>
  healthcheck?: { test?: unknown; disable?: boolean }
  depends_on?: Record<string, { condition: string }>
  volumes?: string[]
  ports?: string[]
}
const compose = Bun.YAML.parse(await Bun.file(file).text()) as { services: Record<string, Service>; volumes: Record<string, unknown> }

test('Postgres and Redis with health checks and volumes; the API and a worker wait for them to be healthy', () => {
  const { postgres, redis, api, worker } = compose.services
  for (const store of [postgres, redis]) {
    expect(store?.healthcheck?.test).toBeDefined()
    const volume = store!.volumes![0]!.split(':')[0]!
    expect(Object.keys(compose.volumes)).toContain(volume)
  }
  expect(api?.environment?.ROLE).toBe('api')
  expect(worker?.environment?.ROLE).toBe('worker')
  for (const gateway of [api, worker]) {
    expect(gateway?.depends_on).toEqual({ postgres: { condition: 'service_healthy' }, redis: { condition: 'service_healthy' } })
  }
  expect(api?.healthcheck?.test).toBeDefined()
  expect(api?.ports?.[0]).toEndWith(':8080')
})

test('every variable it sets is a gateway setting, and its fixed values pass the gateway config', () => {
  const known = new Set(Object.keys(EnvSchema.properties))
  for (const name of ['api', 'worker']) {
    const env = compose.services[name]!.environment!
    for (const key of Object.keys(env)) expect(known.has(key) ? key : `${key} (not a setting)`).toBe(key)
    // ${VAR:-default} takes its default, as Compose does with nothing set.
    const resolved = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v.replace(/\$\{[A-Z_]+:-([^}]*)\}/g, '$1')]))
    expect(() => loadConfig(resolved)).not.toThrow()
  }
})
