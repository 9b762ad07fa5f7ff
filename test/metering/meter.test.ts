// The meter's rules and the record's price: provider usage is authoritative, our count sits beside it, broken streams bill at least what was seen, nothing passes the hold.
import { describe, expect, test } from 'bun:test'
import { usageRecord, type RecordHeader } from '../../src/exchange/record'
import { nothingUsed, RequestMeter } from '../../src/metering/meter'
import { measurePrompt } from '../../src/metering/prompt'
import { countTextTokens } from '../../src/metering/tokenizer'
import type { ChatRequest } from '../../src/openai/chat-request'
import { buildCatalog } from '../../src/pricing/catalog'

const model = buildCatalog().find('openai/gpt-4o')!
const usage = (input: number, output: number) => ({ inputTokens: input, outputTokens: output, cachedInputTokens: 3, cacheWriteTokens: 0, reasoningTokens: 1 })
const done = { complete: true, reachedUpstream: true }
const broken = { complete: false, reachedUpstream: true }
const header: RecordHeader = {
  requestId: 'req_1', keyId: 'key_1', accountId: 'acct_1', model, stream: true, catalogVersion: 'test-1', moneyMode: 'prepaid',
  subject: 'acct_1', startedAt: performance.now(), startedAtIso: new Date().toISOString(),
}
const end = (limitNano: bigint | null) => ({ status: 'ok' as const, httpStatus: 200, errorCode: null, firstByteAt: null, limitNano })

describe('RequestMeter', () => {
  test('provider usage wins; our count and the difference are kept beside it', () => {
    const m = new RequestMeter(20, true)
    m.output('Hello')
    m.output(' world')
    m.setProviderUsage(usage(19, 4))
    expect(m.final(done)).toMatchObject({ source: 'both', inputTokens: 19, outputTokens: 4, countedInputTokens: 20, countedOutputTokens: 2, inputTokensDiff: -1, outputTokensDiff: 2, cachedInputTokens: 3, reasoningTokens: 1 })
  })

  test('without provider usage the count is billed', () => {
    const m = new RequestMeter(20, true)
    m.output('one two three')
    expect(m.final(broken)).toMatchObject({ source: 'counted', inputTokens: 20, outputTokens: countTextTokens('one two three') })
  })

  test('a broken stream bills at least what was seen, even if the provider reported less so far', () => {
    const m = new RequestMeter(20, true)
    m.setProviderUsage(usage(25, 1))
    m.output('Partial answer with several more tokens')
    const used = m.final(broken)
    expect(used.inputTokens).toBe(25)
    expect(used.outputTokens).toBe(countTextTokens('Partial answer with several more tokens'))
  })

  test('a stream the gateway cut bills exactly what it delivered, whatever the provider says it generated', () => {
    const m = new RequestMeter(20, false)
    m.output('delivered words')
    m.setProviderUsage(usage(25, 5_000))
    m.markTruncated()
    expect(m.final(done)).toMatchObject({ inputTokens: 25, outputTokens: countTextTokens('delivered words') })
  })

  test('with crosscheck off and provider usage present, nothing is counted', () => {
    const m = new RequestMeter(20, false)
    m.output('text')
    m.setProviderUsage(usage(5, 6))
    expect(m.final(done)).toMatchObject({ source: 'provider', countedOutputTokens: 0, outputTokensDiff: null })
  })

  test('a request that never reached the upstream used nothing', () => {
    const m = new RequestMeter(20, true)
    expect(m.final({ complete: false, reachedUpstream: false })).toEqual(nothingUsed(20))
    expect(nothingUsed(20)).toMatchObject({ inputTokens: 0, outputTokens: 0, countedInputTokens: 20 })
  })

  test('counting in runs (checkpoints, then the end) adds up to the whole output', () => {
    const m = new RequestMeter(0, true)
    const words = Array.from({ length: 300 }, (_, i) => ` word${i}`)
    words.slice(0, 100).forEach((w) => m.output(w))
    const early = m.sofar().outputTokens
    words.slice(100).forEach((w) => m.output(w))
    expect(early).toBe(countTextTokens(words.slice(0, 100).join('')))
    expect(m.final(broken).outputTokens).toBe(countTextTokens(words.join('')))
  })

  test('chunks are read only when they must be until the first checkpoint, then as they come; the count is the same', () => {
    const m = new RequestMeter(0, false)
    const read: string[] = []
    const reader = (chunk: string) => (read.push(chunk), chunk.slice(1))
    const chunks = Array.from({ length: 60 }, (_, i) => `# word${i}`)
    chunks.slice(0, 20).forEach((c) => m.outputLater(c, reader))
    expect(read).toEqual([])
    // Text given directly comes after them: they are read first, to keep the order.
    m.output(' direct')
    expect(read).toHaveLength(20)
    const early = m.sofar().outputTokens
    // A stream past its first checkpoint: each chunk is read at once, not held until the next one.
    m.outputLater(chunks[20]!, reader)
    expect(read).toHaveLength(21)
    chunks.slice(21).forEach((c) => m.outputLater(c, reader))
    const texts = [...chunks.slice(0, 20).map((c) => c.slice(1)), ' direct', ...chunks.slice(20).map((c) => c.slice(1))]
    expect(early).toBe(countTextTokens(texts.slice(0, 21).join('')))
    expect(m.final(broken).outputTokens).toBe(countTextTokens(texts.slice(0, 21).join('')) + countTextTokens(texts.slice(21).join('')))
  })
})

describe('usageRecord pricing', () => {
  test('16 uncached × $2.50 + 3 cached × $1.25 + 4 out × $10 per 1M, each class rounded up', () => {
    const m = new RequestMeter(20, false)
    m.setProviderUsage(usage(19, 4))
    expect(usageRecord(header, m.final(done), end(null))).toMatchObject({ costNano: 40_000 + 3_750 + 40_000, overHoldNano: 0, catalogVersion: 'test-1' })
  })

  test('a request that held money is billed at most its hold; the rest is recorded, not billed', () => {
    const m = new RequestMeter(20, false)
    m.setProviderUsage({ inputTokens: 128_000, outputTokens: 16_384, cachedInputTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 })
    const record = usageRecord(header, m.final(done), end(10_000_000n))
    expect(record.costNano).toBe(10_000_000)
    expect(record.overHoldNano).toBe(128_000 * 2_500 + 16_384 * 10_000 - 10_000_000)
  })
})

describe('measurePrompt', () => {
  const chat = (messages: ChatRequest['messages'], extra: Partial<ChatRequest> = {}): ChatRequest => ({ model: 'openai/gpt-4o', messages, ...extra })

  test('text follows OpenAI framing: 19 tokens for the fixture-style prompt', async () => {
    // OpenAI reported 19 prompt tokens for a system + user prompt of this shape in openai.chat.json.
    const measure = await measurePrompt(chat([{ role: 'system', content: 'You are a helpful assistant.' }, { role: 'user', content: 'Hello!' }]))
    expect(measure).toEqual({ textTokens: 19, imageDetails: [], uncountableParts: 0, hasTools: false })
  })

  test('cached counts equal fresh counts, however often and in whatever order texts repeat', async () => {
    const texts = ['You are a helpful assistant.', 'Hello!', 'Summarize the MoltbotDen platform in one sentence.', 'Hello!']
    const request = (contents: string[]) => chat(contents.map((content) => ({ role: 'user' as const, content })))
    const expected = 3 + texts.reduce((sum, text) => sum + 3 + countTextTokens('user') + countTextTokens(text), 0)
    for (let round = 0; round < 3; round++) expect((await measurePrompt(request(texts))).textTokens).toBe(expected)
    expect((await measurePrompt(request([...texts].reverse()))).textTokens).toBe(expected)
  })

  test('images are listed with their detail; files, audio and unknown parts are uncountable; refusals and tools are text', async () => {
    const measure = await measurePrompt(
      chat(
        [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'look' },
              { type: 'image_url', image_url: { url: 'https://x/y.png', detail: 'low' } },
              { type: 'image_url', image_url: { url: 'https://x/z.png' } },
              { type: 'file', file: { file_data: 'data:application/pdf;base64,AAAA' } },
              { type: 'input_audio', input_audio: { data: 'AAAA', format: 'wav' } },
              { type: 'video_url', video_url: 'https://x/v.mp4' },
            ] as never,
          },
          { role: 'assistant', content: [{ type: 'refusal', refusal: 'I cannot help with that.' }] as never },
        ],
        { tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object' } } }] },
      ),
    )
    expect(measure.imageDetails).toEqual(['low', undefined])
    expect(measure.uncountableParts).toBe(3)
    expect(measure.hasTools).toBe(true)
    expect(measure.textTokens).toBeGreaterThan(countTextTokens('I cannot help with that.') + countTextTokens('look'))
  })

  test('a large text is counted off the main thread, to the same number', async () => {
    const big = 'The quick brown fox jumps over the lazy dog. '.repeat(50_000)
    const measure = await measurePrompt(chat([{ role: 'user', content: big }]))
    expect(measure.textTokens).toBe(3 + 3 + countTextTokens('user') + countTextTokens(big))
  })

  test('special-token text is counted as text, not rejected', () => {
    expect(countTextTokens('<|endoftext|>')).toBeGreaterThan(1)
  })
})
