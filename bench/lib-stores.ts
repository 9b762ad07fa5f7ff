// Bench isolation from the shared dev stores: its own Postgres database and Redis db, and CPU of the store servers.
import { readdirSync, readFileSync } from 'node:fs'
import Redis from 'ioredis'
import postgres from 'postgres'
import { staticPrincipals } from '../src/modules/auth/service'
import { STATIC_KEY } from './lib-methods'
import { clockTicksPerSecond } from './lib-proc'

/**
 * The gateway migrates its database at boot and pushes every request's usage to Redis (and with ROLE=all writes
 * them to Postgres). A bench run makes hundreds of thousands of requests: pointed at the dev database and Redis db 0,
 * it would fill them with bench usage and could record a half-written migration there. So it gets its own.
 */
const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/meterway_bench'
const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379/15'
/** BullMQ's key prefix in the gateway (src/lib/queues.ts). */
const QUEUE_KEYS = '{mw}:*'

export interface Stores {
  databaseUrl: string
  redisUrl: string
  /** Only stores the bench chose itself are emptied; one named by BENCH_* may hold someone's data. */
  owned: boolean
}

export function benchStores(): Stores {
  const databaseUrl = process.env.BENCH_DATABASE_URL ?? DEFAULT_DATABASE_URL
  const redisUrl = process.env.BENCH_REDIS_URL ?? DEFAULT_REDIS_URL
  return { databaseUrl, redisUrl, owned: databaseUrl === DEFAULT_DATABASE_URL && redisUrl === DEFAULT_REDIS_URL }
}

/** Creates the bench database if missing and, for the bench's own stores, empties what earlier runs left. */
export async function prepareStores(stores: Stores): Promise<void> {
  const target = new URL(stores.databaseUrl)
  const name = decodeURIComponent(target.pathname.slice(1))
  const admin = new URL(stores.databaseUrl)
  admin.pathname = '/postgres'
  const sql = postgres(admin.toString(), { max: 1, onnotice: () => {} })
  try {
    const found = await sql`SELECT 1 FROM pg_database WHERE datname = ${name}`
    if (found.length === 0) await sql.unsafe(`CREATE DATABASE "${name.replaceAll('"', '""')}"`)
  } finally {
    await sql.end({ timeout: 5 })
  }
  if (!stores.owned) return
  const db = postgres(stores.databaseUrl, { max: 1, onnotice: () => {} })
  try {
    const [row] = await db<{ exists: boolean }[]>`SELECT to_regclass('public.usage_events') IS NOT NULL AS exists`
    if (row?.exists) await db`TRUNCATE usage_events`
  } finally {
    await db.end({ timeout: 5 })
  }
  await dropBenchKeys(stores)
}

/**
 * What earlier runs left in Redis besides the queue: the bench's own subjects (agents named bench-run-*, the static
 * key's buckets, end users' session wallets, which only the bench makes in this db) with their wallets, holds and the
 * open records ROLE=api never posts, and the sweeper index of the `{mw}` prefix. Only these: db 15 is shared with other
 * benches and profiling runs (with other queue prefixes).
 */
const BENCH_SUBJECT_KEYS = ['{a:bench-run-*', `{a:${staticPrincipals([STATIC_KEY]).values().next().value!.keyId}}:*`, '{a:wallet:*', '{mw:open:*']

/** Everything the bench's gateways wrote to Redis; at the start and the end of a run (tens of MB per run otherwise). */
export function dropBenchKeys(stores: Stores): Promise<number> {
  return deleteKeys(stores, [QUEUE_KEYS, ...BENCH_SUBJECT_KEYS])
}

/** Drops the gateway's BullMQ keys from the bench Redis db, the usage inbox among them, so unprocessed usage does not pile up across runs. */
export function clearQueues(stores: Stores): Promise<number> {
  return deleteKeys(stores, [QUEUE_KEYS])
}

async function deleteKeys(stores: Stores, patterns: string[]): Promise<number> {
  if (!stores.owned) return 0
  const redis = new Redis(stores.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 })
  let removed = 0
  try {
    await redis.connect()
    for (const pattern of patterns) {
      let cursor = '0'
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000)
        cursor = next
        if (keys.length > 0) removed += await redis.unlink(...keys)
      } while (cursor !== '0')
    }
  } finally {
    redis.disconnect()
  }
  return removed
}

/** Summed utime+stime (seconds) of every process whose name is one of `names`, e.g. all Postgres backends. */
export function cpuSecondsByName(names: readonly string[]): number {
  let ticks = 0
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    let stat: string
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
    } catch {
      continue // exited meanwhile
    }
    const open = stat.indexOf('(')
    const close = stat.lastIndexOf(')')
    if (!names.includes(stat.slice(open + 1, close))) continue
    const rest = stat.slice(close + 2).split(' ')
    ticks += Number(rest[14 - 3]) + Number(rest[15 - 3])
  }
  return ticks / clockTicksPerSecond()
}

export const REDIS_PROCESSES = ['redis-server'] as const
export const POSTGRES_PROCESSES = ['postgres'] as const
