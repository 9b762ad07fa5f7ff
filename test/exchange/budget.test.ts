// A progressive hold over chunks it may leave unread: far from the hold none is parsed, and wherever the money runs out
// the answer is cut after exactly the chunks it would be cut after if every chunk were read as it passed.
import { describe, expect, test } from 'bun:test'
import { budgeted } from '../../src/exchange/budget'
import type { EventHandler, RelaySink } from '../../src/exchange/relay-contract'
import { countTextTokens } from '../../src/metering/tokenizer'
import { EnvelopeBound } from '../../src/providers/openai/generated-bound'
import { readChunkOutput } from '../../src/providers/openai/response'
import type { ChunkBound, StreamSink, StreamTranslator } from '../../src/providers/types'

const chunkJson = (content: string) =>
  JSON.stringify({ id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o', choices: [{ index: 0, delta: { content }, finish_reason: null }], usage: null })

/** What reached the client side of the budget: chunks (by their text), unread chunks and texts passed to the meter, the cut. */
interface Seen {
  chunks: string[]
  laterChunks: number
  outputs: string[]
  truncated: boolean
}

function recordingSink(seen: Seen): RelaySink {
  return {
    chunk: (json) => seen.chunks.push(json),
    output: (delta) => seen.outputs.push(delta),
    outputLater: () => seen.laterChunks++,
    usage: () => {},
    fail: () => {},
    complete: () => {},
    truncate: () => (seen.truncated = true),
  }
}

/** OpenAI's translator in miniature: each chunk's output announced for later reading (with the bound, or not), then the chunk. */
function translatorWith(bound: ChunkBound | undefined, reads: { count: number }): (sink: StreamSink) => StreamTranslator {
  const read = (json: string) => {
    reads.count++
    return readChunkOutput(json)
  }
  return (sink) => ({
    onEvent(_event, data) {
      sink.outputLater(data, read, bound)
      sink.chunk(data)
    },
    onEnd() {},
  })
}

async function run(contents: string[], heldTokens: number, bound: ChunkBound | undefined, grants: number[] = []): Promise<{ seen: Seen; reads: number }> {
  const seen: Seen = { chunks: [], laterChunks: 0, outputs: [], truncated: false }
  const reads = { count: 0 }
  const handler: EventHandler = budgeted(recordingSink(seen), translatorWith(bound, reads), {
    heldTokens,
    sliceTokens: heldTokens,
    extend: async () => grants.shift() ?? 0,
    endOfCut: () => ['{"cut":true}'],
  })
  for (const content of contents) await handler.onEvent('message', chunkJson(content))
  handler.onEnd()
  return { seen, reads: reads.count }
}

describe('a progressive hold over chunks it can bound without reading', () => {
  test('far from the hold no chunk is read: each goes on unread, the meter to read it only if it must', async () => {
    const contents = ['Sure', '!', ' Every', ' token', ' is', ' counted', '.']
    const { seen, reads } = await run(contents, 256, new EnvelopeBound())
    expect(reads).toBe(0)
    expect(seen.laterChunks).toBe(contents.length)
    expect(seen.chunks).toHaveLength(contents.length)
    expect(seen.truncated).toBe(false)
  })

  test('the money runs out after exactly the chunks it would with every chunk read, for any hold and any text', async () => {
    const words = [' the', ' gateway', ' bills', ' héllo', ' 中文字', ' 😀😀', ' a', 'b', ' token', '\n\n', ' naïve', ' “quoted”']
    let seed = 7
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31)
    const contents = Array.from({ length: 120 }, () => Array.from({ length: 1 + Math.floor(random() * 4) }, () => words[Math.floor(random() * words.length)]).join(''))
    for (const held of [16, 32, 50, 64, 100, 128]) {
      const eager = await run(contents, held, undefined)
      const lazy = await run(contents, held, new EnvelopeBound())
      expect(lazy.seen.chunks).toEqual(eager.seen.chunks)
      expect(lazy.seen.truncated).toBe(true)
      // Everything delivered fits the hold, as the eager budget counted it.
      const delivered = lazy.seen.chunks.filter((c) => c !== '{"cut":true}').map(readChunkOutput).join('')
      expect(countTextTokens(delivered)).toBeLessThanOrEqual(held)
      // Never more parses: a chunk left unread far from the end is read once, when the end nears.
      expect(lazy.reads).toBeLessThanOrEqual(eager.reads)
    }
  })

  test('a slice granted on the way: the same chunks pass and the same cut comes, read or not', async () => {
    const contents = Array.from({ length: 60 }, (_, i) => ` word${i}`)
    const eager = await run(contents, 24, undefined, [24])
    const lazy = await run(contents, 24, new EnvelopeBound(), [24])
    expect(lazy.seen.chunks).toEqual(eager.seen.chunks)
    expect(lazy.seen.truncated).toBe(eager.seen.truncated)
    expect(lazy.seen.chunks.length).toBeGreaterThan(10)
  })
})
