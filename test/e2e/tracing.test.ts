// Traces through an in-process OTLP receiver: a chat request's span has admission, upstream and settle children; logs carry the trace id.
import { afterAll, beforeAll, expect, test } from 'bun:test'
import OpenAI from 'openai'
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream'
import { upstreamEnv } from '../helpers/gateway'
import { spawnMeterway, type GatewayProcess } from '../helpers/processes'
import { waitFor } from '../helpers/poll'

interface OtlpSpan {
  traceId: string
  spanId: string
  parentSpanId?: string
  name: string
  attributes?: { key: string; value: Record<string, unknown> }[]
}

/** A collector of OTLP/HTTP JSON: every span it was sent, and with which service name. */
function startReceiver() {
  const spans: OtlpSpan[] = []
  const services = new Set<string>()
  const server = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    async fetch(request) {
      if (new URL(request.url).pathname !== '/v1/traces' || request.method !== 'POST') return new Response('not found', { status: 404 })
      const body = (await request.json()) as {
        resourceSpans: { resource?: { attributes?: { key: string; value: { stringValue?: string } }[] }; scopeSpans: { spans: OtlpSpan[] }[] }[]
      }
      for (const resource of body.resourceSpans) {
        const name = resource.resource?.attributes?.find((a) => a.key === 'service.name')?.value.stringValue
        if (name) services.add(name)
        for (const scope of resource.scopeSpans) spans.push(...scope.spans)
      }
      return Response.json({})
    },
  })
  return { url: `http://127.0.0.1:${server.port}`, spans, services, stop: () => server.stop(true) }
}

const KEY = 'tracing-test-key'
let receiver: ReturnType<typeof startReceiver>
let upstream: FakeUpstream
/** Reads the request, then hangs up without a word: a failure after sending, which the gateway logs. */
let hangUp: Bun.TCPSocketListener<undefined>
let gateway: GatewayProcess
let client: OpenAI

beforeAll(async () => {
  receiver = startReceiver()
  upstream = startFakeUpstream()
  hangUp = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data: (socket) => void socket.end() } })
  gateway = await spawnMeterway({
    ...upstreamEnv(upstream.url),
    // Anthropic's upstream hangs up on every request: they fail, and the warning they log must carry the trace id.
    ANTHROPIC_BASE_URL: `http://127.0.0.1:${hangUp.port}`,
    GATEWAY_API_KEYS: KEY,
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_SERVICE_NAME: 'meterway-test',
  })
  client = new OpenAI({ apiKey: KEY, baseURL: `${gateway.url}/v1`, maxRetries: 0 })
})
afterAll(() => {
  gateway?.child.kill('SIGKILL')
  upstream?.stop()
  receiver?.stop()
  hangUp?.stop(true)
})

const attribute = (span: OtlpSpan, key: string) => span.attributes?.find((a) => a.key === key)?.value

test('a chat request, JSON and streamed, is one span with admission, upstream and settle children', async () => {
  const answer = await client.chat.completions.create({ model: 'openai/gpt-4o', messages: [{ role: 'user', content: 'trace me' }] }).withResponse()
  const requestId = answer.response.headers.get('x-request-id')!
  const stream = await client.chat.completions.create({ model: 'openai/gpt-4o', stream: true, messages: [{ role: 'user', content: 'trace me too' }] }).withResponse()
  for await (const _ of stream.data) {
  }
  const streamId = stream.response.headers.get('x-request-id')!

  for (const id of [requestId, streamId]) {
    const root = await waitFor(
      () => receiver.spans.find((s) => s.name === 'POST /v1/chat/completions' && attribute(s, 'meterway.request_id')?.stringValue === id),
      10_000,
      `the span of ${id}`,
    )
    const children = await waitFor(() => {
      const found = receiver.spans.filter((s) => s.parentSpanId === root.spanId)
      return ['admission', 'upstream', 'settle'].every((name) => found.some((s) => s.name === name)) ? found : null
    }, 10_000, `the children of ${id}`)
    for (const child of children) expect(child.traceId).toBe(root.traceId)
    expect(attribute(root, 'meterway.model')?.stringValue).toBe('openai/gpt-4o')
    expect(attribute(root, 'http.response.status_code')?.intValue).toBe(200)
  }
  expect(receiver.services).toContain('meterway-test')
})

test("a caller's traceparent makes the request part of the caller's trace", async () => {
  const traceId = crypto.randomUUID().replaceAll('-', '')
  const parentSpanId = traceId.slice(0, 16)
  const response = await fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json', traceparent: `00-${traceId}-${parentSpanId}-01` },
    body: JSON.stringify({ model: 'mock/echo', messages: [{ role: 'user', content: 'hi' }] }),
  })
  expect(response.status).toBe(200)
  const root = await waitFor(() => receiver.spans.find((s) => s.name === 'POST /v1/chat/completions' && s.traceId === traceId), 10_000, 'the span in the given trace')
  expect(root.parentSpanId).toBe(parentSpanId)
})

test('a request that logs a warning logs it with its trace id; a refused one is a span with its status', async () => {
  const failed = await client.chat.completions.create({ model: 'anthropic/claude-sonnet-4', messages: [{ role: 'user', content: 'hi' }] }).then(
    () => null,
    (error: { status: number; headers?: Headers }) => error,
  )
  expect(failed?.status).toBe(502)
  const line = await waitFor(
    () => gateway.output().split('\n').find((l) => l.includes('"upstream unreachable"')),
    10_000,
    'the upstream warning',
  )
  const logged = JSON.parse(line) as { requestId: string; traceId?: string }
  expect(logged.traceId).toMatch(/^[0-9a-f]{32}$/)
  const root = await waitFor(() => receiver.spans.find((s) => attribute(s, 'meterway.request_id')?.stringValue === logged.requestId), 10_000, 'the failed request span')
  expect(root.traceId).toBe(logged.traceId!)
  expect(attribute(root, 'http.response.status_code')?.intValue).toBe(502)

  const unauthorized = await fetch(`${gateway.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: 'Bearer nope' }, body: '{}' })
  const unauthorizedId = unauthorized.headers.get('x-request-id')
  await waitFor(
    () => receiver.spans.find((s) => attribute(s, 'meterway.request_id')?.stringValue === unauthorizedId && attribute(s, 'http.response.status_code')?.intValue === 401),
    10_000,
    'the refused request span',
  )
})
