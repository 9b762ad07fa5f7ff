// Tokenizer bench (`bun run bench:tokenizer`): what a count costs inline vs handed to a pool thread, and /healthz's lag
// while a 10 MB prompt is counted inline, on the token pool, and by the gateway's chat path.
import { readFileSync, readdirSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import Redis from 'ioredis'
import { countTextTokens } from '../src/metering/tokenizer'
import type { CountJob, CountReply } from '../src/metering/token-pool'
import { installCleanup, killChildren, startGateway, startMock, stopChild } from './lib-proc'
import { prepareStores, type Stores } from './lib-stores'

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    chars: { type: 'string', default: '10000000' },
    'skip-threshold': { type: 'boolean', default: false },
    'skip-gateway': { type: 'boolean', default: false },
  },
})
const runs = Number(args.runs)
const bigChars = Number(args.chars)
const ROOT = new URL('..', import.meta.url).pathname
const log = (line: string) => process.stderr.write(`[tokenizer] ${line}\n`)

// Prose and code from this repository: token density like real prompts, unlike one word repeated.
const corpus = ['README.md', 'bench/README.md', ...readdirSync(join(ROOT, 'src/modules/chat')).map((f) => `src/modules/chat/${f}`)]
  .map((f) => readFileSync(join(ROOT, f), 'utf8'))
  .join('\n')
/** `chars` of corpus starting at a salt-dependent offset, so no two texts are equal (no count cache helps). */
function text(chars: number, salt: number): string {
  const offset = (salt * 7_919) % corpus.length
  const source = corpus.slice(offset) + corpus
  return `${salt} ${source.repeat(Math.ceil(chars / source.length) + 1)}`.slice(0, chars)
}

/** CPU time of this process's main thread in ms (Linux schedstat, nanoseconds): the event loop's own bill. */
function mainThreadCpuMs(): number {
  return Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]) / 1e6
}

async function threshold() {
  // The pool's own worker script and protocol, driven directly so sizes below OFF_THREAD_MIN_CHARS can be priced too.
  const worker = new Worker(new URL('../src/metering/token-worker.ts', import.meta.url).href)
  const pending = new Map<number, (tokens: number) => void>()
  worker.onmessage = (event: MessageEvent<CountReply>) => {
    const reply = event.data
    if ('tokens' in reply) pending.get(reply.id)?.(reply.tokens)
    pending.delete(reply.id)
  }
  let nextId = 0
  const handOff = (t: string) =>
    new Promise<number>((resolve) => {
      const id = nextId++
      pending.set(id, resolve)
      worker.postMessage({ id, text: t } satisfies CountJob)
    })
  await handOff('warm up the worker')
  const rows = []
  for (const size of [64, 256, 512, 1_000, 4_000, 16_000, 64_000, 256_000, 1_000_000]) {
    const texts = Array.from({ length: 8 }, (_, i) => text(size, i))
    for (const t of texts) countTextTokens(t)
    let reps = 0
    let started = performance.now()
    while (performance.now() - started < 400 || reps < 3) countTextTokens(texts[reps++ % texts.length]!)
    const inlineMs = (performance.now() - started) / reps
    // Main-thread CPU per hand-off, 16 in flight at a time as on a busy gateway (the worker's counting is not ours).
    const cpuBefore = mainThreadCpuMs()
    for (let done = 0; done < reps; done += 16) await Promise.all(Array.from({ length: Math.min(16, reps - done) }, (_, i) => handOff(texts[(done + i) % texts.length]!)))
    const handOffCpuMs = (mainThreadCpuMs() - cpuBefore) / reps
    // Latency one count adds to its request: post, count on an idle thread, reply.
    const roundTrips = Math.min(reps, 200)
    started = performance.now()
    for (let i = 0; i < roundTrips; i++) await handOff(texts[i % texts.length]!)
    const roundTripMs = (performance.now() - started) / roundTrips
    const row = { chars: size, reps, inlineMs: +inlineMs.toFixed(4), handOffMainThreadCpuMs: +handOffCpuMs.toFixed(4), roundTripMs: +roundTripMs.toFixed(4) }
    log(JSON.stringify(row))
    rows.push(row)
  }
  worker.terminate()
  return rows
}

interface Lag {
  probes: number
  p50Ms: number
  p99Ms: number
  maxMs: number
}

/** Sequential GET /healthz until `work` settles: how long the server's event loop kept a trivial request waiting. */
async function probeWhile(port: number, work: Promise<unknown>): Promise<Lag> {
  let settled = false
  void work.finally(() => (settled = true)).catch(() => {})
  const latencies: number[] = []
  do {
    const started = performance.now()
    await (await fetch(`http://127.0.0.1:${port}/healthz`)).arrayBuffer()
    latencies.push(performance.now() - started)
  } while (!settled)
  latencies.sort((a, b) => a - b)
  const at = (q: number) => +latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!.toFixed(2)
  return { probes: latencies.length, p50Ms: at(0.5), p99Ms: at(0.99), maxMs: +latencies.at(-1)!.toFixed(2) }
}

async function lagOfCountServer() {
  const server = await startMock('bench/lib-count-server.ts')
  const results: Record<string, (Lag & { countMs: number; tokens: number })[]> = { inline: [], pool: [] }
  try {
    const idle = await probeWhile(server.port, Bun.sleep(1_000))
    log(`count server idle /healthz: ${JSON.stringify(idle)}`)
    for (let run = 0; run < runs; run++) {
      for (const mode of ['inline', 'pool'] as const) {
        const body = text(bigChars, 100 + run)
        const counted = fetch(`http://127.0.0.1:${server.port}/count?mode=${mode}`, { method: 'POST', body }).then((r) => r.json() as Promise<{ tokens: number; ms: number }>)
        const lag = await probeWhile(server.port, counted)
        const { tokens, ms } = await counted
        results[mode]!.push({ ...lag, countMs: Math.round(ms), tokens })
        log(`${mode} run ${run + 1}: ${bigChars} chars, ${tokens} tokens in ${Math.round(ms)} ms; /healthz ${JSON.stringify(lag)}`)
      }
    }
    return { idle, ...results }
  } finally {
    await stopChild(server.child)
  }
}

async function lagOfGateway() {
  const stores: Stores = { databaseUrl: 'postgres://postgres@127.0.0.1:5432/meterway_bench_capacity', redisUrl: 'redis://127.0.0.1:6379/14', owned: false }
  await prepareStores(stores)
  const mock = await startMock()
  const gateway = await startGateway(mock.port, 'warn', { ROLE: 'api', DATABASE_URL: stores.databaseUrl, REDIS_URL: stores.redisUrl, QUEUE_PREFIX: '{mwtok}' })
  const rows = []
  try {
    // The largest prompt MAX_BODY_BYTES (10 MiB) lets through, with room for the JSON around it.
    const chars = Math.min(bigChars, 9_900_000)
    for (let run = 0; run < runs; run++) {
      const body = JSON.stringify({ model: 'openai/gpt-4o', messages: [{ role: 'user', content: text(chars, 200 + run) }] })
      const started = performance.now()
      const answered = fetch(`http://127.0.0.1:${gateway.port}/v1/chat/completions`, { method: 'POST', headers: { authorization: 'Bearer bench-key', 'content-type': 'application/json' }, body }).then(async (r) => ({ status: r.status, body: await r.text() }))
      const lag = await probeWhile(gateway.port, answered)
      const { status, body: answer } = await answered
      rows.push({ ...lag, status, ms: Math.round(performance.now() - started) })
      log(`gateway run ${run + 1}: ${chars}-char prompt → ${status} in ${Math.round(performance.now() - started)} ms (${answer.slice(0, 120)}); /healthz ${JSON.stringify(lag)}`)
    }
    return rows
  } finally {
    await stopChild(gateway.child)
    await stopChild(mock.child)
    const redis = new Redis(stores.redisUrl)
    const keys = await redis.keys('{mwtok}:*')
    if (keys.length > 0) await redis.unlink(...keys)
    redis.disconnect()
  }
}

installCleanup()
const report = {
  threshold: args['skip-threshold'] ? null : await threshold(),
  countServer: await lagOfCountServer(),
  gatewayChatPath: args['skip-gateway'] ? null : await lagOfGateway(),
}
killChildren()
mkdirSync(join(ROOT, 'bench/results'), { recursive: true })
writeFileSync(join(ROOT, 'bench/results/tokenizer.json'), `${JSON.stringify(report, null, 2)}\n`)
console.log(JSON.stringify(report, null, 2))
process.exit(0)
