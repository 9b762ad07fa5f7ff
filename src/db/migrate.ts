// Applies src/db/migrations/*.sql in name order, each once and in its own transaction, under an advisory lock.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Sql } from '../lib/db'

const MIGRATIONS_DIR = join(import.meta.dir, 'migrations')
// Any fixed 64-bit number; every process that migrates takes the same one, so two boots never race.
const MIGRATION_LOCK_ID = 7_270_311_094_221_001n

export interface MigrationResult {
  applied: string[]
  skipped: number
}

export async function migrate(sql: Sql, directory = MIGRATIONS_DIR): Promise<MigrationResult> {
  const files = readdirSync(directory)
    .filter((name) => /^\d+_[\w-]+\.sql$/.test(name))
    .sort()
  // reserve() pins one connection: an advisory lock belongs to the session that took it.
  const connection = await sql.reserve()
  try {
    await connection`SELECT pg_advisory_lock(${MIGRATION_LOCK_ID.toString()}::bigint)`
    await connection`CREATE TABLE IF NOT EXISTS schema_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`
    const done = new Set((await connection<{ name: string }[]>`SELECT name FROM schema_migrations`).map((row) => row.name))
    const applied: string[] = []
    for (const name of files) {
      if (done.has(name)) continue
      const text = readFileSync(join(directory, name), 'utf8')
      await connection.unsafe('BEGIN')
      try {
        await connection.unsafe(text)
        await connection`INSERT INTO schema_migrations (name) VALUES (${name})`
        await connection.unsafe('COMMIT')
      } catch (error) {
        await connection.unsafe('ROLLBACK')
        throw new Error(`migration ${name} failed: ${(error as Error).message}`)
      }
      applied.push(name)
    }
    return { applied, skipped: files.length - applied.length }
  } finally {
    await connection`SELECT pg_advisory_unlock(${MIGRATION_LOCK_ID.toString()}::bigint)`.catch(() => {})
    connection.release()
  }
}
