// A chat request's worst case: a prepaid stream without its own cap is held one slice at a time, unless one slice already holds all it can generate.
import { describe, expect, test } from 'bun:test'
import { estimateChat } from '../../src/exchange/estimate'
import type { PromptMeasure } from '../../src/metering/prompt'
import type { ChatRequest } from '../../src/openai/chat-request'
import { buildCatalog, pricesAt } from '../../src/pricing/catalog'
import { tokenClassCost } from '../../src/pricing/money'
import { OPENAI_PROMPT } from '../../src/providers/openai'

const model = buildCatalog().find('openai/gpt-4o')!
const measure: PromptMeasure = { textTokens: 20, imageDetails: [], uncountableParts: 0, hasTools: false }
const request = (extra: Partial<ChatRequest> = {}) => ({ model: 'openai/gpt-4o', messages: [{ role: 'user', content: 'hi' }], stream: true, ...extra }) as ChatRequest
const estimate = (slice: number | null, extra: Partial<ChatRequest> = {}) =>
  estimateChat({ request: request(extra), model, measure, profile: OPENAI_PROMPT, progressiveSliceTokens: slice })

describe('estimateChat: progressive holds', () => {
  test('a stream without max_tokens holds one slice, and its budget gets the slice', () => {
    const e = estimate(256)
    expect(e.sliceTokens).toBe(256)
    expect(e.heldOutputTokens).toBe(256)
    expect(e.outputCap).toBe(model.defaultMaxTokens)
    expect(e.holdNano).toBe(tokenClassCost(e.inputHoldTokens, pricesAt(model, e.inputHoldTokens).input) + tokenClassCost(256, model.prices.output))
  })

  test('a slice as large as all the request can generate is no slice: the whole output is held, with no budget', () => {
    const whole = estimate(null)
    for (const slice of [whole.outputCap, whole.outputCap + 1, 100_000]) {
      const e = estimate(slice)
      expect(e.sliceTokens).toBeNull()
      expect(e.heldOutputTokens).toBe(whole.outputCap)
      expect(e.holdNano).toBe(whole.holdNano)
    }
    expect(estimate(whole.outputCap - 1).sliceTokens).toBe(whole.outputCap - 1)
  })

  test('not for a client\'s own cap, nor a JSON answer: held whole', () => {
    expect(estimate(256, { max_tokens: 1_000 }).sliceTokens).toBeNull()
    expect(estimate(256, { max_tokens: 1_000 }).heldOutputTokens).toBe(1_000)
    expect(estimate(256, { stream: false }).sliceTokens).toBeNull()
  })
})
