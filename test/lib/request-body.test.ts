// Request bodies under a byte limit: a declared length and a chunked body read to the same text, and both refused past the limit.
import { describe, expect, test } from 'bun:test'
import { PayloadTooLargeError } from '../../src/errors'
import { readBodyText } from '../../src/lib/request-body'

const BOM = [0xef, 0xbb, 0xbf]
// A BOM, ASCII, a two-byte letter, and a stray continuation byte (invalid UTF-8).
const BYTES = new Uint8Array([...BOM, ...new TextEncoder().encode('{"a":"é"}'), 0x80])

function withLength(bytes: Uint8Array): Request {
  return new Request('http://x/', { method: 'POST', body: bytes, headers: { 'content-length': String(bytes.byteLength) } })
}

function chunked(bytes: Uint8Array): Request {
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(bytes.subarray(0, 5))
      controller.enqueue(bytes.subarray(5))
      controller.close()
    },
  })
  return new Request('http://x/', { method: 'POST', body, duplex: 'half' } as RequestInit)
}

describe('readBodyText', () => {
  test('a declared length and a chunked body give the same text: BOM dropped, a bad byte replaced', async () => {
    const expected = '{"a":"é"}\uFFFD'
    expect(await readBodyText(withLength(BYTES), 1024)).toBe(expected)
    expect(await readBodyText(chunked(BYTES), 1024)).toBe(expected)
  })

  test('past the limit, declared or counted as it arrives: 413', async () => {
    await expect(readBodyText(withLength(BYTES), 8)).rejects.toBeInstanceOf(PayloadTooLargeError)
    await expect(readBodyText(chunked(BYTES), 8)).rejects.toBeInstanceOf(PayloadTooLargeError)
  })
})
