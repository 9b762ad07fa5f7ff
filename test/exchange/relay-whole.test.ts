// On a busy gateway an answer the upstream finished before our first byte goes out whole (one body, finished at once);
// one still arriving is streamed piece by piece as before, the read prime() left waiting taken up, nothing lost or doubled.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { UpstreamError } from '../../src/errors'
import { UpstreamDeadline } from '../../src/exchange/deadline'
import type { Outcome } from '../../src/exchange/outcome'
import { StreamRelay } from '../../src/exchange/relay'
import type { EventHandler, RelaySink } from '../../src/exchange/relay-contract'
import { waitFor } from '../helpers/poll'

const WORDS = ['one', 'two', 'three', 'four', 'five', 'six']
const event = (word: string) => `data: {"word":"${word}"}\n\n`
const encoder = new TextEncoder()

/** Where the test's upstream answers: each request's body is given by the test, piece by piece. */
let upstream: ReturnType<typeof Bun.serve>
let nextBody: ReadableStream<Uint8Array>

beforeAll(() => {
  upstream = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: () => new Response(nextBody, { headers: { 'content-type': 'text/event-stream' } }) })
})
afterAll(() => upstream.stop(true))

/** A body the test writes to: `send` a piece (flushed at once), then `end` it. */
function upstreamBody() {
  let controller!: ReadableStreamDirectController
  let ended!: () => void
  const over = new Promise<void>((resolve) => (ended = resolve))
  const source: Bun.DirectUnderlyingSource<Uint8Array> = {
    type: 'direct',
    async pull(c) {
      controller = c
      await over
      c.close()
    },
  }
  nextBody = new ReadableStream(source)
  return {
    ready: () => waitFor(() => controller !== undefined, 5_000, 'the upstream body to open'),
    send(text: string) {
      controller.write(encoder.encode(text))
      controller.flush()
    },
    end: () => ended(),
  }
}

/** Passes each word on as a chunk; [DONE] completes; `cut` ends the answer as a spent budget would, `fail` as an error event does. */
function handler(seen: string[]): (sink: RelaySink) => EventHandler {
  return (sink) => ({
    onEvent(_event, data) {
      if (data === '[DONE]') return void sink.complete()
      const { word } = JSON.parse(data) as { word: string }
      if (word === 'cut') return void sink.truncate()
      if (word === 'fail') return void sink.fail(new UpstreamError('The upstream reported an error mid-stream.', 'upstream_error_event'))
      seen.push(word)
      sink.chunk(data)
    },
    onEnd: () => void seen.push('end'),
  })
}

interface Opened {
  relay: StreamRelay
  seen: string[]
  outcomes: Outcome[]
  sent: { pieces: number; whole: number }
}

async function openBusyRelay(): Promise<Opened> {
  const response = await fetch(`http://127.0.0.1:${upstream.port}/`)
  const seen: string[] = []
  const sent = { pieces: 0, whole: 0 }
  const deadline = new UpstreamDeadline(5_000, 10_000, undefined)
  const client = { sent: () => void sent.pieces++, sentWhole: () => void sent.whole++ }
  // firstOutputAhead false: a busy gateway.
  const relay = new StreamRelay(response, handler(seen), deadline, false, client, false)
  return { relay, seen, outcomes: [], sent }
}

const wordsOf = (body: string) =>
  body
    .split('\n\n')
    .filter((e) => e.startsWith('data: {'))
    .map((e) => (JSON.parse(e.slice(6)) as { word: string }).word)

describe('StreamRelay on a busy gateway', () => {
  test('an answer that arrived whole goes as one body, finished once before the client reads it', async () => {
    const body = upstreamBody()
    const opening = openBusyRelay()
    await body.ready()
    body.send(WORDS.map(event).join('') + 'data: [DONE]\n\n')
    body.end()
    const { relay, seen, outcomes, sent } = await opening
    expect(await relay.prime()).toBe(true)
    expect(seen).toEqual([...WORDS, 'end'])

    const response = relay.toResponse({ 'x-request-id': 'req_1' }, { finish: (o) => void outcomes.push(o) })
    // Finished as it is handed over, as a JSON answer is: nothing is left to read.
    expect(outcomes).toHaveLength(1)
    expect(outcomes[0]).toMatchObject({ status: 'ok', complete: true })
    expect(sent).toEqual({ pieces: 0, whole: 1 })
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8')
    expect(response.headers.get('x-request-id')).toBe('req_1')
    const text = await response.text()
    expect(wordsOf(text)).toEqual(WORDS)
    expect(text.endsWith('data: [DONE]\n\n')).toBe(true)
    expect(text.split('data: [DONE]').length).toBe(2)
    expect(outcomes).toHaveLength(1)
  })

  test('an answer still arriving is streamed: its first piece reaches the client before the upstream sends the next', async () => {
    const body = upstreamBody()
    const opening = openBusyRelay()
    await body.ready()
    body.send(event('one') + event('two'))
    const { relay, seen, outcomes, sent } = await opening
    expect(await relay.prime()).toBe(true)
    expect(seen).toEqual(['one', 'two'])

    const response = relay.toResponse({}, { finish: (o) => void outcomes.push(o) })
    const reader = response.body!.getReader()
    const decoder = new TextDecoder()
    let received = ''
    while (wordsOf(received).length < 2) {
      const { value, done } = await reader.read()
      expect(done).toBe(false)
      received += decoder.decode(value, { stream: true })
    }
    // Nothing more was sent upstream yet: what the client has is the first piece, alone.
    expect(wordsOf(received)).toEqual(['one', 'two'])
    expect(outcomes).toHaveLength(0)

    body.send(event('three'))
    body.send(WORDS.slice(3).map(event).join('') + 'data: [DONE]\n\n')
    body.end()
    for (;;) {
      const { value, done } = await reader.read()
      if (done) break
      received += decoder.decode(value, { stream: true })
    }
    expect(wordsOf(received)).toEqual(WORDS)
    expect(received.endsWith('data: [DONE]\n\n')).toBe(true)
    expect(seen).toEqual([...WORDS, 'end'])
    await waitFor(() => outcomes.length === 1, 5_000, 'the stream finished')
    expect(outcomes[0]).toMatchObject({ status: 'ok', complete: true })
    expect(sent.whole).toBe(0)
    expect(sent.pieces).toBeGreaterThanOrEqual(2)
  })

  test('an upstream error event after the first output: one body ending in the error event, the failure billed as such', async () => {
    const body = upstreamBody()
    const opening = openBusyRelay()
    await body.ready()
    body.send(event('one') + event('two') + event('fail') + event('three'))
    const { relay, seen, outcomes, sent } = await opening
    expect(await relay.prime()).toBe(true)
    const text = await relay.toResponse({}, { finish: (o) => void outcomes.push(o) }).text()
    expect(wordsOf(text)).toEqual(['one', 'two'])
    expect(text).toContain('"code":"upstream_error_event"')
    expect(text).not.toContain('[DONE]')
    expect(outcomes).toEqual([expect.objectContaining({ status: 'upstream_error', httpStatus: 200, errorCode: 'upstream_error_event', complete: false })])
    expect(sent).toEqual({ pieces: 0, whole: 1 })
    expect(seen).not.toContain('three')
    body.end()
  })

  test('an upstream that breaks while its next read waits: the relay, not an unhandled rejection, reports it', async () => {
    // A raw socket: the chunked body's first piece, then (once prime() has returned) the connection closes mid-body.
    let upstreamSocket: { end(): void } | null = null
    let closed = false
    const first = event('one') + event('two')
    const broken = Bun.listen({
      hostname: '127.0.0.1',
      port: 0,
      socket: {
        data(socket) {
          upstreamSocket = socket
          socket.write(`HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n${first.length.toString(16)}\r\n${first}\r\n`)
        },
        close() {
          closed = true
        },
      },
    })
    try {
      const seen: string[] = []
      const outcomes: Outcome[] = []
      const response = await fetch(`http://127.0.0.1:${broken.port}/`)
      const relay = new StreamRelay(response, handler(seen), new UpstreamDeadline(5_000, 10_000, undefined), false, { sent() {}, sentWhole() {} }, false)
      expect(await relay.prime()).toBe(true)
      upstreamSocket!.end()
      await waitFor(() => closed, 5_000, 'the upstream connection to close')
      const text = await relay.toResponse({}, { finish: (o) => void outcomes.push(o) }).text()
      expect(wordsOf(text)).toEqual(['one', 'two'])
      expect(text).toContain('upstream_disconnected')
      await waitFor(() => outcomes.length === 1, 5_000, 'the stream finished')
      expect(outcomes[0]).toMatchObject({ status: 'upstream_error', httpStatus: 200, errorCode: 'upstream_disconnected' })
    } finally {
      broken.stop(true)
    }
  })

  test('an upstream that ended without finishing its answer: upstream_incomplete, not a clean [DONE]', async () => {
    const body = upstreamBody()
    const opening = openBusyRelay()
    await body.ready()
    body.send(event('one') + event('two'))
    body.end()
    const { relay, outcomes } = await opening
    expect(await relay.prime()).toBe(true)
    const text = await relay.toResponse({}, { finish: (o) => void outcomes.push(o) }).text()
    expect(wordsOf(text)).toEqual(['one', 'two'])
    expect(text).toContain('upstream_incomplete')
    expect(outcomes).toEqual([expect.objectContaining({ status: 'upstream_error', errorCode: 'upstream_incomplete', complete: false })])
  })

  test('an answer the budget cut while still arriving: one body ending in [DONE]', async () => {
    const body = upstreamBody()
    const opening = openBusyRelay()
    await body.ready()
    body.send(event('one') + event('two') + event('cut') + event('three'))
    const { relay, seen, outcomes } = await opening
    expect(await relay.prime()).toBe(true)
    const text = await relay.toResponse({}, { finish: (o) => void outcomes.push(o) }).text()
    expect(wordsOf(text)).toEqual(['one', 'two'])
    expect(text.endsWith('data: [DONE]\n\n')).toBe(true)
    expect(outcomes).toEqual([expect.objectContaining({ status: 'ok', complete: false })])
    expect(seen).not.toContain('three')
    body.end()
  })
})
