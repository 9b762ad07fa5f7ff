// The bound a progressive hold counts an unread OpenAI chunk by: never below the bytes the chunk's reader returns, for
// real chunks, hostile spellings and random text; tight on an ordinary content chunk; Infinity for text it cannot follow.
import { describe, expect, test } from 'bun:test'
import { EnvelopeBound, generatedBytesAtMost } from '../../src/providers/openai/generated-bound'
import { readChunkOutput } from '../../src/providers/openai/response'
import { readFixture } from '../helpers/fixtures'

const bytesRead = (chunk: string) => Buffer.byteLength(readChunkOutput(chunk))

/** The data of every event of an SSE fixture that is a JSON chunk. */
function fixtureChunks(name: string): string[] {
  return readFixture(name)
    .split('\n')
    .filter((line) => line.startsWith('data: {'))
    .map((line) => line.slice('data: '.length))
}

/** JSON with every non-ASCII character, and every key, spelt as \u escapes (Python's json.dumps with ensure_ascii). */
function escapedEverywhere(value: unknown): string {
  const escape = (s: string) => `"${[...s].map((ch) => { const code = ch.codePointAt(0)!; if (code < 0x80 && ch !== '"' && ch !== '\\' && code >= 0x20) return ch; return [...ch].map((unit) => `\\u${unit.charCodeAt(0).toString(16).padStart(4, '0')}`).join('') }).join('')}"`
  const keyEscape = (s: string) => `"${[...s].map((ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`).join('')}"`
  const walk = (v: unknown): string => {
    if (typeof v === 'string') return escape(v)
    if (Array.isArray(v)) return `[ ${v.map(walk).join(' , ')} ]`
    if (v && typeof v === 'object') return `{ ${Object.entries(v).map(([k, x]) => `${keyEscape(k)} : ${walk(x)}`).join(' , ')} }`
    return JSON.stringify(v)
  }
  return walk(value)
}

const chunkOf = (delta: Record<string, unknown>, choices = 1) => ({
  id: 'chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT',
  object: 'chat.completion.chunk',
  created: 1741570283,
  model: 'gpt-4o-2024-08-06',
  system_fingerprint: 'fp_f9f4fb6dbf',
  obfuscation: 'x'.repeat(40),
  choices: Array.from({ length: choices }, (_, index) => ({ index, delta, logprobs: null, finish_reason: null })),
  usage: null,
})

describe('generatedBytesAtMost', () => {
  test('covers every chunk of the OpenAI fixtures (text, tool calls), and counts only their generated text', () => {
    const chunks = ['openai.chat.stream.sse', 'openai.chat.stream.include_usage.sse', 'openai.chat.tools.stream.include_usage.sse'].flatMap(fixtureChunks)
    expect(chunks.length).toBeGreaterThan(10)
    for (const chunk of chunks) {
      const bound = generatedBytesAtMost(chunk)
      expect(bound).toBeGreaterThanOrEqual(bytesRead(chunk))
      // Beyond the output only a few short values (a role, a tool call's id and type, a finish reason): the chunk's id,
      // model and fingerprint are not counted, or a bound would reach a hold's end long before its output does.
      expect(bound).toBeLessThan(bytesRead(chunk) + 64)
    }
  })

  test('is exact on an ordinary content chunk: the delta text and nothing of the envelope', () => {
    const chunk = JSON.stringify(chunkOf({ content: ' token' }))
    expect(generatedBytesAtMost(chunk)).toBe(6)
    expect(bytesRead(chunk)).toBe(6)
  })

  test('covers hostile spellings: escaped keys and text, spaces, duplicate keys, several choices, reasoning, refusals', () => {
    const deltas: Record<string, unknown>[] = [
      { content: 'héllo wörld ✓ 𝄞 😀', refusal: null },
      { reasoning_content: 'thinking…\n\t"quoted" \\ back', content: 'ok' },
      { reasoning: 'r'.repeat(50), refusal: 'I can’t help with that.' },
      { tool_calls: [{ index: 0, id: 'call_abc', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Zürich","days":[1,2]}' } }] },
      { content: '\u0000\u001f\u2028\u2029 control and separators' },
    ]
    for (const delta of deltas) {
      for (const choices of [1, 3]) {
        const value = chunkOf(delta, choices)
        const spellings = [
          JSON.stringify(value),
          JSON.stringify(value, null, 2),
          escapedEverywhere(value),
          // Duplicate keys: JSON.parse keeps the last one; both are inside the bound.
          JSON.stringify(value).replace('"choices":', `"choices":${JSON.stringify(chunkOf({ content: 'shadowed' }).choices)},"choices":`),
        ]
        for (const chunk of spellings) {
          expect(JSON.parse(chunk)).toBeTruthy()
          expect(generatedBytesAtMost(chunk)).toBeGreaterThanOrEqual(bytesRead(chunk))
        }
      }
    }
  })

  test('covers random text of every kind of character, escaped or not', () => {
    // A fixed seed: the same cases every run, many of them.
    let seed = 0x9e3779b9
    const random = () => ((seed = (Math.imul(seed ^ (seed >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0) / 2 ** 32)
    const pool = ['a', ' ', '"', '\\', '\n', '\u0001', 'é', '€', '中', '😀', '\ud800', '{', '}', '[', ']', ':', ',']
    const text = (n: number) => Array.from({ length: n }, () => pool[Math.floor(random() * pool.length)]).join('')
    for (let i = 0; i < 2_000; i++) {
      const delta = { content: text(Math.floor(random() * 30)), tool_calls: [{ function: { name: text(5), arguments: text(Math.floor(random() * 40)) } }] }
      const value = chunkOf(delta, 1 + Math.floor(random() * 2))
      for (const chunk of [JSON.stringify(value), escapedEverywhere(value)]) {
        expect(generatedBytesAtMost(chunk)).toBeGreaterThanOrEqual(bytesRead(chunk))
      }
    }
  })

  test('text it cannot follow is unbounded (the caller parses it)', () => {
    const whole = JSON.stringify(chunkOf({ content: 'cut' }))
    expect(generatedBytesAtMost(whole.slice(0, whole.indexOf('cut') + 2))).toBe(Number.POSITIVE_INFINITY)
    expect(generatedBytesAtMost(whole.slice(0, -2))).toBe(Number.POSITIVE_INFINITY)
    expect(generatedBytesAtMost('{"a":"b\\')).toBe(Number.POSITIVE_INFINITY)
    expect(generatedBytesAtMost('}{')).toBe(Number.POSITIVE_INFINITY)
    expect(generatedBytesAtMost(`{"a":${'['.repeat(40)}"x"${']'.repeat(40)}}`)).toBe(Number.POSITIVE_INFINITY)
  })
})

describe('EnvelopeBound: one stream\'s chunks, its envelope scanned once', () => {
  test('gives generatedBytesAtMost\'s bound for every chunk of every fixture stream, in order', () => {
    for (const name of ['openai.chat.stream.sse', 'openai.chat.stream.include_usage.sse', 'openai.chat.tools.stream.include_usage.sse']) {
      const bound = new EnvelopeBound()
      const chunks = fixtureChunks(name)
      expect(chunks.length).toBeGreaterThan(3)
      for (const chunk of chunks) expect(bound.atMost(chunk)).toBe(generatedBytesAtMost(chunk))
    }
  })

  test('gives the same bound whatever follows the envelope, and falls back for chunks that do not start with it', () => {
    let seed = 0x51ed270b
    const random = () => ((seed = (Math.imul(seed ^ (seed >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0) / 2 ** 32)
    const pool = ['a', ' ', '"', '\\', '\n', 'é', '中', '😀', '{', '}', '[', ']', ':', ',', '"choices":']
    const text = (n: number) => Array.from({ length: n }, () => pool[Math.floor(random() * pool.length)]).join('')
    const { choices: _choices, usage: _usage, ...head } = chunkOf({})
    const envelopes: Record<string, unknown>[] = [
      head,
      { ...head, id: 'chatcmpl-"choices":[x' },
      // Strings below the top level before the choices: counted, once learnt too.
      { ...head, meta: { note: 'counted ✓', list: ['a', 'bb'] } },
      { ...head, created: 1741570284 },
    ]
    for (let stream = 0; stream < 200; stream++) {
      const bound = new EnvelopeBound()
      const envelope = envelopes[stream % envelopes.length]!
      for (let i = 0; i < 20; i++) {
        // Now and then a chunk with another envelope (a different created, another id): the full scan.
        const own = random() < 0.1 ? envelopes[(stream + 1) % envelopes.length]! : envelope
        const value = { ...own, choices: [{ index: 0, delta: { content: text(Math.floor(random() * 12)) }, logprobs: null, finish_reason: null }], usage: null }
        const spelt = random() < 0.2 ? escapedEverywhere(value) : JSON.stringify(value)
        // Cut short now and then: Infinity from both.
        const chunk = random() < 0.05 ? spelt.slice(0, Math.floor(random() * spelt.length)) : spelt
        expect(bound.atMost(chunk)).toBe(generatedBytesAtMost(chunk))
      }
    }
  })

  test('an envelope it cannot stop in (a "choices" inside a string, no choices at all) is not kept, and nothing changes', () => {
    const inString = JSON.stringify({ id: 'x\\"choices":[{"a":"b"}]', choices: [{ delta: { content: 'hi' } }] })
    const noChoices = JSON.stringify({ id: 'x', object: 'chat.completion.chunk' })
    for (const first of [inString, noChoices]) {
      const bound = new EnvelopeBound()
      expect(bound.atMost(first)).toBe(generatedBytesAtMost(first))
      const next = JSON.stringify(chunkOf({ content: 'ok' }))
      expect(bound.atMost(next)).toBe(generatedBytesAtMost(next))
    }
  })

  test('a chunk in the shape of the last one scanned whole (one generated string between the same text) gets the same bound', () => {
    let seed = 0x2545f491
    const random = () => ((seed = (Math.imul(seed ^ (seed >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0) / 2 ** 32)
    // Quotes, backslashes and escapes of every kind in the middle: a raw quote ends the string early, a backslash at
    // its end escapes the closing quote, \u escapes weigh their raw length.
    const pool = ['a', ' ', '"', '\\', '\n', '\\"', 'é', '中', '😀', '\u00e9', '}', '"},{"content":"', '","x":"']
    const text = (n: number) => Array.from({ length: n }, () => pool[Math.floor(random() * pool.length)]).join('')
    const deltas: (() => Record<string, unknown>)[] = [
      () => ({ content: text(Math.floor(random() * 8)) }),
      () => ({ content: text(3), refusal: null }),
      () => ({ role: 'assistant', content: '' }),
      () => ({}),
      () => ({ tool_calls: [{ index: 0, function: { arguments: text(Math.floor(random() * 6)) } }] }),
      () => ({ reasoning_content: text(4) }),
    ]
    let templated = 0
    for (let stream = 0; stream < 300; stream++) {
      const bound = new EnvelopeBound()
      for (let i = 0; i < 25; i++) {
        // Mostly the same shape (a content delta), now and then another one, several choices, or a finish reason.
        const delta = random() < 0.7 ? deltas[0]!() : deltas[Math.floor(random() * deltas.length)]!()
        const value = chunkOf(delta, random() < 0.1 ? 2 : 1)
        if (random() < 0.1) value.choices[0]!.finish_reason = 'stop' as never
        let chunk = JSON.stringify(value)
        // Raw text the JSON encoder would escape, spliced into the middle as it stands: the bound must agree even on text
        // that is not the shape's (a quote that ends the string, a backslash before the closing quote).
        if (random() < 0.3) {
          const at = chunk.indexOf('"content":"')
          if (at >= 0) chunk = chunk.slice(0, at + 11) + text(2) + chunk.slice(at + 11)
        }
        if (random() < 0.05) chunk = chunk.slice(0, Math.floor(random() * chunk.length))
        const expected = generatedBytesAtMost(chunk)
        expect(bound.atMost(chunk)).toBe(expected)
        if (Number.isFinite(expected)) templated++
      }
    }
    expect(templated).toBeGreaterThan(1000)
  })

  test('an ordinary stream is bounded exactly, chunk after chunk, once its shape is known', () => {
    const bound = new EnvelopeBound()
    const deltas = ['Sure', '!', ' Every', ' tokén', ' 中', '\n', ' "quoted"', ' back\\slash', '😀']
    for (const content of deltas) {
      const chunk = JSON.stringify(chunkOf({ content }))
      expect(bound.atMost(chunk)).toBe(generatedBytesAtMost(chunk))
      expect(bound.atMost(chunk)).toBeGreaterThanOrEqual(bytesRead(chunk))
    }
  })
})
