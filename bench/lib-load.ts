// Bench load: autocannon runs with exact latency percentiles, the sequential time-to-first-byte loop, and response checks.
import autocannon from 'autocannon'

export const EXPECTED_CONTENT_CHUNKS = 20

export interface Target {
  url: string
  headers: Record<string, string>
  body: string
  /** Checked on every response of a load run; false counts as a mismatch (a cut or broken answer under load). */
  complete?: (body: string) => boolean
}

export interface LoadResult {
  requests: number
  durationS: number
  rps: number
  p50Ms: number
  p99Ms: number
  non2xx: number
  errors: number
  timeouts: number
  /** 2xx responses whose body failed Target.complete. */
  mismatches: number
  statusCodes: Record<string, number>
  sampleErrors: string[]
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[rank] ?? Number.NaN
}

/**
 * autocannon's own latency histogram keeps whole milliseconds, too coarse for a relay that adds well under one;
 * the float response time from each 'response' event is kept instead (one array push, cheap next to the request).
 */
export function runLoad(target: Target, connections: number, durationS: number): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    let latencies = new Float64Array(1 << 16)
    let count = 0
    const sampleErrors: string[] = []
    const instance = autocannon(
      {
        url: target.url,
        method: 'POST',
        headers: target.headers,
        body: target.body,
        connections,
        duration: durationS,
        pipelining: 1,
        timeout: 10,
        // autocannon hands over the whole body as a string (it accumulates it for every response anyway).
        ...(target.complete ? { verifyBody: (body: unknown) => typeof body === 'string' && target.complete!(body) } : {}),
      },
      (error: unknown, result: autocannon.Result) => {
        if (error) return reject(error)
        const sorted = latencies.subarray(0, count).sort()
        const statusCodes: Record<string, number> = {}
        for (const [code, stat] of Object.entries(result.statusCodeStats ?? {})) statusCodes[code] = stat.count ?? 0
        const requests = result['2xx'] + result.non2xx
        resolve({
          requests,
          durationS: result.duration,
          rps: requests / result.duration,
          p50Ms: percentile(sorted, 50),
          p99Ms: percentile(sorted, 99),
          non2xx: result.non2xx,
          errors: result.errors,
          timeouts: result.timeouts,
          mismatches: result.mismatches ?? 0,
          statusCodes,
          sampleErrors,
        })
      },
    )
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      if (statusCode < 200 || statusCode >= 300) return
      if (count === latencies.length) {
        const grown = new Float64Array(latencies.length * 2)
        grown.set(latencies)
        latencies = grown
      }
      latencies[count++] = responseTime
    })
    instance.on('reqError', (error: unknown) => {
      if (sampleErrors.length < 5) sampleErrors.push(String((error as Error)?.message ?? error))
    })
  })
}

export interface TtfbResult {
  samples: number
  p50Ms: number
  p99Ms: number
}

/** One request timed from fetch() to the first body chunk (ms); the rest of the body is drained untimed. */
async function timeFirstByte(target: Target): Promise<number> {
  const started = performance.now()
  const res = await fetch(target.url, { method: 'POST', headers: target.headers, body: target.body })
  if (!res.ok || !res.body) throw new Error(`TTFB request to ${target.url} answered ${res.status}: ${await res.text()}`)
  const reader = res.body.getReader()
  const first = await reader.read()
  const ms = performance.now() - started
  if (first.done) throw new Error(`TTFB request to ${target.url} returned an empty body`)
  while (!(await reader.read()).done) {}
  return ms
}

function ttfbResult(times: Float64Array): TtfbResult {
  times.sort()
  return { samples: times.length, p50Ms: percentile(times, 50), p99Ms: percentile(times, 99) }
}

/** Requests a relay gets in a row in measureTtfbInTurns; the first of them wake it, and are not counted. */
const TURN_REQUESTS = 25
const TURN_UNCOUNTED = 5

/**
 * Sequential requests taking the relays in turns of TURN_REQUESTS, in an order that rotates: a machine that gets slower or faster during the run
 * moves every relay alike, so differences of a few tens of µs show (bun run bench, bench:ab --ttfb). Taking them one request each in
 * turn instead measured every relay waking from idle (the floor's p50 0.76–0.94 ms against 0.38 alone).
 */
export async function measureTtfbInTurns(targets: Target[], samples: number): Promise<{ results: TtfbResult[]; requestsEach: number }> {
  const counted = TURN_REQUESTS - TURN_UNCOUNTED
  const turns = Math.ceil(samples / counted)
  const times = targets.map(() => new Float64Array(turns * counted))
  for (let turn = 0; turn < turns; turn++) {
    // Each turn starts one relay later: no relay always comes right after another's turn (or always last of several
    // sharing one gateway process), a place in the order that moved a relay's p50 by ~0.1 ms in one run.
    for (let k = 0; k < targets.length; k++) {
      const t = (turn + k) % targets.length
      for (let i = 0; i < TURN_REQUESTS; i++) {
        const ms = await timeFirstByte(targets[t]!)
        if (i >= TURN_UNCOUNTED) times[t]![turn * counted + i - TURN_UNCOUNTED] = ms
      }
    }
  }
  return { results: times.map(ttfbResult), requestsEach: turns * TURN_REQUESTS }
}

interface StreamChunk {
  choices?: { delta?: { content?: unknown; role?: unknown }; finish_reason?: unknown }[]
  usage?: { prompt_tokens?: unknown } | null
}

/** Fails loudly unless a streamed answer is complete: 20 content chunks, a finish, the usage chunk and [DONE]. */
export async function verifyStream(target: Target, label: string): Promise<void> {
  const res = await fetch(target.url, { method: 'POST', headers: target.headers, body: target.body })
  const text = await res.text()
  const fail = (why: string): never => {
    throw new Error(`${label}: stream check failed: ${why}\n--- body ---\n${text.slice(0, 2000)}`)
  }
  if (res.status !== 200) fail(`status ${res.status}`)
  if (!(res.headers.get('content-type') ?? '').startsWith('text/event-stream')) fail(`content-type ${res.headers.get('content-type')}`)
  const events = text.split('\n\n').filter((e) => e.trim() !== '')
  const datas = events.map((e) => (e.startsWith('data: ') ? e.slice(6) : fail(`event without data: ${JSON.stringify(e)}`)))
  if (datas.at(-1) !== '[DONE]') fail('the last event is not data: [DONE]')
  if (datas.filter((d) => d === '[DONE]').length !== 1) fail('[DONE] appears more than once')
  let content = 0
  let finished = false
  let usage = false
  for (const data of datas.slice(0, -1)) {
    const chunk = JSON.parse(data) as StreamChunk
    const choice = chunk.choices?.[0]
    if (typeof choice?.delta?.content === 'string' && choice.delta.content !== '') content++
    if (choice?.finish_reason === 'stop') finished = true
    if (chunk.choices?.length === 0 && typeof chunk.usage?.prompt_tokens === 'number') usage = true
  }
  if (content !== EXPECTED_CONTENT_CHUNKS) fail(`${content} content chunks, expected ${EXPECTED_CONTENT_CHUNKS}`)
  if (!finished) fail('no chunk with finish_reason "stop"')
  if (!usage) fail('no usage chunk although include_usage was asked for')
}

/** Fails loudly unless a non-streamed answer is a chat.completion with text and usage. */
export async function verifyCompletion(target: Target, label: string): Promise<void> {
  const res = await fetch(target.url, { method: 'POST', headers: target.headers, body: target.body })
  const text = await res.text()
  let body: { object?: unknown; choices?: { message?: { content?: unknown } }[]; usage?: { total_tokens?: unknown } } = {}
  try {
    body = JSON.parse(text)
  } catch {
    // reported below
  }
  const ok =
    res.status === 200 &&
    body.object === 'chat.completion' &&
    typeof body.choices?.[0]?.message?.content === 'string' &&
    typeof body.usage?.total_tokens === 'number'
  if (!ok) throw new Error(`${label}: completion check failed (status ${res.status})\n--- body ---\n${text.slice(0, 2000)}`)
}
