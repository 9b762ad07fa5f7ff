// N slow streams open at once through one server (the gateway or the floor): what each costs it in RSS, and whether all complete.
// Shared by the capacity bench (bench/capacity.ts) and the memory phase of `bun run bench`.
import { openFiles, procStatusKb, spawnChild } from './lib-proc'

/** Descriptors a relay holds besides its streams' (listening socket, Redis, Postgres, threads, Bun's own); measured ~40–60. */
const BASE_DESCRIPTORS = 100

/**
 * Streams one relay process can hold under an open-file hard limit: each holds two descriptors (the client's socket
 * and the upstream's). On a machine whose hard limit is 20,000 that is 9,950; `bench:capacity --streams 10000` found
 * 20 of 10,000 answered 503 (EMFILE), `--streams 9950` all served (6 runs).
 */
export const streamsThatFit = (hardLimit: number) => Math.floor((hardLimit - BASE_DESCRIPTORS) / 2)

export interface ClientSummary {
  type: 'summary'
  ms: number
  headers: number
  firstChunk: number
  complete: number
  incomplete: number
  statuses: Record<string, number>
  errors: Record<string, number>
  errorSamples: string[]
  allHeadersMs: number | null
  allFirstChunkMs: number | null
}

/** Runs bench/stream-clients.ts in its own process (its own descriptor budget) and hands over its JSON lines. */
export async function runClients(
  port: number,
  key: string,
  count: number,
  chunks: number,
  onProgress: (line: Record<string, unknown>) => void = () => {},
): Promise<ClientSummary> {
  // Its fetch pool must hold every stream at once, like the relay's.
  const url = `http://127.0.0.1:${port}/v1/chat/completions`
  const child = spawnChild(['bun', 'bench/stream-clients.ts', url, key, String(count), String(chunks)], { BUN_CONFIG_MAX_HTTP_REQUESTS: '65535' })
  const decoder = new TextDecoder()
  let buffered = ''
  let summary: ClientSummary | null = null
  for await (const part of child.stdout) {
    buffered += decoder.decode(part, { stream: true })
    let newline: number
    while ((newline = buffered.indexOf('\n')) >= 0) {
      const line = JSON.parse(buffered.slice(0, newline))
      buffered = buffered.slice(newline + 1)
      if (line.type === 'summary') summary = line
      else onProgress(line)
    }
  }
  await child.exited
  if (!summary) throw new Error(`the load generator exited (${child.exitCode}) without a summary`)
  return summary
}

export interface UpstreamStats {
  open: number
  peak: number
  started: number
  completed: number
}

/** bench/slow-upstream.ts's counters. */
export async function upstreamStats(port: number): Promise<UpstreamStats> {
  return (await fetch(`http://127.0.0.1:${port}/stats`)).json() as Promise<UpstreamStats>
}

/** Sets bench/slow-upstream.ts's chunk interval for streams that start afterwards (0: all at once), and resets its peak. */
export async function setUpstreamInterval(port: number, ms: number): Promise<void> {
  await (await fetch(`http://127.0.0.1:${port}/config`, { method: 'POST', body: JSON.stringify({ intervalMs: ms }) })).arrayBuffer()
}

export interface OpenStreamsOptions {
  /** The relay under test: its pid (for /proc) and port. */
  pid: number
  port: number
  /** bench/slow-upstream.ts, which the relay sends its requests to. */
  upstreamPort: number
  key: string
  streams: number
  chunks: number
  intervalMs: number
  /** Fast streams first, so idle RSS is measured after the relay's code paths and pools are warm. */
  warmup: number
  log: (line: string) => void
}

export interface OpenStreamsResult {
  summary: ClientSummary
  idle: { rssKb: number; openFiles: number }
  /** Most streams open at the upstream at one sample (every 200 ms), and the relay's RSS and descriptors then. */
  sampledPeakOpen: number
  rssAtPeakKb: number
  filesAtPeak: number
  allOpenUpstreamMs: number | null
  upstream: UpstreamStats
  after: { rssKb: number; hwmKb: number; openFiles: number }
  /** (RSS at the peak − idle RSS) / streams open at the peak. */
  rssPerOpenStreamKb: number | null
  /** Every stream answered 200 and complete, with no errors. */
  ok: boolean
}

export async function measureOpenStreams(o: OpenStreamsOptions): Promise<OpenStreamsResult> {
  if (o.warmup > 0) {
    await setUpstreamInterval(o.upstreamPort, 0)
    const warm = await runClients(o.port, o.key, o.warmup, o.chunks)
    o.log(`warmup: ${warm.complete}/${o.warmup} complete`)
  }
  await setUpstreamInterval(o.upstreamPort, o.intervalMs)
  await Bun.sleep(2_000)
  const idle = { rssKb: procStatusKb(o.pid, 'VmRSS'), openFiles: openFiles(o.pid) }
  o.log(`idle: RSS ${(idle.rssKb / 1024).toFixed(1)} MB, ${idle.openFiles} descriptors`)

  let peakOpen = 0
  let allOpenUpstreamMs: number | null = null
  let rssAtPeakKb = 0
  let filesAtPeak = 0
  let sampling = true
  const started = performance.now()
  const sampler = (async () => {
    while (sampling) {
      const [stats, rssKb, files] = await Promise.all([upstreamStats(o.upstreamPort), procStatusKb(o.pid, 'VmRSS'), openFiles(o.pid)])
      if (stats.open >= peakOpen) {
        peakOpen = stats.open
        rssAtPeakKb = Math.max(rssAtPeakKb, rssKb)
        filesAtPeak = Math.max(filesAtPeak, files)
      }
      if (allOpenUpstreamMs === null && stats.open >= o.streams) allOpenUpstreamMs = Math.round(performance.now() - started)
      await Bun.sleep(200)
    }
  })()
  let lastLog = 0
  const summary = await runClients(o.port, o.key, o.streams, o.chunks, (line) => {
    if ((line.ms as number) - lastLog < 2_000) return
    lastLog = line.ms as number
    o.log(`${line.ms} ms: ${line.headers} answered, ${line.firstChunk} streaming, ${line.complete} complete; ${peakOpen} open upstream at most so far`)
  })
  sampling = false
  await sampler
  const upstream = await upstreamStats(o.upstreamPort)
  const after = { rssKb: procStatusKb(o.pid, 'VmRSS'), hwmKb: procStatusKb(o.pid, 'VmHWM'), openFiles: openFiles(o.pid) }
  const non200 = Object.keys(summary.statuses).some((status) => status !== '200')
  return {
    summary,
    idle,
    sampledPeakOpen: peakOpen,
    rssAtPeakKb,
    filesAtPeak,
    allOpenUpstreamMs,
    upstream,
    after,
    rssPerOpenStreamKb: peakOpen > 0 ? (rssAtPeakKb - idle.rssKb) / peakOpen : null,
    ok: summary.complete === o.streams && !non200 && Object.keys(summary.errors).length === 0,
  }
}
