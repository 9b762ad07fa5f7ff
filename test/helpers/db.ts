// Test databases: one per test run (meterway_test_<pid>), so runs on one machine never pull each other's away;
// and empty, private ones for files that need a database no other file writes to.
import postgres from 'postgres'
import { migrate } from '../../src/db/migrate'
import { insertAccount } from '../../src/db/queries/accounts'
import { insertCredit } from '../../src/db/queries/ledger'
import { createDb, type Sql } from '../../src/lib/db'

const SERVER = 'postgres://postgres@127.0.0.1:5432'
const RUN_PREFIX = 'meterway_test_'

/** This run's queues: test runs side by side on one Redis (CI beside a session) never take each other's jobs. */
export const TEST_QUEUE_PREFIX = `{mwt${process.pid}}`

/** This run's database; child processes get it through DATABASE_URL. */
export const TEST_DATABASE_URL = `${SERVER}/${RUN_PREFIX}${process.pid}`

function adminConnection() {
  return postgres(`${SERVER}/postgres`, { max: 1, onnotice: () => {} })
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** Creates (after dropping any leftover of that name) and migrates a database; returns its URL. */
async function freshDatabase(name: string): Promise<string> {
  const admin = adminConnection()
  try {
    await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
    await admin.unsafe(`CREATE DATABASE ${name}`)
  } finally {
    await admin.end()
  }
  const url = `${SERVER}/${name}`
  const sql = createDb(url, { max: 1 })
  try {
    await migrate(sql)
  } finally {
    await sql.end()
  }
  return url
}

/** Drops the run databases (and private ones) of test processes that are gone: nothing outlives its run for long. */
async function sweepStaleDatabases(): Promise<void> {
  const admin = adminConnection()
  try {
    const rows = await admin<{ datname: string }[]>`SELECT datname FROM pg_database WHERE datname ~ '^meterway_(test|private)_[0-9]+'`
    for (const { datname } of rows) {
      const pid = Number(/_(\d+)/.exec(datname)![1])
      if (pid !== process.pid && !processAlive(pid)) await admin.unsafe(`DROP DATABASE IF EXISTS ${datname} WITH (FORCE)`)
    }
  } finally {
    await admin.end()
  }
}

let ready: Promise<void> | null = null

/** Creates and migrates this run's database, once per process. */
export function prepareTestDatabase(): Promise<void> {
  ready ??= (async () => {
    await sweepStaleDatabases()
    await freshDatabase(`${RUN_PREFIX}${process.pid}`)
  })()
  return ready
}

/** A client of this run's migrated database; the caller ends it. */
export async function testDb(max = 4): Promise<Sql> {
  await prepareTestDatabase()
  return createDb(TEST_DATABASE_URL, { max })
}

export interface PrivateDatabase {
  url: string
  sql: Sql
  /** Ends the client and drops the database. */
  drop(): Promise<void>
}

/** An empty, migrated database for one test file (e.g. reporting that must see only its own usage rows). */
export async function privateTestDb(label: string, max = 4): Promise<PrivateDatabase> {
  if (!/^[a-z]+$/.test(label)) throw new Error('label: lowercase letters only')
  const name = `meterway_private_${process.pid}_${label}`
  const url = await freshDatabase(name)
  const sql = createDb(url, { max })
  return {
    url,
    sql,
    async drop() {
      await sql.end()
      const admin = adminConnection()
      await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).finally(() => admin.end())
    },
  }
}

/** Ids that never collide between tests sharing the database. */
export function uniqueId(prefix: string): string {
  return `${prefix}-${crypto.randomUUID().slice(0, 8)}`
}

/** A registered-agent account on prepaid billing with one ledger credit (tests of wallets below the HTTP layer). */
export async function prepaidAccount(sql: Sql, label: string, creditNano: bigint): Promise<string> {
  const id = uniqueId(label)
  await insertAccount(sql, { id, name: label, description: '', capabilities: [] })
  await sql`UPDATE accounts SET billing_mode = 'prepaid' WHERE id = ${id}`
  await insertCredit(sql, id, creditNano, `credit:${id}`, 'test')
  return id
}
