// /healthz and /readyz against the real Postgres and Redis, and against a Redis that is not there.
import { afterAll, describe, expect, test } from 'bun:test'
import { createApp } from '../../src/app'
import { loadConfig } from '../../src/config'
import { createDb } from '../../src/lib/db'
import { createLogger } from '../../src/lib/logger'
import { createRedis } from '../../src/lib/redis'
import { createStaticKeyAuthenticator } from '../../src/modules/auth/service'
import { buildCatalog } from '../../src/pricing/catalog'
import { buildProviders } from '../../src/providers/registry'
import { closedPortUrl } from '../helpers/fake-upstream'

const config = loadConfig({ LOG_LEVEL: 'silent' })
const sql = createDb(config.databaseUrl, { max: 1 })
const redis = createRedis(config.redisUrl)
const deadRedis = createRedis((await closedPortUrl()).replace('http', 'redis'))
await redis.connect()
deadRedis.connect().catch(() => {})

function appWith(readiness: Parameters<typeof createApp>[0]['readiness']) {
  return createApp({
    config,
    catalog: buildCatalog(),
    providers: buildProviders(config),
    authenticate: createStaticKeyAuthenticator([]),
    recordUsage: () => {},
    readiness,
    logger: createLogger('silent'),
    accounts: null,
    admission: null,
  })
}

afterAll(async () => {
  await sql.end()
  redis.disconnect()
  deadRedis.disconnect()
})

describe('health', () => {
  test('/healthz answers while the process is up', async () => {
    const response = await appWith({}).handle(new Request('http://local/healthz'))
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ status: 'ok' })
  })

  test('/readyz is 200 when Postgres and Redis answer', async () => {
    const app = appWith({ postgres: () => sql`select 1`, redis: () => redis.ping() })
    const response = await app.handle(new Request('http://local/readyz'))
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ status: 'ready', checks: { postgres: 'ok', redis: 'ok' } })
  })

  test('/readyz is 503, naming the failing dependency, when Redis is down', async () => {
    const app = appWith({ postgres: () => sql`select 1`, redis: () => deadRedis.ping() })
    const response = await app.handle(new Request('http://local/readyz'))
    expect(response.status).toBe(503)
    const body = (await response.json()) as { status: string; checks: Record<string, string> }
    expect(body.status).toBe('not_ready')
    expect(body.checks.postgres).toBe('ok')
    expect(body.checks.redis).not.toBe('ok')
  })
})
