// Boot: config → connections → app → listen; SIGTERM stops accepting, lets in-flight streams finish, then closes.
import { createApp } from './app'
import { ConfigError, loadConfig, type Config } from './config'
import { createDb } from './lib/db'
import { serverBodyLimit } from './lib/framework-errors'
import { createLogger } from './lib/logger'
import { createRedis } from './lib/redis'
import { createLoggingUsageSink } from './metering/record-usage'
import { createStaticKeyAuthenticator } from './modules/auth/service'
import { buildCatalog } from './pricing/catalog'
import { buildProviders } from './providers/registry'

function readConfig(): Readonly<Config> {
  try {
    return loadConfig()
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`meterway: invalid configuration: ${error.message}\n`)
      process.exit(1)
    }
    throw error
  }
}

const config = readConfig()
const logger = createLogger(config.logLevel)
const sql = createDb(config.databaseUrl)
const redis = createRedis(config.redisUrl)
redis.connect().catch((error: Error) => logger.warn('redis not reachable yet', { error: error.message }))

const app = createApp({
  config,
  catalog: buildCatalog(),
  providers: buildProviders(config),
  authenticate: createStaticKeyAuthenticator(config.staticApiKeys),
  recordUsage: createLoggingUsageSink(logger),
  readiness: {
    postgres: () => sql`select 1`,
    redis: () => redis.ping(),
  },
  logger,
}).listen({ port: config.port, hostname: config.host, maxRequestBodySize: serverBodyLimit(config.maxBodyBytes), idleTimeout: 255 })

const server = app.server!
logger.info('meterway listening', { url: `http://${config.host}:${server.port}`, staticKeys: config.staticApiKeys.length })
if (config.staticApiKeys.length === 0) logger.warn('GATEWAY_API_KEYS is empty: every chat request will get 401')

let stopping = false
async function shutdown(signal: string): Promise<void> {
  if (stopping) return
  stopping = true
  logger.info('shutting down', { signal, inFlight: server.pendingRequests })
  server.stop(false)
  const deadline = Date.now() + config.shutdownGraceMs
  while (server.pendingRequests > 0 && Date.now() < deadline) await Bun.sleep(50)
  await Promise.allSettled([sql.end({ timeout: 5 }), redis.quit()])
  process.exit(0)
}
process.on('SIGTERM', () => void shutdown('SIGTERM'))
process.on('SIGINT', () => void shutdown('SIGINT'))
