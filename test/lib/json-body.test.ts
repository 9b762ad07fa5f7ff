// JSON bodies under our limits: parsed, or refused as broken (invalid_json), too deep (nesting_too_deep) or too large (413, chunked too).
import { describe, expect, test } from 'bun:test'
import { PayloadTooLargeError, type InvalidRequestError } from '../../src/errors'
import { parseJsonBody } from '../../src/lib/json-body'
import { MAX_JSON_DEPTH } from '../../src/lib/json-depth'
import { readBodyBytes } from '../../src/lib/request-body'
import { chunkedBody, deepArrays } from '../helpers/hostile'

const refusal = (text: string) => {
  try {
    parseJsonBody(text)
  } catch (error) {
    return error as InvalidRequestError
  }
  throw new Error('expected a refusal')
}

describe('parseJsonBody', () => {
  test('valid JSON comes back parsed', () => {
    expect(parseJsonBody('{"a":[1,{"b":null}]}')).toEqual({ a: [1, { b: null }] })
  })

  test('broken JSON is 400 invalid_json; too deep is 400 nesting_too_deep naming the path', () => {
    expect(refusal('{"a":').code).toBe('invalid_json')
    const deep = refusal(`{"messages":[{"role":"user","content":"hi"}],"zz":${deepArrays(100_000)}}`)
    expect(deep.status).toBe(400)
    expect(deep.code).toBe('nesting_too_deep')
    expect(deep.param).toBe(`zz${'[0]'.repeat(MAX_JSON_DEPTH - 1)}`)
  })
})

describe('readBodyBytes', () => {
  const request = (body: string | ReadableStream<Uint8Array>, headers: Record<string, string> = {}) => new Request('http://local/', { method: 'POST', body, headers })

  test('reads a body at the limit, refuses one byte more by Content-Length without reading it', async () => {
    expect((await readBodyBytes(request('x'.repeat(100)), 100)).byteLength).toBe(100)
    await expect(readBodyBytes(request('x'.repeat(101)), 100)).rejects.toBeInstanceOf(PayloadTooLargeError)
  })

  test('a chunked body is counted as it arrives and cut at the limit', async () => {
    expect((await readBodyBytes(request(chunkedBody(40_000)), 40_000)).byteLength).toBe(40_000)
    await expect(readBodyBytes(request(chunkedBody(10_000_000)), 40_000)).rejects.toBeInstanceOf(PayloadTooLargeError)
  })
})
