// The SSE parser against every line ending, split at every position, and the provider fixtures.
import { describe, expect, test } from 'bun:test'
import { SseParser } from '../../src/lib/sse'
import { readFixture } from '../helpers/fixtures'

function parseAll(pieces: string[]): [string, string][] {
  const events: [string, string][] = []
  const parser = new SseParser((event, data) => events.push([event, data]))
  for (const piece of pieces) parser.push(piece)
  parser.end()
  return events
}

const expected: [string, string][] = [
  ['message', 'one'],
  ['ping', ''],
  ['message', 'multi\nline'],
  ['delta', '{"a":1}'],
]

function stream(eol: string): string {
  return ['data: one', '', ': a comment', 'event: ping', 'data:', '', 'data: multi', 'data:line', '', 'event: delta', 'data: {"a":1}', '', ''].join(eol)
}

describe('SseParser', () => {
  for (const [name, eol] of [['LF', '\n'], ['CRLF', '\r\n'], ['CR', '\r']] as const) {
    test(`${name} line endings, whole`, () => {
      expect(parseAll([stream(eol)])).toEqual(expected)
    })
    test(`${name} line endings, split at every position`, () => {
      const text = stream(eol)
      for (let i = 1; i < text.length; i++) {
        expect(parseAll([text.slice(0, i), text.slice(i)])).toEqual(expected)
      }
    })
    test(`${name} line endings, one character at a time`, () => {
      expect(parseAll([...stream(eol)])).toEqual(expected)
    })
  }

  test('an unterminated last event is still delivered at end()', () => {
    expect(parseAll(['data: tail'])).toEqual([['message', 'tail']])
  })

  test('Gemini fixture (CRLF) yields three JSON events', () => {
    const events = parseAll([readFixture('gemini.streamGenerateContent.sse')])
    expect(events).toHaveLength(3)
    for (const [, data] of events) expect(() => JSON.parse(data)).not.toThrow()
  })

  test('Anthropic fixture keeps event names', () => {
    const events = parseAll([readFixture('anthropic.messages.stream.sse')])
    expect(events.map(([e]) => e)).toEqual([
      'message_start', 'content_block_start', 'ping', 'content_block_delta', 'content_block_delta',
      'content_block_delta', 'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop',
    ])
  })
})
