// Benchmark of admission alone: the Lua round trips (admit + settle) per request, by money mode, against the local Redis.
import { createDb } from '../src/lib/db'
import { createLogger } from '../src/lib/logger'
import { createRedis } from '../src/lib/redis'
import { createHotRedis } from '../src/lib/hot-redis'
import { Admission, type MoneyMode } from '../src/limits/admission'
import { subjectKeys } from '../src/limits/keys'
import { migrate } from '../src/db/migrate'

const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/15'
const DATABASE_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/meterway_bench'
const SEQUENTIAL = 5_000
const CONCURRENT = 50_000
const CONCURRENCY = 32

const redis = createRedis(REDIS_URL)
await redis.connect()
const sql = createDb(DATABASE_URL, { max: 2 })
await migrate(sql)
const hot = createHotRedis(REDIS_URL)
await hot.ready
const admission = new Admission(hot, sql, { defaultRpm: 100_000_000, defaultTpm: 1_000_000_000, holdTtlMs: 600_000, onRedisError: 'deny', queuePrefix: '{mwbench}' }, createLogger('warn'))

/** A loaded wallet with plenty of money, so every admission passes and measures the full path. */
async function subjectFor(mode: MoneyMode): Promise<string> {
  const subject = `bench-${mode}-${crypto.randomUUID().slice(0, 8)}`
  const month = new Date().toISOString().slice(0, 7)
  await redis.hset(subjectKeys(subject).wallet, { loaded: '1', avail: '1000000000000000', held: '0', spent: '0', month, seq: '0' })
  return subject
}

async function one(subject: string, mode: MoneyMode, n: number): Promise<void> {
  const requestId = `req_${subject}_${n}`
  const ticket = await admission.admit({
    requestId, subject, accountId: subject, limits: { rpm: null, tpm: null }, mode,
    capNano: mode === 'cap' ? 1_000_000_000_000_000n : null, holdNano: 207_500n, chargeTokens: 40,
  })
  await admission.settle(ticket, 147_500, 29, null)
}

const cpu = () => {
  const { user, system } = process.cpuUsage()
  return user + system
}
const redisCpuMs = async () => {
  const info = await redis.info('cpu')
  const value = (name: string) => Number(new RegExp(`${name}:([\\d.]+)`).exec(info)?.[1] ?? 0)
  return (value('used_cpu_sys') + value('used_cpu_user')) * 1000
}

console.log(`admission bench: admit + settle per request (2 Redis round trips), ${REDIS_URL}`)
for (const mode of ['none', 'prepaid', 'cap'] as const) {
  const subject = await subjectFor(mode)
  for (let i = 0; i < 500; i++) await one(subject, mode, -i - 1)
  let started = performance.now()
  for (let i = 0; i < SEQUENTIAL; i++) await one(subject, mode, i)
  const latencyUs = ((performance.now() - started) * 1000) / SEQUENTIAL

  const cpu0 = cpu()
  const redis0 = await redisCpuMs()
  started = performance.now()
  let next = SEQUENTIAL
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < SEQUENTIAL + CONCURRENT) await one(subject, mode, next++)
  }))
  const seconds = (performance.now() - started) / 1000
  const gatewayCpuUs = (cpu() - cpu0) / CONCURRENT
  const redisCpuUs = ((await redisCpuMs()) - redis0) * 1000 / CONCURRENT
  console.log(
    `${mode.padEnd(8)} sequential: ${latencyUs.toFixed(0)} µs per admit+settle | ${CONCURRENCY} at once: ${Math.round(CONCURRENT / seconds).toLocaleString()} req/s, ` +
      `client CPU ${gatewayCpuUs.toFixed(1)} µs/req, Redis CPU ${redisCpuUs.toFixed(1)} µs/req`,
  )
  const keys = subjectKeys(subject)
  await redis.del(keys.limits, keys.wallet, keys.holds, keys.holdExpiry, keys.unposted)
}
await sql.end()
redis.disconnect()
// The request path's connection stays open (and keeps the process alive) until it is closed.
hot.close()
