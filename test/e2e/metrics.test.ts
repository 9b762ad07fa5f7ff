// /metrics scraped from a real gateway process: every counter moves by exactly what was done to it, and the gauges read live state.
import { afterAll, beforeAll, expect, test } from 'bun:test'
import OpenAI from 'openai'
import { buildCatalog } from '../../src/pricing/catalog'
import { usageCost } from '../../src/pricing/cost'
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream'
import { startGateway, upstreamEnv } from '../helpers/gateway'
import { spawnMeterway, type GatewayProcess } from '../helpers/processes'
import { waitFor } from '../helpers/poll'

// Its own key each run: the request bucket lives in Redis, keyed by the key, across runs.
const KEY = `metrics-test-${crypto.randomUUID()}`
const RPM = 40
let upstream: FakeUpstream
let gateway: GatewayProcess
let client: OpenAI

beforeAll(async () => {
  upstream = startFakeUpstream()
  // ROLE=api: nothing takes the usage inbox, so its depth is this test's to read. A request limit it can reach.
  gateway = await spawnMeterway({ ...upstreamEnv(upstream.url), GATEWAY_API_KEYS: KEY, ROLE: 'api', DEFAULT_RPM: String(RPM) })
  client = new OpenAI({ apiKey: KEY, baseURL: `${gateway.url}/v1`, maxRetries: 0 })
})
afterAll(() => {
  gateway?.child.kill('SIGKILL')
  upstream?.stop()
})

/** Every sample of the exposition as `name{labels}` → value. */
async function scrape(): Promise<Map<string, number>> {
  const response = await fetch(`${gateway.url}/metrics`)
  expect(response.headers.get('content-type')).toContain('text/plain')
  const samples = new Map<string, number>()
  for (const line of (await response.text()).split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const at = line.lastIndexOf(' ')
    samples.set(line.slice(0, at), Number(line.slice(at + 1)))
  }
  return samples
}
const value = (samples: Map<string, number>, key: string) => samples.get(key) ?? 0
const delta = (before: Map<string, number>, after: Map<string, number>, key: string) => value(after, key) - value(before, key)

test('gauges read live state: a stream in flight, and the usage batches waiting for a worker', async () => {
  const stream = await client.chat.completions.create({ model: 'openai/gpt-4o', stream: true, messages: [{ role: 'user', content: 'scenario:drip' }] })
  const reader = stream[Symbol.asyncIterator]()
  await reader.next()
  const during = await scrape()
  expect(value(during, 'meterway_streams_in_flight')).toBe(1)
  while (!(await reader.next()).done) {}
  await waitFor(async () => value(await scrape(), 'meterway_streams_in_flight') === 0, 5_000, 'the stream counted out')
  // ROLE=api pushes usage onto the inbox and no worker takes it: batches wait, the oldest for some time.
  const queued = await waitFor(async () => {
    const samples = await scrape()
    return value(samples, 'meterway_queue_jobs{queue="usage",state="inbox"}') > 0 ? samples : null
  }, 5_000, 'usage batches waiting')
  expect(value(queued, 'meterway_queue_oldest_waiting_seconds{queue="usage"}')).toBeGreaterThan(0)
  expect(queued.has('meterway_stripe_report_lag_seconds')).toBe(true)
})

test('requests, tokens, cost, latency and refusals move by exactly the requests made', async () => {
  const before = await scrape()
  const catalog = buildCatalog()
  const gpt4o = catalog.find('openai/gpt-4o')!
  // 6 JSON answers and 3 streams from the fake OpenAI (its fixtures' usage), 4 from mock/echo.
  let input = 0
  let output = 0
  for (let i = 0; i < 6; i++) {
    const answer = await client.chat.completions.create({ model: 'openai/gpt-4o', messages: [{ role: 'user', content: `hello ${i}` }] })
    input += answer.usage!.prompt_tokens
    output += answer.usage!.completion_tokens
  }
  for (let i = 0; i < 3; i++) {
    const stream = await client.chat.completions.create({ model: 'openai/gpt-4o', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'hi' }] })
    for await (const chunk of stream) {
      if (chunk.usage) {
        input += chunk.usage.prompt_tokens
        output += chunk.usage.completion_tokens
      }
    }
  }
  for (let i = 0; i < 4; i++) await client.chat.completions.create({ model: 'mock/echo', messages: [{ role: 'user', content: 'echo me' }] })
  // 2 wrong keys, 1 unknown model.
  for (let i = 0; i < 2; i++) await new OpenAI({ apiKey: 'wrong', baseURL: `${gateway.url}/v1`, maxRetries: 0 }).models.list().then(() => {}, () => {})
  for (let i = 0; i < 2; i++) {
    await fetch(`${gateway.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: 'Bearer wrong', 'content-type': 'application/json' }, body: '{}' })
  }
  await client.chat.completions.create({ model: 'nope/nothing', messages: [{ role: 'user', content: 'x' }] }).then(() => {}, () => {})

  const after = await waitFor(async () => {
    const samples = await scrape()
    // Usage is counted at each request's finish, which for a stream may come just after its last byte.
    return delta(before, samples, 'meterway_request_duration_seconds_count{model="openai/gpt-4o"}') === 9 ? samples : null
  }, 5_000, 'nine gpt-4o requests timed')

  expect(delta(before, after, 'meterway_requests_total{route="chat.completions",model="openai/gpt-4o",status="200"}')).toBe(9)
  expect(delta(before, after, 'meterway_requests_total{route="chat.completions",model="mock/echo",status="200"}')).toBe(4)
  expect(delta(before, after, 'meterway_requests_total{route="chat.completions",model="none",status="401"}')).toBe(2)
  expect(delta(before, after, 'meterway_requests_total{route="chat.completions",model="none",status="404"}')).toBe(1)
  expect(delta(before, after, 'meterway_time_to_first_token_seconds_count{model="openai/gpt-4o"}')).toBe(9)
  expect(delta(before, after, 'meterway_tokens_total{model="openai/gpt-4o",kind="input"}')).toBe(input)
  expect(delta(before, after, 'meterway_tokens_total{model="openai/gpt-4o",kind="output"}')).toBe(output)
  // The cost counter is the sum of the records' costs: each request's fixture usage at catalog prices.
  const perJson = usageCost({ inputTokens: 19, cachedInputTokens: 0, cacheWriteTokens: 0, outputTokens: 10 }, gpt4o.prices)
  expect(perJson).toBeGreaterThan(0n)
  const expectedCost = Number(usageCost({ inputTokens: input, cachedInputTokens: 0, cacheWriteTokens: 0, outputTokens: output }, gpt4o.prices))
  // Rounding is per request (ceil per class), so the sum of per-request costs is within one nano-USD per request and class.
  const cost = delta(before, after, 'meterway_cost_nano_usd_total{model="openai/gpt-4o"}')
  expect(cost).toBeGreaterThanOrEqual(expectedCost)
  expect(cost).toBeLessThanOrEqual(expectedCost + 9 * 2)
  expect(value(after, 'meterway_streams_in_flight')).toBe(0)

  // Last, since it spends the key's requests: what is left of this minute's RPM goes through, and each request past it is one refusal.
  const refusalsBefore = value(after, 'meterway_admission_refusals_total{reason="rpm"}')
  const statuses: number[] = []
  for (let i = 0; i < RPM + 3; i++) {
    statuses.push(await client.chat.completions.create({ model: 'mock/echo', messages: [{ role: 'user', content: 'x' }] }).then(() => 200, (error) => (error as { status: number }).status))
  }
  const refused = statuses.filter((status) => status === 429).length
  expect(refused).toBeGreaterThanOrEqual(3)
  const final = await scrape()
  expect(value(final, 'meterway_admission_refusals_total{reason="rpm"}') - refusalsBefore).toBe(refused)
  expect(delta(after, final, 'meterway_requests_total{route="chat.completions",model="mock/echo",status="429"}')).toBe(refused)
})

test('with METRICS_TOKEN set, /metrics wants it as a Bearer token', async () => {
  const token = `metrics-${crypto.randomUUID()}`
  const guarded = await startGateway({ METRICS_TOKEN: token })
  try {
    expect((await fetch(`${guarded.url}/metrics`)).status).toBe(401)
    expect((await fetch(`${guarded.url}/metrics`, { headers: { authorization: 'Bearer not-the-token-at-all' } })).status).toBe(401)
    const ok = await fetch(`${guarded.url}/metrics`, { headers: { authorization: `Bearer ${token}` } })
    expect(ok.status).toBe(200)
    expect(await ok.text()).toContain('meterway_requests_total')
  } finally {
    await guarded.stop()
  }
})
