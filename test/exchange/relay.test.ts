// The relay's first byte: on a quiet gateway an upstream piece holding the whole answer sends its first chunk before the
// rest is handled, and every event still reaches the handler once, in order, whether the client reads to the end or
// leaves at once; under load the piece is handled whole, for one write (relay-whole.test.ts: what follows from that).
import { describe, expect, test } from 'bun:test'
import { UpstreamDeadline } from '../../src/exchange/deadline'
import type { Outcome } from '../../src/exchange/outcome'
import { StreamRelay } from '../../src/exchange/relay'
import { QUIET_UPSTREAM_CALLS, quietGateway, type EventHandler, type RelaySink } from '../../src/exchange/relay-contract'
import { upstreamPool } from '../../src/providers/http'
import { waitFor } from '../helpers/poll'

const EVENTS = ['one', 'two', 'three', 'four']

/** An upstream whose body is one piece: every event of the answer, then [DONE]. */
function onePieceUpstream(): Response {
  const text = EVENTS.map((word) => `data: {"word":"${word}"}\n\n`).join('') + 'data: [DONE]\n\n'
  return new Response(new TextEncoder().encode(text), { headers: { 'content-type': 'text/event-stream' } })
}

/** A handler that passes each event on as a chunk and records what it saw. */
function recordingHandler(seen: string[]): (sink: RelaySink) => EventHandler {
  return (sink) => ({
    onEvent(_event, data) {
      if (data === '[DONE]') {
        sink.complete()
        return
      }
      seen.push((JSON.parse(data) as { word: string }).word)
      sink.chunk(data)
    },
    onEnd() {
      seen.push('end')
    },
  })
}

/** A relay over onePieceUpstream; `quiet`: the gateway was quiet when it opened (its first output goes ahead). */
function openRelay(seen: string[], quiet = true): { relay: StreamRelay; outcomes: Outcome[] } {
  const deadline = new UpstreamDeadline(5_000, 10_000, undefined)
  const relay = new StreamRelay(onePieceUpstream(), recordingHandler(seen), deadline, false, { sent() {}, sentWhole() {} }, quiet)
  return { relay, outcomes: [] }
}

describe('StreamRelay first byte', () => {
  test('prime() stops handling at the first output; the rest follows it to the client, in order', async () => {
    const seen: string[] = []
    const { relay, outcomes } = openRelay(seen)
    expect(await relay.prime()).toBe(true)
    // Only the event that made the first chunk was handled before the answer could start.
    expect(seen).toEqual(['one'])

    const response = relay.toResponse({}, { finish: (outcome) => void outcomes.push(outcome) })
    const body = await response.text()
    const words = body
      .split('\n\n')
      .filter((e) => e.startsWith('data: {'))
      .map((e) => (JSON.parse(e.slice(6)) as { word: string }).word)
    expect(words).toEqual(EVENTS)
    expect(body.endsWith('data: [DONE]\n\n')).toBe(true)
    expect(seen).toEqual([...EVENTS, 'end'])
    await waitFor(() => outcomes.length === 1, 5_000, 'the stream finished once')
    expect(outcomes[0]).toMatchObject({ status: 'ok', complete: true })
  })

  test('on a busy gateway the whole piece is handled first (and the body read to its end), for one write', async () => {
    const seen: string[] = []
    const { relay, outcomes } = openRelay(seen, false)
    expect(await relay.prime()).toBe(true)
    expect(seen).toEqual([...EVENTS, 'end'])
    const body = await relay.toResponse({}, { finish: (outcome) => void outcomes.push(outcome) }).text()
    expect(body.split('\n\n').filter((e) => e.startsWith('data: {')).length).toBe(EVENTS.length)
    expect(seen).toEqual([...EVENTS, 'end'])
  })

  test('busy means more upstream calls in flight through the pool than QUIET_UPSTREAM_CALLS', async () => {
    // Real upstream calls through the pool, held open by a server that answers only when told.
    let answer!: () => void
    const answered = new Promise<void>((resolve) => (answer = resolve))
    const slow = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: async () => (await answered, new Response('ok')) })
    const calls = Array.from({ length: QUIET_UPSTREAM_CALLS + 1 }, () => {
      const controller = new AbortController()
      return { controller, done: upstreamPool.send(`http://127.0.0.1:${slow.port}/`, { signal: controller.signal }).then((r) => r.text()) }
    })
    try {
      expect(upstreamPool.stats().active).toBeGreaterThan(QUIET_UPSTREAM_CALLS)
      expect(quietGateway()).toBe(false)
    } finally {
      answer()
      await Promise.all(calls.map((c) => c.done))
      for (const c of calls) c.controller.abort()
      slow.stop(true)
    }
  })

  test('a client that leaves before reading: the held events still reach the handler (and its meter) before it ends', async () => {
    const seen: string[] = []
    const { relay, outcomes } = openRelay(seen)
    expect(await relay.prime()).toBe(true)
    const response = relay.toResponse({}, { finish: (outcome) => void outcomes.push(outcome) })
    await response.body!.cancel()
    await waitFor(() => outcomes.length === 1, 5_000, 'the stream finished once')
    expect(outcomes[0]).toMatchObject({ status: 'client_aborted' })
    expect(seen).toEqual([...EVENTS, 'end'])
  })
})
