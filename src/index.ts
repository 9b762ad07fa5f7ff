// Boot: arguments and config → startServer (connections, migrations, API and/or workers by ROLE); SIGTERM and SIGINT stop it in order.
import { parseArgs } from 'node:util'
import { ConfigError, loadConfig, type Config } from './config'
import { BootError } from './lib/boot-errors'
import { logConfigFile } from './lib/gateway-config/summary'
import { createLogger } from './lib/logger'
import { startServer } from './server'

/** `--config path` (or `--config=path`): the gateway config file, over GATEWAY_CONFIG. */
function readArguments(): { configFile?: string } {
  try {
    const { values } = parseArgs({ args: process.argv.slice(2), options: { config: { type: 'string' } }, strict: true, allowPositionals: false })
    return values.config === undefined ? {} : { configFile: values.config }
  } catch (error) {
    process.stderr.write(`meterway: ${(error as Error).message.split('\n')[0]} (usage: bun src/index.ts [--config gateway.yaml])\n`)
    process.exit(1)
  }
}

function readConfig(): Readonly<Config> {
  try {
    return loadConfig(undefined, readArguments())
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
logConfigFile(config, logger)
if (config.staticApiKeys.length === 0 && config.role !== 'worker') logger.warn('GATEWAY_API_KEYS is empty: only registered agent keys can call the API')
async function start() {
  try {
    return await startServer(config, { logger })
  } catch (error) {
    if (error instanceof BootError) {
      process.stderr.write(`${error.message}\n`)
      process.exit(1)
    }
    throw error
  }
}
const running = await start()

let stopping = false
async function shutdown(signal: string): Promise<void> {
  if (stopping) return
  stopping = true
  logger.info('shutting down', { signal })
  await running.stop()
  process.exit(0)
}
process.on('SIGTERM', () => void shutdown('SIGTERM'))
process.on('SIGINT', () => void shutdown('SIGINT'))
