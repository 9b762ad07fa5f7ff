// `bun run validate [file]`: checks a gateway config file without starting the gateway; prints OK and a summary or the errors; exit 0/1.
import { ConfigError, findGatewayConfigPath, readGatewayConfigFile } from './config'
import { GatewayConfigError } from './lib/gateway-config/load'
import { describeRoutes, summarize } from './lib/gateway-config/summary'

const argument = process.argv[2]
const path = findGatewayConfigPath(undefined, argument ? { configFile: argument } : {})
if (path === null) {
  process.stderr.write('meterway validate: no config file: pass a path, set GATEWAY_CONFIG, or create meterway.yaml here\n')
  process.exit(1)
}
try {
  const file = readGatewayConfigFile(path)
  process.stdout.write(`OK ${path}: ${summarize(file)}\n`)
  for (const line of describeRoutes(file)) process.stdout.write(`  ${line}\n`)
  for (const warning of file.warnings) process.stdout.write(`warning: ${warning}\n`)
  process.exit(0)
} catch (error) {
  if (!(error instanceof ConfigError)) throw error
  const problems = error.cause instanceof GatewayConfigError ? error.cause.problems : [error.message]
  for (const problem of problems) process.stderr.write(`${problem}\n`)
  process.exit(1)
}
