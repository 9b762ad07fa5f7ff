// `bun run bench:ab`: gateway variants (other checkouts, other settings) measured in turns beside the floor, so a noisy machine moves them all alike.
// Usage: bun bench/ab.ts [--kind json|stream|paced] [--method static|postpaid|prepaid] [--rounds 5] [--duration 6] [--warmup 15] [--ttfb N]
//                        <variant> <variant> …   where a variant is `name` plus any of `root=<checkout>` and `ENV=value`, comma-separated:
//   bun bench/ab.ts before,root=../before after                       # two checkouts (git worktree add ../before HEAD~1)
//   bun bench/ab.ts --kind stream on off,METER_CROSSCHECK_RATE=0       # one checkout, two settings
//   bun bench/ab.ts base tuned,MIMALLOC_PURGE_DELAY=-1 floor-tuned,floor=1,MIMALLOC_PURGE_DELAY=-1   # `floor=1`: another floor
//   bun bench/ab.ts --rounds 1 prof,bun=--cpu-prof-md,bun=--cpu-prof-dir=/tmp/prof   # a profile, written when it stops (floor=1 too)
//   bun bench/ab.ts --ttfb 2000 --method prepaid base,root=../before after   # time to first byte at concurrency 1, in turns, no load
//   bun bench/ab.ts --kind stream static paid,method=prepaid                   # `method=`: this variant's payment method
//   bun bench/ab.ts --together base,root=../before after   # every relay loaded at once (--connections each): a noisy spell falls on all alike
import { parseArgs } from 'node:util'
import type { Subprocess } from 'bun'
import { measureTtfbInTurns, runLoad } from './lib-load'
import { ADMIN_TOKEN, METHODS, methodKeys, STATIC_KEY, target, type Method } from './lib-methods'
import { median, roundByRound } from './lib-measure'
import type { Kind } from './lib-options'
import { cpuSeconds, cpuSplitSeconds, installCleanup, syscallCounts, threadCpuSeconds, threadMinorFaults, minorFaults, startFloor, startGateway, startMock, stopChild, type Gateway } from './lib-proc'
import { benchStores, clearQueues, dropBenchKeys, prepareStores } from './lib-stores'

const { values: o, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    kind: { type: 'string', default: 'json' },
    method: { type: 'string', default: 'static' },
    rounds: { type: 'string', default: '5' },
    duration: { type: 'string', default: '6' },
    warmup: { type: 'string', default: '15' },
    connections: { type: 'string', default: '50' },
    ttfb: { type: 'string', default: '0' },
    together: { type: 'boolean', default: false },
  },
})
const kind = o.kind as Kind
const method = o.method as Method
if (!['json', 'stream', 'paced'].includes(kind) || !(METHODS as readonly string[]).includes(method) || positionals.length === 0) {
  console.error('usage: bun bench/ab.ts [--kind json|stream|paced] [--method static|postpaid|prepaid] [--rounds 5] [--duration 6] [--warmup 15] [--ttfb N] [--together] <name[,root=dir][,method=m][,ENV=value…]> …')
  process.exit(2)
}
const [rounds, duration, warmup, connections] = [o.rounds, o.duration, o.warmup, o.connections].map(Number) as [number, number, number, number]

interface Variant {
  name: string
  root: string | undefined
  env: Record<string, string>
  /** Flags for bun itself (`bun=…`, repeatable). */
  bunFlags: string[]
  /** `floor=1`: this variant is another floor (bench/floor.ts) with these settings, not a gateway. */
  floor: boolean
  /** `method=…`: this variant is called with that payment method's key (default: --method). */
  method: Method
}
const variants: Variant[] = positionals.map((spec) => {
  const [name, ...settings] = spec.split(',')
  const variant: Variant = { name: name!, root: undefined, env: {}, bunFlags: [], floor: false, method }
  for (const setting of settings) {
    const at = setting.indexOf('=')
    const key = setting.slice(0, at)
    if (key === 'root') variant.root = setting.slice(at + 1)
    else if (key === 'bun') variant.bunFlags.push(setting.slice(at + 1))
    else if (key === 'floor') variant.floor = setting.slice(at + 1) === '1'
    else if (key === 'method') {
      const named = setting.slice(at + 1)
      if (!(METHODS as readonly string[]).includes(named)) {
        console.error(`${name}: method= takes one of ${METHODS.join(', ')}, got ${JSON.stringify(named)}`)
        process.exit(2)
      }
      variant.method = named as Method
    }
    else variant.env[key] = setting.slice(at + 1)
  }
  return variant
})

installCleanup()
const stores = benchStores()
await prepareStores(stores)
const mock = await startMock()
const relays: { name: string; pid: number; port: number; key: string | null }[] = []
const gateways: Gateway[] = []
/** Floors of `floor=1` variants, stopped in order too (a profiling floor writes its profile as it exits). */
const floors: Subprocess[] = []
const floor = await startFloor(mock.port)
relays.push({ name: 'floor', pid: floor.child.pid, port: floor.port, key: null })
for (const variant of variants) {
  if (variant.floor) {
    const other = await startFloor(mock.port, variant.env, variant.bunFlags)
    floors.push(other.child)
    relays.push({ name: variant.name, pid: other.child.pid, port: other.port, key: null })
    continue
  }
  const env = { ROLE: 'api', DATABASE_URL: stores.databaseUrl, REDIS_URL: stores.redisUrl, GATEWAY_API_KEYS: STATIC_KEY, ADMIN_TOKEN, DEFAULT_RPM: '100000000', ...variant.env }
  const gateway = await startGateway(mock.port, 'warn', env, variant.root, variant.bunFlags)
  const keys = await methodKeys(gateway.port, [variant.method])
  gateways.push(gateway)
  relays.push({ name: variant.name, pid: gateway.child.pid, port: gateway.port, key: keys[variant.method] })
}

/** Each relay's minor page faults per request in its last measured round. */
const faultsOf = new Map<string, number>()
/** Each relay's user / system µs and read / write syscalls per request in its last measured round. */
const splitOf = new Map<string, string>()

async function measure(relay: (typeof relays)[number], seconds: number): Promise<number> {
  const faultsBefore = minorFaults(relay.pid)
  const splitBefore = cpuSplitSeconds(relay.pid)
  const callsBefore = syscallCounts(relay.pid)
  const threadsBefore = threadCpuSeconds(relay.pid)
  const before = cpuSeconds(relay.pid)
  const result = await runLoad(target(relay.port, kind, relay.key), connections, seconds)
  if (result.non2xx + result.errors + result.timeouts + result.mismatches > 0) throw new Error(`${relay.name}: refused or broken answers under load: ${JSON.stringify(result.statusCodes)} ${result.sampleErrors.join('; ')}`)
  // Work the relay defers (usage batches) belongs to the requests that caused it.
  await Bun.sleep(300)
  faultsOf.set(relay.name, (minorFaults(relay.pid) - faultsBefore) / result.requests)
  const [split, calls, n] = [cpuSplitSeconds(relay.pid), syscallCounts(relay.pid), result.requests]
  const threads = [...threadCpuSeconds(relay.pid)].map(([name, s]) => [name, ((s - (threadsBefore.get(name) ?? 0)) * 1e6) / n] as const).filter(([, us]) => us >= 1)
  const busiest = threads.sort((a, b) => b[1] - a[1]).map(([name, us]) => `${name} ${us.toFixed(0)}`).join(' ')
  splitOf.set(relay.name, `threads µs: ${busiest}; user/sys ${(((split.user - splitBefore.user) * 1e6) / n).toFixed(0)}/${(((split.system - splitBefore.system) * 1e6) / n).toFixed(0)} µs, syscalls r/w ${((calls.reads - callsBefore.reads) / n).toFixed(2)}/${((calls.writes - callsBefore.writes) / n).toFixed(2)}`)
  return ((cpuSeconds(relay.pid) - before) * 1e6) / result.requests
}

/** `--ttfb N`: stream requests one at a time, the relays taking turns: the added time to first byte (bench/run.ts's probe). */
async function firstBytes(samples: number): Promise<void> {
  const targets = relays.map((r) => target(r.port, 'stream', r.key))
  const unmeasured = Math.min(200, samples)
  await measureTtfbInTurns(targets, unmeasured)
  const faultsBefore = relays.map((r) => minorFaults(r.pid))
  const threadFaultsBefore = relays.map((r) => threadMinorFaults(r.pid))
  const { results, requestsEach } = await measureTtfbInTurns(targets, samples)
  const faultsPerRequest = relays.map((r, i) => (minorFaults(r.pid) - faultsBefore[i]!) / requestsEach)
  const faultsByThread = relays.map((r, i) =>
    [...threadMinorFaults(r.pid)]
      .map(([name, n]) => [name, (n - (threadFaultsBefore[i]!.get(name) ?? 0)) / requestsEach] as const)
      .filter(([, perRequest]) => perRequest >= 0.01)
      .map(([name, perRequest]) => `${name} ${perRequest.toFixed(2)}`)
      .join(', '),
  )
  const floorP50 = results[0]!.p50Ms
  console.log(`time to first byte via ${method}, ${samples} sequential streams each, in turns (after ${unmeasured} unmeasured):`)
  relays.forEach((r, i) => {
    const { p50Ms, p99Ms } = results[i]!
    const added = i === 0 ? 'floor' : `${p50Ms >= floorP50 ? '+' : ''}${(p50Ms - floorP50).toFixed(3)}`
    console.log(`  ${r.name.padEnd(16)} p50 ${p50Ms.toFixed(3)} ms (${added})  p99 ${p99Ms.toFixed(3)} ms  minor faults ${faultsPerRequest[i]!.toFixed(2)} a request (${faultsByThread[i]})`)
  })
}

/**
 * `--together`: every relay under load at the same time, each with its own `--connections`, round after round. The
 * relays share the cores (the floor too), so their absolute figures are not `bun run bench`'s; but a machine that
 * slows for a while slows them all in the same seconds, so their ratios move far less than in turns.
 */
async function cpuTogether(): Promise<void> {
  console.log(`${kind} via ${method}: ${warmup} s warmup, then ${rounds} rounds of ${duration} s, every relay at once with ${connections} connections each`)
  await Promise.all(relays.map((relay) => runLoad(target(relay.port, kind, relay.key), connections, warmup)))
  await clearQueues(stores)
  const perRelay = new Map<string, number[]>(relays.map((r) => [r.name, []]))
  for (let round = 1; round <= rounds; round++) {
    const before = relays.map((relay) => cpuSeconds(relay.pid))
    const results = await Promise.all(relays.map((relay) => runLoad(target(relay.port, kind, relay.key), connections, duration)))
    // Work the relays defer (usage batches) belongs to the requests that caused it.
    await Bun.sleep(300)
    relays.forEach((relay, i) => {
      const result = results[i]!
      if (result.non2xx + result.errors + result.timeouts + result.mismatches > 0) throw new Error(`${relay.name}: refused or broken answers under load: ${JSON.stringify(result.statusCodes)} ${result.sampleErrors.join('; ')}`)
      perRelay.get(relay.name)!.push(((cpuSeconds(relay.pid) - before[i]!) * 1e6) / result.requests)
    })
    await clearQueues(stores)
    console.log(`round ${round}: ${relays.map((r) => `${r.name} ${perRelay.get(r.name)!.at(-1)!.toFixed(0)} µs`).join(' · ')}`)
  }
  report(perRelay)
}

function report(perRelay: Map<string, number[]>): void {
  const floorMedian = median(perRelay.get('floor')!)
  console.log('\nCPU µs per request, median of the rounds (and each round), × the floor\'s median:')
  for (const [name, xs] of perRelay) console.log(`  ${name.padEnd(16)} ${median(xs).toFixed(1).padStart(7)} µs  ${(median(xs) / floorMedian).toFixed(2)}×  [${xs.map((x) => x.toFixed(0)).join(' ')}]`)
  // Each round's relays ran in the same seconds: their ratio to the first variant, round by round, is the steadier figure.
  const names = [...perRelay.keys()].filter((n) => n !== 'floor')
  if (!o.together || names.length < 2) return
  const first = perRelay.get(names[0]!)!
  console.log(`\neach variant / ${names[0]}, round by round (median):`)
  for (const name of names.slice(1)) {
    const ratios = roundByRound(perRelay.get(name)!, first)
    console.log(`  ${name.padEnd(16)} ${median(ratios).toFixed(3)}  [${ratios.map((r) => r.toFixed(3)).join(' ')}]`)
  }
}

/** CPU per request under load, the relays taking turns round after round. */
async function cpuInTurns(): Promise<void> {
  console.log(`${kind} via ${method}: ${warmup} s warmup each, then ${rounds} rounds of ${duration} s, in turns`)
  for (const relay of relays) await measure(relay, relay.name === 'floor' ? Math.min(warmup, 5) : warmup)
  const perRelay = new Map<string, number[]>(relays.map((r) => [r.name, []]))
  for (let round = 1; round <= rounds; round++) {
    for (const relay of relays) perRelay.get(relay.name)!.push(await measure(relay, duration))
    await clearQueues(stores)
    console.log(`round ${round}: ${relays.map((r) => `${r.name} ${perRelay.get(r.name)!.at(-1)!.toFixed(0)} µs (${faultsOf.get(r.name)!.toFixed(2)} faults; ${splitOf.get(r.name)})`).join(' · ')}`)
  }
  report(perRelay)
}

const ttfbSamples = Number(o.ttfb)
await (ttfbSamples > 0 ? firstBytes(ttfbSamples) : o.together ? cpuTogether() : cpuInTurns())
// Stopped in order, not killed: a profiling variant writes its profile as it exits.
for (const child of [...gateways.map((g) => g.child), ...floors]) await stopChild(child)
await dropBenchKeys(stores)
process.exit(0)
