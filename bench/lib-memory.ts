// `bun run bench`'s memory phase: N slow streams open at once through the floor, then the gateway; RSS per open stream above idle.
import { measureOpenStreams, streamsThatFit, type OpenStreamsResult } from './lib-open-streams'
import { STATIC_KEY } from './lib-methods'
import { fileLimits, startFloor, startGateway, startMock, stopChild } from './lib-proc'

/** As in bench:capacity: 20 chunks a second apart keep every stream open ~20 s, long after the last one opened (3–5 s). */
const CHUNKS = 20
const INTERVAL_MS = 1_000
const WARMUP_STREAMS = 200

export interface MemoryRow {
  relay: 'floor' | 'static'
  /** Streams asked for (--streams) and run: no more than one process's open-file hard limit holds. */
  asked: number
  ran: number
  fileHardLimit: number
  idleRssMb: number
  rssAtPeakMb: number
  peakOpenUpstream: number
  rssPerOpenStreamKb: number | null
  complete: number
  /** Any status but 200, transport errors, and streams that ended without all their chunks and [DONE]. */
  failures: { statuses: Record<string, number>; errors: Record<string, number>; incomplete: number; samples: string[] }
  secondsToAllFirstChunks: number | null
  ok: boolean
}

function row(relay: MemoryRow['relay'], asked: number, ran: number, hard: number, m: OpenStreamsResult): MemoryRow {
  const statuses = Object.fromEntries(Object.entries(m.summary.statuses).filter(([status]) => status !== '200'))
  return {
    relay,
    asked,
    ran,
    fileHardLimit: hard,
    idleRssMb: m.idle.rssKb / 1024,
    rssAtPeakMb: m.rssAtPeakKb / 1024,
    peakOpenUpstream: m.upstream.peak,
    rssPerOpenStreamKb: m.rssPerOpenStreamKb,
    complete: m.summary.complete,
    failures: { statuses, errors: m.summary.errors, incomplete: m.summary.incomplete, samples: m.summary.errorSamples },
    secondsToAllFirstChunks: m.summary.allFirstChunkMs === null ? null : m.summary.allFirstChunkMs / 1000,
    ok: m.ok,
  }
}

export interface MemoryPhaseOptions {
  streams: number
  logLevel: string
  /** The main gateway's environment (stores, ROLE, limits), so this gateway differs only in its upstream. */
  gatewayEnv: Record<string, string>
  log: (line: string) => void
}

/** Floor first, then the gateway (static key), each a fresh process in front of its own slow upstream. */
export async function memoryPhase(o: MemoryPhaseOptions): Promise<MemoryRow[]> {
  const hard = fileLimits('self').hard
  const ran = Math.min(o.streams, streamsThatFit(hard))
  if (ran < o.streams) {
    o.log(`memory: ${o.streams} streams asked; a relay holds two descriptors per stream and the open-file hard limit here is ${hard}, so ${ran} run (bench:capacity --streams 10000 shows the rest answered 503 EMFILE)`)
  }
  const rows: MemoryRow[] = []
  for (const relay of ['floor', 'static'] as const) {
    const upstream = await startMock('bench/slow-upstream.ts', { MOCK_CHUNKS: String(CHUNKS), MOCK_INTERVAL_MS: String(INTERVAL_MS) })
    const server =
      relay === 'floor'
        ? await startFloor(upstream.port)
        : await startGateway(upstream.port, o.logLevel, { ...o.gatewayEnv, UPSTREAM_MAX_CONNECTIONS: String(Math.max(ran, 10_000)) })
    o.log(`memory (${relay}): ${ran} streams of ${CHUNKS} chunks ${INTERVAL_MS} ms apart, pid ${server.child.pid}`)
    const log = (line: string) => o.log(`memory (${relay}): ${line}`)
    const m = await measureOpenStreams({
      pid: server.child.pid,
      port: server.port,
      upstreamPort: upstream.port,
      key: STATIC_KEY,
      streams: ran,
      chunks: CHUNKS,
      intervalMs: INTERVAL_MS,
      warmup: WARMUP_STREAMS,
      log,
    })
    await stopChild(server.child)
    await stopChild(upstream.child)
    rows.push(row(relay, o.streams, ran, hard, m))
  }
  return rows
}
