// Dates reach Postgres as it reads them, years past 9999 included (the end of the report month 9999-12).
import { afterAll, expect, test } from 'bun:test'
import { toPostgresTimestamp } from '../../src/lib/db'
import { testDb } from '../helpers/db'

const sql = await testDb(1)
afterAll(() => sql.end())

test('toPostgresTimestamp drops the sign and padding toISOString gives years past 9999', () => {
  expect(toPostgresTimestamp(new Date(Date.UTC(2025, 2, 1)))).toBe('2025-03-01T00:00:00.000Z')
  expect(toPostgresTimestamp(new Date(Date.UTC(10000, 0, 1)))).toBe('10000-01-01T00:00:00.000Z')
})

test('a date in year 10000 is a query parameter Postgres accepts', async () => {
  const end = new Date(Date.UTC(10000, 0, 1))
  const [row] = await sql<{ after: boolean; year: number }[]>`SELECT ${end} > now() AS after, extract(year FROM ${end}::timestamptz)::int AS year`
  expect(row).toEqual({ after: true, year: 10000 })
})
