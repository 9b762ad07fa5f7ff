// usage_events' monthly partitions: create the coming months, list them, and drop those past retention.
import type { Sql } from '../../lib/db'

export interface MonthPartition {
  name: string
  /** The first instant of its month (UTC). */
  month: Date
}

const PARTITION_NAME = /^usage_events_(\d{4})_(\d{2})$/

/** Makes sure the partitions of `months` months from the month of `from` exist (usage_events_ensure_month, 009). */
export async function ensureMonthPartitions(sql: Sql, from: Date, months: number): Promise<void> {
  for (let i = 0; i < months; i++) {
    const month = new Date(Date.UTC(from.getUTCFullYear(), from.getUTCMonth() + i, 1))
    await sql`SELECT usage_events_ensure_month(${month.toISOString().slice(0, 10)}::date)`
  }
}

export async function monthPartitions(sql: Sql): Promise<MonthPartition[]> {
  const rows = await sql<{ name: string }[]>`
    SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
    WHERE i.inhparent = 'usage_events'::regclass ORDER BY c.relname`
  const partitions: MonthPartition[] = []
  for (const { name } of rows) {
    const match = PARTITION_NAME.exec(name)
    if (match) partitions.push({ name, month: new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, 1)) })
  }
  return partitions
}

/** Postpaid rows of a partition that Stripe has not been told about yet: dropping them would lose billable usage. */
export async function unreportedRows(sql: Sql, partition: string): Promise<number> {
  const [row] = await sql<{ n: number }[]>`
    SELECT count(*)::int AS n FROM ${sql(partition)} WHERE report_batch_id IS NULL AND money_mode <> 'prepaid' AND cost_nano > 0`
  return row?.n ?? 0
}

export async function dropPartition(sql: Sql, partition: string): Promise<void> {
  if (!PARTITION_NAME.test(partition)) throw new Error(`not a usage_events month partition: ${partition}`)
  await sql`DROP TABLE ${sql(partition)}`
}

/** Rows that fell outside every month partition (the keeper did not run for a year): they are kept, and said. */
export async function defaultPartitionRows(sql: Sql): Promise<number> {
  const [row] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM usage_events_default`
  return row?.n ?? 0
}
