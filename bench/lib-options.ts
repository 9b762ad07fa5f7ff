// `bun run bench` options: parsed and checked once, with the defaults the README's figures were measured with.
import { parseArgs } from 'node:util'
import { METHODS, type Method } from './lib-methods'

/** paced: the same stream with each chunk its own write upstream, 1 ms apart (as a model streams); only when asked for. */
export type Kind = 'json' | 'stream' | 'paced'

export interface BenchOptions {
  connections: number
  durationS: number
  /** Seconds of the same load right before each measured scenario in the first round (0: none). */
  warmupS: number
  /** Each scenario is measured this many times, the relays taking turns; the figures are each one's median. */
  rounds: number
  /** A round during which the hypervisor stole more than this many cores is measured again (its figures are the host's, not the code's). */
  retakeStealCores: number
  /** At most this many retakes of one relay's round (0: never). */
  retakes: number
  ttfbRequests: number
  /** Open streams in the memory phase; 0 skips it. */
  streams: number
  kinds: Kind[]
  /** `--only memory`: the memory phase alone (floor and gateway), no load or time-to-first-byte phase. */
  memoryOnly: boolean
  methods: Method[]
  logLevel: string
  role: 'api' | 'all'
}

export const USAGE = `usage: bun bench/run.ts [--duration 10] [--rounds 3] [--connections 50] [--warmup 10] [--retake-steal 0.2] [--retakes 2] [--ttfb-requests 1000] [--streams 10000]
                    [--only json|stream|paced|memory] [--methods ${METHODS.join(',')}] [--log-level warn] [--role api|all]`

function fail(message: string): never {
  console.error(`${message}\n${USAGE}`)
  process.exit(2)
}

function integer(name: string, raw: string, min: number): number {
  const value = Number(raw)
  if (!Number.isInteger(value) || value < min) fail(`--${name} must be an integer ≥ ${min}, got ${JSON.stringify(raw)}`)
  return value
}

function cores(name: string, raw: string): number {
  const value = Number(raw)
  if (raw.trim() === '' || !Number.isFinite(value) || value <= 0) fail(`--${name} must be a number of cores above 0, got ${JSON.stringify(raw)}`)
  return value
}

export function parseOptions(argv = process.argv.slice(2)): BenchOptions {
  const { values: a } = parseArgs({
    args: argv,
    options: {
      connections: { type: 'string', default: '50' },
      duration: { type: 'string', default: '10' },
      warmup: { type: 'string', default: '10' },
      rounds: { type: 'string', default: '3' },
      'retake-steal': { type: 'string', default: '0.2' },
      retakes: { type: 'string', default: '2' },
      'ttfb-requests': { type: 'string', default: '1000' },
      streams: { type: 'string', default: '10000' },
      only: { type: 'string' },
      methods: { type: 'string', default: METHODS.join(',') },
      'log-level': { type: 'string', default: 'warn' },
      role: { type: 'string', default: 'api' },
      help: { type: 'boolean', default: false },
    },
  })
  if (a.help) {
    console.log(USAGE)
    process.exit(0)
  }
  if (a.only !== undefined && !['json', 'stream', 'paced', 'memory'].includes(a.only)) fail(`--only takes json, stream, paced or memory, got ${JSON.stringify(a.only)}`)
  if (a.only === 'memory' && a.streams === '0') fail('--only memory needs --streams above 0')
  const methods = a.methods.split(',').map((m) => m.trim()).filter(Boolean)
  const unknown = methods.filter((m) => !(METHODS as readonly string[]).includes(m))
  if (methods.length === 0 || unknown.length > 0) fail(`--methods takes a comma-separated list of ${METHODS.join(', ')}; unknown: ${unknown.join(', ') || '(empty)'}`)
  if (!['debug', 'info', 'warn', 'error', 'silent'].includes(a['log-level'])) fail('--log-level takes debug|info|warn|error|silent')
  if (a.role !== 'api' && a.role !== 'all') fail('--role takes api (the request path only) or all (also the usage workers)')
  return {
    connections: integer('connections', a.connections, 1),
    durationS: integer('duration', a.duration, 1),
    warmupS: integer('warmup', a.warmup, 0),
    rounds: integer('rounds', a.rounds, 1),
    retakeStealCores: cores('retake-steal', a['retake-steal']),
    retakes: integer('retakes', a.retakes, 0),
    ttfbRequests: integer('ttfb-requests', a['ttfb-requests'], 1),
    streams: integer('streams', a.streams, 0),
    kinds: a.only === 'memory' ? [] : a.only ? [a.only as Kind] : ['json', 'stream', 'paced'],
    memoryOnly: a.only === 'memory',
    // In the canonical order, whatever order they were given in: the table's columns never move.
    methods: METHODS.filter((m) => methods.includes(m)),
    logLevel: a['log-level'],
    role: a.role,
  }
}
