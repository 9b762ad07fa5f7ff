// Through a busy gateway, an upstream stream that had fully arrived before its first byte went out is answered as one
// SSE body: the OpenAI SDK reads the provider's text and usage as a streamed answer gives them, and the request is
// billed once, on the provider's numbers.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { QUIET_UPSTREAM_CALLS } from '../../src/exchange/relay-contract'
import { upstreamPool } from '../../src/providers/http'
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream'
import { readFixture } from '../helpers/fixtures'
import { startGateway, TEST_KEY, upstreamEnv, type TestGateway } from '../helpers/gateway'
import { waitFor } from '../helpers/poll'

let upstream: FakeUpstream
let gateway: TestGateway

beforeAll(async () => {
  upstream = startFakeUpstream()
  gateway = await startGateway(upstreamEnv(upstream.url))
})
afterAll(async () => {
  await gateway.stop()
  upstream.stop()
})

const ask = { model: 'openai/gpt-4o', messages: [{ role: 'user' as const, content: 'Hello!' }], stream: true as const, stream_options: { include_usage: true } }

/** The SDK's view of one streamed answer: every chunk's content and finish, and the usage chunk. */
async function streamWithSdk(): Promise<{ text: string; finishes: string[]; usage: { prompt_tokens: number; completion_tokens: number } | undefined; requestId: string }> {
  const { data: stream, response } = await gateway.client({ apiKey: TEST_KEY }).chat.completions.create(ask).withResponse()
  let text = ''
  const finishes: string[] = []
  let usage: { prompt_tokens: number; completion_tokens: number } | undefined
  for await (const chunk of stream) {
    if (chunk.usage) usage = chunk.usage
    for (const choice of chunk.choices) {
      text += choice.delta.content ?? ''
      if (choice.finish_reason) finishes.push(choice.finish_reason)
    }
  }
  return { text, finishes, usage, requestId: response.headers.get('x-request-id')! }
}

/** What the fake upstream's stream (its fixture) says: the text of its deltas, and its usage chunk. */
function fixtureAnswer(): { text: string; usage: { prompt_tokens: number; completion_tokens: number } } {
  let text = ''
  let usage: { prompt_tokens: number; completion_tokens: number } | undefined
  for (const line of readFixture('openai.chat.stream.include_usage.sse').split('\n')) {
    if (!line.startsWith('data: {')) continue
    const chunk = JSON.parse(line.slice(6)) as { choices: { delta: { content?: string | null } }[]; usage?: { prompt_tokens: number; completion_tokens: number } | null }
    for (const choice of chunk.choices) text += choice.delta.content ?? ''
    if (chunk.usage) usage = chunk.usage
  }
  return { text, usage: usage! }
}

/** The raw answer's framing: a stream the gateway relayed is chunked; an answer sent whole has its length. */
async function framing(): Promise<{ chunked: boolean; length: string | null; body: string }> {
  const response = await fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TEST_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify(ask),
  })
  expect(response.status).toBe(200)
  expect(response.headers.get('content-type')).toStartWith('text/event-stream')
  return { chunked: response.headers.get('transfer-encoding') === 'chunked', length: response.headers.get('content-length'), body: await response.text() }
}

describe('an answer that arrived whole, through a busy gateway', () => {
  test('the SDK reads the provider text and usage from it; the request is finished and billed once, on the provider usage', async () => {
    const expected = fixtureAnswer()
    // Busy: more upstream calls in flight than QUIET_UPSTREAM_CALLS (stalled upstream answers, let go at the end; the
    // pool is the process's, so calls other test files left open may already count).
    const stalled = Array.from({ length: QUIET_UPSTREAM_CALLS + 1 }, () => {
      const controller = new AbortController()
      const call = fetch(`${gateway.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TEST_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ ...ask, messages: [{ role: 'user', content: 'Hello! scenario:stall' }] }),
        signal: controller.signal,
      }).catch(() => null)
      return { controller, call }
    })
    try {
      await waitFor(() => upstreamPool.stats().active > QUIET_UPSTREAM_CALLS, 10_000, 'the gateway to be busy')
      const busyFrame = await framing()
      expect(busyFrame.chunked).toBe(false)
      expect(Number(busyFrame.length)).toBe(Buffer.byteLength(busyFrame.body))
      expect(busyFrame.body.endsWith('data: [DONE]\n\n')).toBe(true)

      const busy = await streamWithSdk()
      expect(busy.text).toBe(expected.text)
      expect(busy.text.length).toBeGreaterThan(0)
      expect(busy.finishes).toEqual(['stop'])
      expect(busy.usage).toMatchObject(expected.usage)

      const record = await gateway.usageFor(busy.requestId)
      expect(record.status).toBe('ok')
      expect(record.inputTokens).toBe(busy.usage!.prompt_tokens)
      expect(record.outputTokens).toBe(busy.usage!.completion_tokens)
      expect(gateway.finishes.get(busy.requestId)!.filter((f) => f.first)).toHaveLength(1)
    } finally {
      for (const { controller } of stalled) controller.abort()
      await Promise.all(stalled.map((s) => s.call))
    }
  }, 30_000)
})
