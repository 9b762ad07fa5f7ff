// A long-prompt price tier (Gemini 2.5 Pro above 200k prompt tokens): held at the tier the prompt can reach, billed at the tier it reached, never above the hold.
import { describe, expect, test } from 'bun:test'
import { estimateChat } from '../../src/exchange/estimate'
import { usageRecord, type RecordHeader } from '../../src/exchange/record'
import type { MeteredUsage } from '../../src/metering/meter'
import type { PromptMeasure } from '../../src/metering/prompt'
import type { ChatRequest } from '../../src/openai/chat-request'
import { buildCatalog, pricesAt } from '../../src/pricing/catalog'
import { usageCost } from '../../src/pricing/cost'
import { parseUsdToNano, tokenClassCost } from '../../src/pricing/money'
import { GOOGLE_PROMPT } from '../../src/providers/google'

const catalog = buildCatalog()
const pro = catalog.find('google/gemini-2.5-pro')!
const flat = catalog.find('google/gemini-2.5-flash')!
const THRESHOLD = 200_000
const usd = (s: string) => parseUsdToNano(s)

const request = { model: 'google/gemini-2.5-pro', messages: [{ role: 'user', content: 'x' }], max_tokens: 1_000 } as ChatRequest
const measure = (textTokens: number, uncountableParts = 0): PromptMeasure => ({ textTokens, imageDetails: [], uncountableParts, hasTools: false })
const estimate = (m: PromptMeasure, model = pro) => estimateChat({ request, model, measure: m, profile: GOOGLE_PROMPT, progressiveSliceTokens: null })

function usage(inputTokens: number, outputTokens: number, cachedInputTokens = 0): MeteredUsage {
  return {
    inputTokens, outputTokens, cachedInputTokens, cacheWriteTokens: 0, reasoningTokens: 0, source: 'provider',
    countedInputTokens: inputTokens, countedOutputTokens: outputTokens, inputTokensDiff: 0, outputTokensDiff: 0,
    imageInputTokens: 0, imageOutputTokens: 0, images: 0,
  }
}
const header: RecordHeader = {
  requestId: 'req_1', keyId: 'key_1', accountId: 'acct_1', model: pro, stream: false, catalogVersion: catalog.version, moneyMode: 'prepaid',
  subject: 'acct_1', startedAt: performance.now(), startedAtIso: new Date().toISOString(),
}
const end = (limitNano: bigint | null) => ({ status: 'ok' as const, httpStatus: 200, errorCode: null, firstByteAt: null, limitNano })

describe('long-context tier', () => {
  test('the tier starts above the threshold: 200,000 prompt tokens bill at the base prices, 200,001 at the tier', () => {
    expect(pricesAt(pro, THRESHOLD)).toBe(pro.prices)
    expect(pricesAt(pro, THRESHOLD + 1)).toBe(pro.longContext!.prices)
    expect(pro.longContext!.prices).toEqual({ input: usd('2.50'), output: usd('15.00'), cachedInput: usd('0.25'), cacheWrite: usd('2.50'), imageInput: usd('2.50'), imageOutput: usd('15.00') })
    // A model without a tier has one price for any prompt.
    expect(pricesAt(flat, 1_000_000)).toBe(flat.prices)
  })

  test('billed at the tier the reported prompt falls in, every token of the request included', () => {
    const short = usageRecord(header, usage(THRESHOLD, 1_000), end(null))
    expect(BigInt(short.costNano)).toBe(tokenClassCost(THRESHOLD, usd('1.25')) + tokenClassCost(1_000, usd('10.00')))
    // Cached tokens count toward the prompt's length and bill at the tier's cached price.
    const long = usageRecord(header, usage(THRESHOLD + 1, 1_000, 100_000), end(null))
    expect(BigInt(long.costNano)).toBe(tokenClassCost(100_001, usd('2.50')) + tokenClassCost(100_000, usd('0.25')) + tokenClassCost(1_000, usd('15.00')))
    expect(BigInt(long.costNano)).toBe(usageCost(usage(THRESHOLD + 1, 1_000, 100_000), pro.longContext!.prices))
  })

  test('a prompt that cannot pass the threshold is held at the base prices', () => {
    const e = estimate(measure(1_000))
    expect(e.inputHoldTokens).toBeLessThanOrEqual(THRESHOLD)
    expect(e.holdNano).toBe(tokenClassCost(e.inputHoldTokens, usd('1.25')) + tokenClassCost(1_000, usd('10.00')))
  })

  test('a prompt whose worst case passes the threshold is held at the tier, input and output', () => {
    // Our count is under 200k, but with Gemini's tokenizer margin the provider could count more than 200k.
    const text = Math.ceil(THRESHOLD / GOOGLE_PROMPT.textMargin) + 10
    expect(text).toBeLessThan(THRESHOLD)
    const e = estimate(measure(text))
    expect(e.inputHoldTokens).toBeGreaterThan(THRESHOLD)
    expect(e.holdNano).toBe(tokenClassCost(e.inputHoldTokens, usd('2.50')) + tokenClassCost(1_000, usd('15.00')))
    // A part we cannot count may fill the window: the tier applies.
    const unknown = estimate(measure(10, 1))
    expect(unknown.inputHoldTokens).toBe(pro.contextWindow)
    expect(unknown.holdNano).toBe(tokenClassCost(pro.contextWindow, usd('2.50')) + tokenClassCost(1_000, usd('15.00')))
  })

  test('the hold is the worst case: whatever prompt length up to the hold the provider reports, the bill stays within it', () => {
    for (const text of [1_000, 150_000, 166_000, 166_700, 170_000, 400_000]) {
      const e = estimate(measure(text))
      for (const reported of [text, e.inputHoldTokens - 1, e.inputHoldTokens]) {
        const price = usageCost(usage(reported, 1_000), pricesAt(pro, reported))
        expect(price <= e.holdNano).toBe(true)
      }
    }
  })

  test('the record never bills above the hold, even if the provider reports a longer prompt than we could foresee', () => {
    const e = estimate(measure(1_000))
    const record = usageRecord(header, usage(300_000, 1_000), end(e.holdNano))
    expect(BigInt(record.costNano)).toBe(e.holdNano)
    expect(record.overHoldNano).toBeGreaterThan(0)
  })
})
