// Standalone entry: the stripe reporter alone in a process (`bun workers/stripe-report/main.ts`); tests SIGKILL it mid-run. Args tune the client and timings.
import { parseArgs } from 'node:util'
import { loadConfig } from '../../src/config'
import { createDb } from '../../src/lib/db'
import { createLogger } from '../../src/lib/logger'
import { createStripeClient } from '../../src/lib/stripe'
import { startStripeReporter } from '.'

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    'timeout-ms': { type: 'string' },
    retries: { type: 'string' },
    'lease-ms': { type: 'string' },
    'backoff-ms': { type: 'string' },
  },
})
const number = (value: string | undefined) => (value === undefined ? undefined : Number(value))

const config = loadConfig()
const logger = createLogger(config.logLevel, (line) => process.stderr.write(line))
const stripe = createStripeClient(config.stripe, { timeout: number(values['timeout-ms']), maxNetworkRetries: number(values.retries) })
if (!stripe) {
  logger.error('STRIPE_SECRET_KEY is not set; nothing to report to')
  process.exit(1)
}
const sql = createDb(config.databaseUrl)
const reporter = startStripeReporter(
  { sql, stripe, logger, settings: config.stripeReport },
  { leaseMs: number(values['lease-ms']), backoffBaseMs: number(values['backoff-ms']) },
)
logger.info('stripe reporter started', { mode: config.stripeReport.meterMode, intervalMs: config.stripeReport.intervalMs })
process.stdout.write('ready\n')

const stop = async () => {
  await reporter.close()
  await sql.end({ timeout: 5 })
  process.exit(0)
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
