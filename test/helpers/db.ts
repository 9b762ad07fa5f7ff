// The test database: one per test process (meterway_test), created and migrated once, shared by every test file.
import postgres from 'postgres'
import { migrate } from '../../src/db/migrate'
import { createDb, type Sql } from '../../src/lib/db'

export const TEST_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/meterway_test'

let ready: Promise<void> | null = null

/** Drops and recreates meterway_test, then migrates it; runs once per process. */
export function prepareTestDatabase(): Promise<void> {
  ready ??= (async () => {
    const admin = postgres('postgres://postgres@127.0.0.1:5432/postgres', { max: 1, onnotice: () => {} })
    try {
      await admin.unsafe(`DROP DATABASE IF EXISTS meterway_test WITH (FORCE)`)
      await admin.unsafe(`CREATE DATABASE meterway_test`)
    } finally {
      await admin.end()
    }
    const sql = createDb(TEST_DATABASE_URL, { max: 1 })
    try {
      await migrate(sql)
    } finally {
      await sql.end()
    }
  })()
  return ready
}

/** A client of the migrated test database; the caller ends it. */
export async function testDb(max = 4): Promise<Sql> {
  await prepareTestDatabase()
  return createDb(TEST_DATABASE_URL, { max })
}

/** Ids that never collide between tests sharing the database. */
export function uniqueId(prefix: string): string {
  return `${prefix}-${crypto.randomUUID().slice(0, 8)}`
}
