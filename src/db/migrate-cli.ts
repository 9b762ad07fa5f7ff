// `bun run migrate`: applies pending migrations to DATABASE_URL and says which (the server also does this at boot).
import { ConfigError, loadConfig } from '../config'
import { createDb } from '../lib/db'
import { migrate } from './migrate'

try {
  const config = loadConfig()
  const sql = createDb(config.databaseUrl, { max: 1 })
  try {
    const { applied, skipped } = await migrate(sql)
    console.log(applied.length > 0 ? `applied: ${applied.join(', ')} (${skipped} already applied)` : `up to date (${skipped} migrations applied before)`)
  } finally {
    await sql.end()
  }
} catch (error) {
  console.error(`meterway migrate: ${error instanceof ConfigError ? `invalid configuration: ${error.message}` : (error as Error).message}`)
  process.exit(1)
}
