// Benchmark of webhook delivery: N events to one local receiver through the real queue, worker, signing and pinned fetch.
import { Queue } from 'bullmq'
import { insertAccount } from '../src/db/queries/accounts'
import { insertEndpoint } from '../src/db/queries/webhooks'
import { migrate } from '../src/db/migrate'
import { createDb } from '../src/lib/db'
import { createLogger } from '../src/lib/logger'
import { generateSecret } from '../src/modules/webhooks/signing'
import { WEBHOOKS_QUEUE } from '../src/modules/webhooks/queue'
import { emitEvent } from '../src/modules/webhooks/service'
import { startWebhookWorker } from '../workers/webhooks'

const EVENTS = Number(process.argv.find((a) => a.startsWith('--events='))?.slice(9) ?? 5_000)
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/15'
const DATABASE_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/meterway_bench'
const prefix = `{mwbench-hooks-${crypto.randomUUID().slice(0, 8)}}`

const sql = createDb(DATABASE_URL, { max: 8 })
await migrate(sql)
let received = 0
const receiver = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: async (request) => (await request.text(), received++, new Response('ok')) })

const accountId = `bench-hooks-${crypto.randomUUID().slice(0, 8)}`
await insertAccount(sql, { id: accountId, name: 'Bench', description: '', capabilities: [] })
await insertEndpoint(sql, {
  id: `we_bench${crypto.randomUUID().replaceAll('-', '').slice(0, 16)}`,
  owner: { accountId, projectId: null, mode: null },
  url: `http://127.0.0.1:${receiver.port}/hooks`,
  enabledEvents: ['wallet.credited'],
  secret: generateSecret(),
})
const queue = new Queue(WEBHOOKS_QUEUE, { connection: { url: REDIS_URL }, prefix })

console.log(`webhook bench: ${EVENTS.toLocaleString()} events → one local receiver (http, loopback allowed)`)
let started = performance.now()
for (let i = 0; i < EVENTS; i += 100) {
  await Promise.all(
    Array.from({ length: Math.min(100, EVENTS - i) }, (_, j) =>
      emitEvent(sql, queue, { accountId, type: 'wallet.credited', data: { amount_usd: '1.00', n: i + j } }),
    ),
  )
}
console.log(`emitted (stored + queued): ${Math.round(EVENTS / ((performance.now() - started) / 1000)).toLocaleString()} events/s`)

started = performance.now()
const cpu0 = process.cpuUsage()
const worker = startWebhookWorker({ redis: REDIS_URL, sql, logger: createLogger('warn'), allowHttpLoopback: true, prefix })
while (received < EVENTS) await Bun.sleep(20)
const seconds = (performance.now() - started) / 1000
const cpu = process.cpuUsage(cpu0)
console.log(
  `delivered: ${Math.round(EVENTS / seconds).toLocaleString()} deliveries/s (signed, SSRF-checked, pinned, logged), ` +
    `${((cpu.user + cpu.system) / EVENTS).toFixed(0)} µs CPU per delivery in this process (worker + receiver)`,
)

await worker.close()
await queue.obliterate({ force: true })
await queue.close()
await sql`DELETE FROM webhook_deliveries WHERE endpoint_id IN (SELECT id FROM webhook_endpoints WHERE account_id = ${accountId})`
await sql`DELETE FROM webhook_events WHERE account_id = ${accountId}`
await sql`DELETE FROM webhook_endpoints WHERE account_id = ${accountId}`
await sql`DELETE FROM accounts WHERE id = ${accountId}`
await sql.end()
receiver.stop(true)
