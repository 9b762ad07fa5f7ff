// Off-thread token counts equal countTextTokens (src/metering/tokenizer.ts) for every size, and the pool starts, stops and recovers.
import { afterAll, describe, expect, test } from 'bun:test'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { countTextTokensOffThread, OFF_THREAD_MIN_CHARS, startTokenPool, stopTokenPool } from '../../src/metering/token-pool'
import { countTextTokens } from '../../src/metering/tokenizer'

const ROOT = join(import.meta.dir, '..', '..')
const prose = readFileSync(join(ROOT, 'README.md'), 'utf8')
const code = readFileSync(join(ROOT, 'src', 'server.ts'), 'utf8')

function sized(source: string, chars: number): string {
  return source.repeat(Math.ceil(chars / source.length)).slice(0, chars)
}

afterAll(() => stopTokenPool())

describe('countTextTokensOffThread', () => {
  test('counts exactly what countTextTokens counts, below, at and above the threshold and in the bulk lane', async () => {
    startTokenPool(2)
    const texts = [
      '',
      'hi',
      sized(prose, OFF_THREAD_MIN_CHARS - 1),
      sized(prose, OFF_THREAD_MIN_CHARS),
      sized(code, 5_000),
      // Text that looks like special tokens is counted as text (encode_ordinary), on both sides.
      `${sized(prose, 1_200)} <|endoftext|> <|im_start|>user`,
      // Astral characters: a UTF-16 length twice the code points, and a surrogate pair split by the slice below.
      sized('emoji 🧮🪙 and accents éàü, 中文字符 ', 3_001),
      sized(prose + code, 200_000),
    ]
    const counts = await Promise.all(texts.map(countTextTokensOffThread))
    expect(counts).toEqual(texts.map(countTextTokens))
  })

  test('hundreds of counts at once come back to the right callers', async () => {
    const texts = Array.from({ length: 300 }, (_, i) => `${i} ${sized(i % 2 ? prose : code, OFF_THREAD_MIN_CHARS + i * 37)}`)
    const counts = await Promise.all(texts.map(countTextTokensOffThread))
    expect(counts).toEqual(texts.map(countTextTokens))
  })

  test('stop rejects the counts still waiting; the next count starts the pool again', async () => {
    const waiting = countTextTokensOffThread(sized(prose, 2_000_000))
    await stopTokenPool()
    await expect(waiting).rejects.toThrow('token pool stopped')
    const text = sized(code, 4_000)
    expect(await countTextTokensOffThread(text)).toBe(countTextTokens(text))
    // Idempotent start: a second call keeps the running threads.
    startTokenPool(1)
    startTokenPool(3)
    expect(await countTextTokensOffThread(text)).toBe(countTextTokens(text))
  })

  test('the event loop keeps turning while a 1 MB text is counted', async () => {
    let turns = 0
    const ticker = setInterval(() => turns++, 1)
    try {
      const text = sized(prose, 1_000_000)
      const count = await countTextTokensOffThread(text)
      expect(count).toBe(countTextTokens(text))
      // Counting 1 MB takes ~0.4 s; inline, the interval could not have fired once meanwhile.
      expect(turns).toBeGreaterThan(0)
    } finally {
      clearInterval(ticker)
    }
  })
})
