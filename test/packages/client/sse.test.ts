// The stream iterator on hand-made bodies: events split anywhere across chunks, CRLF, multi-line data, [DONE], and an error event mid-stream.
import { expect, test } from 'bun:test'
import { chatDeltas, MeterwayClientError, sseData } from '../../../packages/client/src'

/** A body that delivers `text` in pieces of `size` bytes (a multi-byte character may be cut in two). */
function body(text: string, size: number): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder().encode(text)
  let at = 0
  return new ReadableStream({
    pull(controller) {
      if (at >= bytes.length) return controller.close()
      controller.enqueue(bytes.slice(at, at + size))
      at += size
    },
  })
}

const chunk = (content: string) => `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content } }] })}\n\n`
const collect = async <T>(iterator: AsyncIterable<T>) => {
  const out: T[] = []
  for await (const item of iterator) out.push(item)
  return out
}

test('deltas come out whole and in order however the bytes are cut', async () => {
  const words = ['Héllo', ' wörld', ' — ', '🙂', ' done']
  const wire = `data: {"choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}\n\n${words.map(chunk).join('')}data: {"choices":[],"usage":{"total_tokens":3}}\n\ndata: [DONE]\n\n`
  for (const size of [1, 2, 3, 7, 64, wire.length]) {
    expect(await collect(chatDeltas(body(wire, size)))).toEqual(words)
  }
})

test('CRLF line ends, comments, multi-line data and a last event without a blank line', async () => {
  const wire = ': keep-alive\r\n\r\nevent: message\r\ndata: one\r\ndata: two\r\n\r\ndata:three\r\n\r\ndata: last'
  for (const size of [1, 5, wire.length]) expect(await collect(sseData(body(wire, size)))).toEqual(['one\ntwo', 'three', 'last'])
})

test('an error event mid-stream is a MeterwayClientError with its code, after the deltas before it', async () => {
  const wire = `${chunk('partial')}data: {"error":{"message":"upstream broke","type":"upstream_error","code":"upstream_error"}}\n\n`
  const seen: string[] = []
  let caught: unknown
  try {
    for await (const delta of chatDeltas(body(wire, 4))) seen.push(delta)
  } catch (error) {
    caught = error
  }
  expect(seen).toEqual(['partial'])
  expect(caught).toBeInstanceOf(MeterwayClientError)
  expect((caught as MeterwayClientError).code).toBe('upstream_error')
  expect((caught as MeterwayClientError).message).toBe('upstream broke')
})

test('[DONE] ends the iteration even if more bytes follow', async () => {
  expect(await collect(chatDeltas(body(`${chunk('a')}data: [DONE]\n\n${chunk('b')}`, 3)))).toEqual(['a'])
})
