// The meter's rules: provider usage is authoritative, our count sits beside it, broken streams bill at least what was seen.
import { describe, expect, test } from 'bun:test'
import { RequestMeter } from '../../src/metering/meter'
import { countPromptTokens, countTextTokens } from '../../src/metering/tokenizer'
import type { UsageRecord } from '../../src/metering/usage-record'
import { buildCatalog } from '../../src/pricing/catalog'

const model = buildCatalog().find('openai/gpt-4o')!

function meter(crosscheck = true) {
  const records: UsageRecord[] = []
  const m = new RequestMeter(
    { requestId: 'req_1', keyId: 'key_1', accountId: 'acct_1', model, stream: true, promptTokens: 20, startedAt: performance.now(), catalogVersion: 'test-1', moneyMode: 'none', subject: 'acct_1' },
    (record) => records.push(record),
    crosscheck,
  )
  return { m, records }
}
const usage = (input: number, output: number) => ({ inputTokens: input, outputTokens: output, cachedInputTokens: 3, cacheWriteTokens: 0, reasoningTokens: 1 })

describe('RequestMeter', () => {
  test('provider usage wins; our count and the difference are kept beside it', () => {
    const { m, records } = meter()
    m.addText('Hello')
    m.addText(' world')
    m.setProviderUsage(usage(19, 4))
    m.finish('ok', 200)
    // 16 uncached × $2.50 + 3 cached × $1.25 + 4 out × $10 per 1M, each class rounded up.
    expect(records[0]).toMatchObject({ costNano: 40_000 + 3_750 + 40_000, catalogVersion: 'test-1' })
    expect(records[0]).toMatchObject({ source: 'both', inputTokens: 19, outputTokens: 4, countedInputTokens: 20, countedOutputTokens: 2, inputTokensDiff: -1, outputTokensDiff: 2, cachedInputTokens: 3, reasoningTokens: 1 })
  })

  test('without provider usage the count is billed', () => {
    const { m, records } = meter()
    m.addText('one two three')
    m.finish('client_aborted', 200)
    expect(records[0]).toMatchObject({ source: 'counted', inputTokens: 20, outputTokens: countTextTokens('one two three'), status: 'client_aborted' })
  })

  test('a broken stream bills at least what was seen, even if the provider reported less so far', () => {
    const { m, records } = meter()
    m.setProviderUsage(usage(25, 1))
    m.addText('Partial answer with several more tokens')
    m.finish('upstream_error', 200, 'overloaded')
    expect(records[0]!.inputTokens).toBe(25)
    expect(records[0]!.outputTokens).toBe(countTextTokens('Partial answer with several more tokens'))
  })

  test('with crosscheck off and provider usage present, nothing is counted', () => {
    const { m, records } = meter(false)
    m.addText('text')
    m.setProviderUsage(usage(5, 6))
    m.finish('ok', 200)
    expect(records[0]).toMatchObject({ source: 'provider', countedOutputTokens: 0, outputTokensDiff: null })
  })

  test('exactly one record, however many times finish is called', () => {
    const { m, records } = meter()
    m.finish('ok', 200)
    m.finish('client_aborted', 200)
    expect(records).toHaveLength(1)
  })
})

describe('tokenizer', () => {
  test('prompt count follows OpenAI framing: 19 tokens for the fixture-style prompt', () => {
    // OpenAI reported 19 prompt tokens for a system + user prompt of this shape in openai.chat.json.
    const tokens = countPromptTokens({ model: 'openai/gpt-4o', messages: [{ role: 'system', content: 'You are a helpful assistant.' }, { role: 'user', content: 'Hello!' }] })
    expect(tokens).toBe(19)
  })
  test('cached message counts equal fresh counts, however often and in whatever order texts repeat', () => {
    const texts = ['You are a helpful assistant.', 'Hello!', 'Summarize the MoltbotDen platform in one sentence.', 'Hello!']
    const request = (contents: string[]) => ({ model: 'x', messages: contents.map((content) => ({ role: 'user' as const, content })) })
    const expected = 3 + texts.reduce((sum, text) => sum + 3 + countTextTokens('user') + countTextTokens(text), 0)
    for (let round = 0; round < 3; round++) expect(countPromptTokens(request(texts))).toBe(expected)
    expect(countPromptTokens(request([...texts].reverse()))).toBe(expected)
  })
  test('special-token text is counted as text, not rejected', () => {
    expect(countTextTokens('<|endoftext|>')).toBeGreaterThan(1)
  })
})
