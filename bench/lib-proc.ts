// Bench child processes: spawning the mock, the floor and the gateway, waiting for them, reading their CPU, memory and descriptors from /proc, and always killing them.
import { readdirSync, readFileSync } from 'node:fs'
import type { Subprocess } from 'bun'
import { START_ENV } from '../src/lib/start-env'

const ROOT = new URL('..', import.meta.url).pathname
const children = new Set<Subprocess>()

/** Kills every child still running; safe to call more than once and from signal handlers. */
export function killChildren(): void {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  }
  children.clear()
}

let cleanupInstalled = false
/** A crashed or interrupted bench must not leave a gateway or mock holding ports and CPU behind. */
export function installCleanup(): void {
  if (cleanupInstalled) return
  cleanupInstalled = true
  process.on('exit', killChildren)
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      killChildren()
      process.exit(130)
    })
  }
  process.on('uncaughtException', (error) => {
    killChildren()
    console.error(error)
    process.exit(1)
  })
  process.on('unhandledRejection', (error) => {
    killChildren()
    console.error(error)
    process.exit(1)
  })
}

/** The kernel picks a free port; the tiny race before the child binds it is acceptable for a local bench. */
export function freePort(): number {
  const listener = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } })
  const port = listener.port
  listener.stop(true)
  return port
}

export async function stopChild(child: Subprocess): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
  // The gateway drains its usage buffer on SIGTERM; give it a moment before forcing it.
  const exited = await Promise.race([child.exited.then(() => true), Bun.sleep(10_000).then(() => false)])
  if (!exited) child.kill('SIGKILL')
  children.delete(child)
}

export interface Mock {
  child: Subprocess<'ignore', 'pipe', 'inherit'>
  port: number
}

/** Spawns a bench child that killChildren() (and a crashed or interrupted bench) always kills. */
export function spawnChild(cmd: string[], env: Record<string, string> = {}): Subprocess<'ignore', 'pipe', 'inherit'> {
  const child = Bun.spawn(cmd, { cwd: ROOT, stdin: 'ignore', stdout: 'pipe', stderr: 'inherit', env: { ...process.env, ...env } })
  children.add(child)
  return child
}

/** Starts a mock upstream (bench/mock-upstream.ts unless told otherwise) and reads its `READY <port>` line. */
export async function startMock(script = 'bench/mock-upstream.ts', env: Record<string, string> = {}, bunFlags: string[] = []): Promise<Mock> {
  const child = spawnChild(['bun', ...bunFlags, script, '0'], env)
  const reader = child.stdout.getReader()
  const decoder = new TextDecoder()
  let text = ''
  const deadline = Date.now() + 10_000
  while (!text.includes('\n')) {
    if (Date.now() > deadline) throw new Error('mock upstream did not print READY within 10 s')
    const { done, value } = await reader.read()
    if (done) throw new Error(`mock upstream exited before READY (exit ${child.exitCode})`)
    text += decoder.decode(value, { stream: true })
  }
  const match = /^READY (\d+)/.exec(text)
  if (!match) throw new Error(`mock upstream printed ${JSON.stringify(text)} instead of READY <port>`)
  // Keep draining so a chatty mock can never block on a full pipe.
  void (async () => {
    while (!(await reader.read()).done) {}
  })().catch(() => {})
  return { child, port: Number(match[1]) }
}

/**
 * Bun's settings the floor and the gateway both start with, as `bun run start` and the Dockerfile set them: the fetch
 * pool at its maximum, and the allocator's hole purging off (src/lib/allocator.ts). Same runtime, same yardstick.
 */
export const RUNTIME_ENV: Readonly<Record<string, string>> = START_ENV

/** Starts the floor (bench/floor.ts) in front of an upstream, with the gateway's runtime settings. */
export function startFloor(upstreamPort: number, env: Record<string, string> = {}, bunFlags: string[] = []): Promise<Mock> {
  return startMock('bench/floor.ts', { FLOOR_UPSTREAM: `http://127.0.0.1:${upstreamPort}/v1`, ...RUNTIME_ENV, ...env }, bunFlags)
}

export interface Gateway {
  child: Subprocess<'ignore', 'ignore', 'inherit'>
  port: number
  logLevel: string
}

/**
 * Starts `bun src/index.ts` as its own process. Its stdout (where the JSON-line logger writes, including the
 * per-request usage line at info) goes to /dev/null: the gateway still pays for formatting and the write syscall,
 * but the bench process does not pay for draining a pipe. `root`: another checkout's gateway; `bunFlags`: flags for
 * bun itself, e.g. `--cpu-prof-md` (both bench/ab.ts).
 */
export async function startGateway(mockPort: number, logLevel: string, extraEnv: Record<string, string>, root = ROOT, bunFlags: string[] = []): Promise<Gateway> {
  const port = freePort()
  const child = Bun.spawn(['bun', ...bunFlags, 'src/index.ts'], {
    cwd: root,
    stdin: 'ignore',
    stdout: 'ignore',
    stderr: 'inherit',
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      GATEWAY_API_KEYS: 'bench-key',
      OPENAI_BASE_URL: `http://127.0.0.1:${mockPort}/v1`,
      OPENAI_API_KEY: 'sk-bench',
      LOG_LEVEL: logLevel,
      // Rate limits stay on (their Redis round trip is part of what we measure) but never refuse the load.
      DEFAULT_RPM: process.env.DEFAULT_RPM ?? '100000000',
      // As the Dockerfile starts it. Bun's fetch pool at its maximum: the gateway then never restarts itself to size
      // it (src/lib/fetch-pool.ts), so child.pid is the gateway whose CPU and memory the benches read.
      ...RUNTIME_ENV,
      ...extraEnv,
    },
  })
  children.add(child)
  const deadline = Date.now() + 30_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`gateway exited during startup (exit ${child.exitCode}); see stderr above`)
    try {
      const res = await fetch(`http://127.0.0.1:${port}/healthz`)
      await res.arrayBuffer()
      if (res.ok) break
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error('gateway did not answer /healthz within 30 s')
    await Bun.sleep(100)
  }
  return { child, port, logLevel }
}

let ticksPerSecond: number | null = null
export function clockTicksPerSecond(): number {
  if (ticksPerSecond === null) {
    const out = Bun.spawnSync(['getconf', 'CLK_TCK']).stdout.toString().trim()
    const value = Number(out)
    ticksPerSecond = Number.isFinite(value) && value > 0 ? value : 100
  }
  return ticksPerSecond
}

/**
 * A /proc stat file as its name (field 2) and the fields after it, numbered as proc(5) numbers them: `field(14)` is
 * utime. The name may hold spaces and parentheses, so the fields start after its last closing parenthesis.
 */
function readStat(path: string): { name: string; field: (n: number) => number } {
  const stat = readFileSync(path, 'utf8')
  const close = stat.lastIndexOf(')')
  const rest = stat.slice(close + 2).split(' ')
  return { name: stat.slice(stat.indexOf('(') + 1, close), field: (n) => Number(rest[n - 3]) }
}

/** User and system CPU seconds of a process so far, apart (fields 14 and 15): system time is syscalls (loopback sockets, wake-ups). */
export function cpuSplitSeconds(pid: number): { user: number; system: number } {
  const { field } = readStat(`/proc/${pid}/stat`)
  return { user: field(14) / clockTicksPerSecond(), system: field(15) / clockTicksPerSecond() }
}

/** utime+stime of a process in seconds. */
export function cpuSeconds(pid: number): number {
  const { user, system } = cpuSplitSeconds(pid)
  return user + system
}

/** One figure of each thread's stat file summed by thread name (threads of one name together: JSC's HeapHelper, …). */
function byThreadName(pid: number, figure: (stat: ReturnType<typeof readStat>) => number): Map<string, number> {
  const byName = new Map<string, number>()
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    let stat: ReturnType<typeof readStat>
    try {
      stat = readStat(`/proc/${pid}/task/${tid}/stat`)
    } catch {
      continue // the thread ended meanwhile
    }
    const name = stat.name.replace(/[\d_]+$/, '')
    byName.set(name, (byName.get(name) ?? 0) + figure(stat))
  }
  return byName
}

/** CPU seconds of each thread of a process so far, by thread name. */
export function threadCpuSeconds(pid: number): Map<string, number> {
  return byThreadName(pid, (stat) => (stat.field(14) + stat.field(15)) / clockTicksPerSecond())
}

/** Minor page faults of each thread of a process so far, by thread name. */
export function threadMinorFaults(pid: number): Map<string, number> {
  return byThreadName(pid, (stat) => stat.field(10))
}

/** Read and write system calls of a process so far, all threads (/proc/<pid>/io: syscr, syscw). */
export function syscallCounts(pid: number): { reads: number; writes: number } {
  const io = readFileSync(`/proc/${pid}/io`, 'utf8')
  const field = (name: string) => Number(new RegExp(`^${name}: (\\d+)$`, 'm').exec(io)?.[1] ?? 0)
  return { reads: field('syscr'), writes: field('syscw') }
}

/** Minor page faults of a process so far (field 10 of /proc/<pid>/stat): on this VM each costs tens of µs. */
export function minorFaults(pid: number): number {
  return readStat(`/proc/${pid}/stat`).field(10)
}

/**
 * Busy CPU seconds of the whole machine (first line of /proc/stat), so a scenario can tell how much CPU went to
 * processes other than ours — another job on a shared 2-core box skews a run, and this makes that visible.
 */
export function machineBusySeconds(): { busy: number; steal: number } {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number)
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = fields
  const tick = clockTicksPerSecond()
  return { busy: (user + nice + system + irq + softirq + steal) / tick, steal: steal / tick }
}

/** A `kB` field of /proc/<pid>/status, e.g. VmRSS or VmHWM. */
export function procStatusKb(pid: number, field: string): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith(`${field}:`))
  return Number(line?.split(/\s+/)[1] ?? NaN)
}

export const openFiles = (pid: number) => readdirSync(`/proc/${pid}/fd`).length

/** The open-file limits of a process (`Max open files` in /proc/<pid>/limits). */
export function fileLimits(pid: number | 'self'): { soft: number; hard: number } {
  const fields = readFileSync(`/proc/${pid}/limits`, 'utf8').split('\n').find((l) => l.startsWith('Max open files'))!.split(/\s{2,}/)
  const value = (v: string | undefined) => (v === 'unlimited' ? Number.POSITIVE_INFINITY : Number(v))
  return { soft: value(fields[1]), hard: value(fields[2]) }
}
