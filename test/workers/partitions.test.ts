// usage_events by month: the migration moves existing rows into month partitions, replays stay single, and the keeper creates and drops months.
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { copyFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { migrate } from '../../src/db/migrate'
import { monthPartitions } from '../../src/db/queries/partitions'
import { insertUsageEvents } from '../../src/db/queries/usage'
import { createLogger } from '../../src/lib/logger'
import { keepPartitions, MONTHS_AHEAD } from '../../workers/partitions'
import { privateTestDb, type PrivateDatabase } from '../helpers/db'
import { usageRecord } from './usage-records'

const MIGRATIONS = join(import.meta.dir, '..', '..', 'src', 'db', 'migrations')
const PARTITIONING = '009_usage_partitions.sql'
let db: PrivateDatabase
let before: string

beforeAll(async () => {
  db = await privateTestDb('partitions')
  // privateTestDb migrates everything: start over with the schema as it was before partitioning.
  await db.sql.unsafe('DROP SCHEMA public CASCADE; CREATE SCHEMA public')
  before = mkdtempSync(join(tmpdir(), 'mw-migrations-'))
  for (const name of readdirSync(MIGRATIONS)) if (name < PARTITIONING) copyFileSync(join(MIGRATIONS, name), join(before, name))
  await migrate(db.sql, before)
})
afterAll(async () => {
  rmSync(before, { recursive: true, force: true })
  await db.drop()
})

const at = (iso: string) => usageRecord({ startedAt: iso })

test('the migration moves every existing row into its month, and a replayed record is still one row', async () => {
  const old = [at('2026-01-31T23:59:59.999Z'), at('2026-02-01T00:00:00.000Z'), at('2026-02-14T12:00:00.000Z'), at('2026-11-30T08:00:00.000Z')]
  expect(await insertUsageEvents(db.sql, old)).toBe(4)
  const applied = await migrate(db.sql)
  expect(applied.applied).toContain(PARTITIONING)

  const placed = await db.sql<{ request_id: string; partition: string }[]>`SELECT request_id, tableoid::regclass::text AS partition FROM usage_events`
  const where = new Map(placed.map((row) => [row.request_id, row.partition]))
  expect(where.get(old[0]!.requestId)).toBe('usage_events_2026_01')
  expect(where.get(old[1]!.requestId)).toBe('usage_events_2026_02')
  expect(where.get(old[2]!.requestId)).toBe('usage_events_2026_02')
  expect(where.get(old[3]!.requestId)).toBe('usage_events_2026_11')
  // A retried job carries the same request id and the same started_at: nothing is inserted twice.
  expect(await insertUsageEvents(db.sql, old)).toBe(0)
  expect(await insertUsageEvents(db.sql, [old[0]!, at(new Date().toISOString())])).toBe(1)
  const [count] = await db.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM usage_events`
  expect(count!.n).toBe(5)
  // Every month from the oldest row to a year ahead exists.
  const months = (await monthPartitions(db.sql)).map((p) => p.name)
  expect(months[0]).toBe('usage_events_2026_01')
  expect(months.length).toBeGreaterThanOrEqual(12 + 12)
})

test('the keeper creates the coming months and drops months past retention, but never unreported postpaid usage', async () => {
  const logger = createLogger('silent')
  const now = new Date('2026-12-15T10:00:00Z')
  // 2026-03 holds a postpaid row Stripe was never told about; 2026-04 only prepaid usage (paid from a wallet, not reported).
  await insertUsageEvents(db.sql, [usageRecord({ startedAt: '2026-03-10T00:00:00Z', moneyMode: 'cap', costNano: 5_000 })])
  await insertUsageEvents(db.sql, [usageRecord({ startedAt: '2026-04-10T00:00:00Z', moneyMode: 'none', costNano: 0 })])

  const run = await keepPartitions({ sql: db.sql, logger, retentionMonths: 6 }, now)
  // Kept: 2026-06 onwards (six whole months before December), and the months whose postpaid usage still owes Stripe:
  // 2026-03, and 2026-01/02 (the first test's rows, postpaid and never reported). 2026-04 (free usage) and 2026-05 go.
  expect(run.dropped).toEqual(['usage_events_2026_04', 'usage_events_2026_05'])
  expect(run.kept).toEqual(['usage_events_2026_01', 'usage_events_2026_02', 'usage_events_2026_03'])
  // Once reported, a month past retention goes at the next run.
  await db.sql`UPDATE usage_events SET report_batch_id = 'batch_test' WHERE started_at < '2026-03-01'`
  expect((await keepPartitions({ sql: db.sql, logger, retentionMonths: 6 }, now)).dropped).toEqual(['usage_events_2026_01', 'usage_events_2026_02'])
  const months = (await monthPartitions(db.sql)).map((p) => p.name)
  expect(months).toContain('usage_events_2026_03')
  expect(months).toContain('usage_events_2026_06')
  expect(months).not.toContain('usage_events_2026_05')
  expect(months.at(-1)).toBe(`usage_events_2027_${String(12).padStart(2, '0')}`)
  expect(months.length).toBeGreaterThanOrEqual(MONTHS_AHEAD + 1)

  // Retention 0 keeps everything.
  expect(await keepPartitions({ sql: db.sql, logger, retentionMonths: 0 }, now)).toEqual({ dropped: [], kept: [] })
})
