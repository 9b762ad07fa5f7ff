// A client that leaves mid-stream: the upstream request is cancelled at once and the usage record bills what was streamed;
// one that leaves before any answer: the upstream call is aborted too.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { countTextTokens } from '../../src/metering/tokenizer'
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream'
import { startGateway, TEST_KEY, upstreamEnv, type TestGateway } from '../helpers/gateway'

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

/** Polls with a deadline generous for a loaded CI machine (the latency itself is logged, not asserted). */
async function until(condition: () => boolean, limitMs = 10_000): Promise<void> {
  const stopAt = Date.now() + limitMs
  while (!condition()) {
    if (Date.now() > stopAt) throw new Error('condition not met in time')
    await Bun.sleep(5)
  }
}

describe.each(['openai/gpt-4o', 'anthropic/claude-sonnet-4', 'google/gemini-2.0-flash'])('%s', (model) => {
  test('disconnecting mid-stream cancels the upstream request and records client_aborted with the tokens streamed so far', async () => {
    const streamsBefore = upstream.streams.length
    // The fake sends the fixture's events 40 ms apart, so the stream is still running when the client leaves.
    const { data: stream, response } = await gateway
      .client()
      .chat.completions.create({ model, stream: true, messages: [{ role: 'user', content: 'Hello scenario:slow' }] })
      .withResponse()
    let received = ''
    let abortedAt = 0
    for await (const chunk of stream) {
      received += chunk.choices[0]?.delta.content ?? ''
      if (received.length > 0) {
        abortedAt = performance.now()
        stream.controller.abort()
        break
      }
    }
    const record = await gateway.usageFor(response.headers.get('x-request-id')!)
    const life = upstream.streams[streamsBefore]!
    await until(() => life.closedAt !== null)

    // The upstream was cancelled, not run to its end: it never sent its remaining events.
    expect(life.cancelled).toBe(true)
    const latencyMs = life.closedAt! - abortedAt
    console.log(`${model}: upstream cancelled ${latencyMs.toFixed(1)} ms after the client disconnected`)

    expect(record.status).toBe('client_aborted')
    expect(record.stream).toBe(true)
    // Billed for what was generated up to the disconnect: at least what the client received, never the whole answer.
    expect(record.outputTokens).toBeGreaterThanOrEqual(countTextTokens(received))
    expect(record.outputTokens).toBeLessThan(countTextTokens('Hello! How can I help you today?'))
  })
})

describe.each([0, 200])('a client that leaves %i ms after its JSON request reached a silent upstream', (leaveAfterMs) => {
  // The gateway watches a client from its request's first deadline check (src/exchange/deadline.ts): one that left
  // before it is found gone then, one that leaves later is heard at once. Either way the upstream call is aborted.
  test('has its upstream call aborted and its request recorded as client_aborted', async () => {
    const requestsBefore = upstream.requests.length
    const recordsBefore = gateway.usage.length
    const client = new AbortController()
    const answer = fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'openai/gpt-4o', messages: [{ role: 'user', content: 'Hello scenario:stall' }] }),
      signal: client.signal,
    }).catch((error: Error) => error)
    await until(() => upstream.requests.length > requestsBefore)
    const sent = upstream.requests[requestsBefore]!
    if (leaveAfterMs > 0) await Bun.sleep(leaveAfterMs)
    const leftAt = performance.now()
    client.abort()
    expect(await answer).toBeInstanceOf(Error)

    await until(() => sent.abortedAt !== undefined)
    console.log(`left after ${leaveAfterMs} ms: upstream call aborted ${(sent.abortedAt! - leftAt).toFixed(1)} ms after the client left`)
    await until(() => gateway.usage.length > recordsBefore)
    const record = gateway.usage[recordsBefore]!
    expect(record).toMatchObject({ status: 'client_aborted', stream: false, outputTokens: 0 })
  })
})
