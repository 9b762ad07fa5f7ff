// Test-only entry: the workers in a process of their own, so a test can SIGKILL them mid-batch. Args: --prefix, --lock-ms, --stalled-ms.
import { parseArgs } from 'node:util'
import { loadConfig } from '../../src/config'
import { createDb } from '../../src/lib/db'
import { createLogger } from '../../src/lib/logger'
import { startWorkers } from '../../workers'

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: { prefix: { type: 'string' }, 'lock-ms': { type: 'string' }, 'stalled-ms': { type: 'string' } },
})
const millis = (value: string | undefined) => (value ? Number(value) : undefined)

const config = loadConfig()
const logger = createLogger(config.logLevel, (line) => process.stderr.write(line))
const sql = createDb(config.databaseUrl)
const workers = await startWorkers(
  { config, sql, logger },
  { prefix: values.prefix, lockDurationMs: millis(values['lock-ms']), stalledIntervalMs: millis(values['stalled-ms']) },
)
process.stdout.write('ready\n')

process.on('SIGTERM', async () => {
  await workers.close()
  await sql.end({ timeout: 5 })
  process.exit(0)
})
