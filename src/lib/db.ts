// The Postgres client (postgres.js), created once per process with a bounded pool.
import postgres from 'postgres'

export type Sql = ReturnType<typeof postgres>
/** A pool or an open transaction: what query functions take, so they compose inside `sql.begin`. */
export type Queryable = Sql | postgres.TransactionSql

/**
 * Dates as Postgres reads them. postgres.js sends toISOString(), which writes years past 9999 as "+010000-…", and
 * Postgres refuses that sign; the end of the month 9999-12 (a valid report period) is such a date.
 */
export function toPostgresTimestamp(value: Date | string | number): string {
  const iso = (value instanceof Date ? value : new Date(value)).toISOString()
  return iso.startsWith('+') ? iso.slice(1).replace(/^0+(?=\d{5})/, '') : iso
}

const TIMESTAMPTZ_OID = 1184

export function createDb(url: string, options: { max?: number } = {}): Sql {
  return postgres(url, {
    max: options.max ?? 10,
    idle_timeout: 30,
    connect_timeout: 5,
    // Notices are not errors; keep them out of the logs.
    onnotice: () => {},
    // Only how dates are sent changes; no `from` types, so how Postgres's timestamps are read stays postgres.js's own.
    types: { timestamp: { to: TIMESTAMPTZ_OID, from: [], serialize: toPostgresTimestamp, parse: (text: string) => new Date(text) } },
  })
}
