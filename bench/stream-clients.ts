// Capacity-bench load generator (its own process): opens N streaming chat completions at once and checks each one ends complete.
// Usage: BUN_CONFIG_MAX_HTTP_REQUESTS=65535 bun bench/stream-clients.ts <url> <key> <streams> <chunks>
// Prints JSON lines: {"type":"progress",...} twice a second, then {"type":"summary",...}.

export {} // a module: its top-level names stay its own, and it may await at the top

const [url, key, streamsArg, chunksArg] = process.argv.slice(2)
const streams = Number(streamsArg)
const chunks = Number(chunksArg)
if (!url || !key || !Number.isInteger(streams) || !Number.isInteger(chunks)) {
  console.error('usage: bun bench/stream-clients.ts <url> <key> <streams> <chunks>')
  process.exit(2)
}

const body = JSON.stringify({ model: 'openai/gpt-4o', stream: true, messages: [{ role: 'user', content: 'Count slowly.' }] })
const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' }
const decoder = new TextDecoder()

let headersIn = 0
let firstChunk = 0
let complete = 0
let incomplete = 0
const statuses: Record<string, number> = {}
const errors: Record<string, number> = {}
const errorSamples: string[] = []
const started = performance.now()
let allHeadersMs: number | null = null
let allFirstChunkMs: number | null = null

const since = () => Math.round(performance.now() - started)
const count = (table: Record<string, number>, name: string) => (table[name] = (table[name] ?? 0) + 1)

/** Content deltas and [DONE] in the OpenAI SSE the gateway relays; whatever else arrives is ignored. */
async function one(): Promise<void> {
  let response: Response
  try {
    response = await fetch(url!, { method: 'POST', headers, body })
  } catch (error) {
    count(errors, (error as { code?: string }).code ?? (error as Error).name)
    return
  }
  count(statuses, String(response.status))
  if (++headersIn === streams) allHeadersMs = since()
  if (response.status !== 200) {
    const text = await response.text().catch(() => '')
    if (errorSamples.length < 5) errorSamples.push(`${response.status} ${text.slice(0, 300)}`)
    return
  }
  let text = ''
  let sawFirst = false
  try {
    for await (const part of response.body!) {
      text += decoder.decode(part, { stream: true })
      if (!sawFirst) {
        sawFirst = true
        if (++firstChunk === streams) allFirstChunkMs = since()
      }
    }
  } catch (error) {
    count(errors, `mid-stream ${(error as { code?: string }).code ?? (error as Error).name}`)
  }
  const deltas = text.split('\n\n').filter((e) => e.startsWith('data: {') && JSON.parse(e.slice(6)).choices?.[0]?.delta?.content).length
  if (deltas === chunks && text.includes('data: [DONE]')) complete++
  else {
    incomplete++
    if (errorSamples.length < 5) errorSamples.push(`incomplete: ${deltas} deltas, ${text.length} bytes, ends ${JSON.stringify(text.slice(-80))}`)
  }
}

const progress = setInterval(() => {
  process.stdout.write(`${JSON.stringify({ type: 'progress', ms: since(), headers: headersIn, firstChunk, complete, incomplete, statuses, errors })}\n`)
}, 500)

await Promise.all(Array.from({ length: streams }, one))
clearInterval(progress)
process.stdout.write(`${JSON.stringify({ type: 'summary', ms: since(), streams, headers: headersIn, firstChunk, complete, incomplete, statuses, errors, errorSamples, allHeadersMs, allFirstChunkMs })}\n`)
process.exit(0)
