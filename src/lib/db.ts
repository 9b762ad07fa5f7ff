// The Postgres client (postgres.js), created once per process with a bounded pool.
import postgres from 'postgres'

export type Sql = ReturnType<typeof postgres>
/** A pool or an open transaction: what query functions take, so they compose inside `sql.begin`. */
export type Queryable = Sql | postgres.TransactionSql

export function createDb(url: string, options: { max?: number } = {}): Sql {
  return postgres(url, {
    max: options.max ?? 10,
    idle_timeout: 30,
    connect_timeout: 5,
    // Notices are not errors; keep them out of the logs.
    onnotice: () => {},
  })
}
