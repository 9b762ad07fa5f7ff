// Route pricing: globs, match rules in order with every condition holding, token-based lookup order (models, built-in table, fallback), and the built-in table's derivation.
import { describe, expect, test } from 'bun:test'
import { builtinPrice, builtinPriceTable, TYPICAL_INPUT_TOKENS, TYPICAL_OUTPUT_TOKENS } from '../../src/lib/gateway-config/builtin-prices'
import { parsePrice, type Price } from '../../src/lib/gateway-config/price'
import { globMatches, priceRequest, type PricedRequest } from '../../src/lib/gateway-config/route-price'
import type { RoutePricing } from '../../src/lib/gateway-config/types'

const $ = (text: string) => parsePrice(text) as Price
const request = (body: unknown, extra: Partial<PricedRequest> = {}): PricedRequest => ({ body, query: new URLSearchParams(), headers: new Headers(), params: {}, ...extra })

describe('globs', () => {
  test.each([
    ['claude-haiku-*', 'claude-haiku-4-5-20251001', true],
    ['claude-haiku-*', 'claude-sonnet-4', false],
    ['openai/*', 'openai/gpt-4o', true],
    ['gpt-4?', 'gpt-4o', true],
    ['gpt-4?', 'gpt-4o-mini', false],
    ['a.b', 'axb', false],
    ['*', '', true],
  ])('%s against %s: %p', (glob, value, expected) => expect(globMatches(glob, value)).toBe(expected))
})

describe('match rules', () => {
  const pricing: RoutePricing = {
    kind: 'match',
    rules: [
      { where: [{ source: 'body', field: 'model', glob: 'claude-haiku-*' }], price: $('$0.005') },
      { where: [{ source: 'body', field: 'meta.tier', glob: 'gold' }, { source: 'headers', field: 'x-plan', glob: 'pro*' }], price: $('$0.02') },
      { where: [{ source: 'body', field: 'model', glob: '*' }], price: $('$0.015') },
    ],
    fallback: $('$0.001'),
  }
  test('first match wins; every condition of a rule must hold; nested body fields; no field → fallback', () => {
    expect(priceRequest(pricing, request({ model: 'claude-haiku-4-5' }))).toMatchObject({ price: { atomic: 5000n }, source: 'match[0]' })
    expect(priceRequest(pricing, request({ model: 'x', meta: { tier: 'gold' } }, { headers: new Headers({ 'X-Plan': 'pro-1' }) }))).toMatchObject({ source: 'match[1]' })
    expect(priceRequest(pricing, request({ model: 'x', meta: { tier: 'gold' } }))).toMatchObject({ source: 'match[2]' })
    expect(priceRequest(pricing, request(null))).toMatchObject({ price: { atomic: 1000n }, source: 'fallback' })
    expect(priceRequest(pricing, request({ model: { not: 'a string' } }))).toMatchObject({ source: 'fallback' })
  })
})

describe('token-based', () => {
  const pricing: RoutePricing = { kind: 'token-based', models: { 'claude-haiku-4-5-20251001': $('$0.001') }, fallback: null }
  test('the models map, then the built-in table (by any name the catalog knows), then the fallback; none: a clear problem', () => {
    expect(priceRequest(pricing, request({ model: 'claude-haiku-4-5-20251001' }))).toMatchObject({ price: { atomic: 1000n }, source: 'models' })
    expect(priceRequest(pricing, request({ model: 'claude-haiku-4-5' }))).toMatchObject({ price: { atomic: 3500n }, source: 'built-in' })
    expect(priceRequest(pricing, request({ model: 'anthropic/claude-haiku-4.5' }))).toMatchObject({ price: { atomic: 3500n }, source: 'built-in' })
    expect(priceRequest(pricing, request({ model: 'nobody-knows' }))).toEqual({ problem: expect.stringContaining("'nobody-knows' has no price"), param: 'model' })
    expect(priceRequest(pricing, request({}))).toEqual({ problem: expect.stringContaining('"model"'), param: 'model' })
    expect(priceRequest({ ...pricing, fallback: $('$0.004') }, request({ model: 'nobody-knows' }))).toMatchObject({ price: { atomic: 4000n }, source: 'fallback' })
  })

  test('the built-in table: 1,000 input + 500 output tokens at catalog prices, rounded up to an atomic unit; chat models only', () => {
    expect([TYPICAL_INPUT_TOKENS, TYPICAL_OUTPUT_TOKENS]).toEqual([1_000, 500])
    // gpt-4o: $2.50 / $10 per 1M → 0.0025 + 0.005 = $0.0075.
    expect(builtinPrice('gpt-4o')).toMatchObject({ usd: '0.0075', atomic: 7500n, nano: 7_500_000n })
    // gemini-2.0-flash-lite: $0.075 / $0.30 → 0.000075 + 0.00015 = $0.000225.
    expect(builtinPrice('gemini-2.0-flash-lite')?.atomic).toBe(225n)
    expect(builtinPrice('text-embedding-3-small')).toBeNull()
    const table = builtinPriceTable()
    expect(table.length).toBeGreaterThan(20)
    for (const row of table) expect(row.price.atomic).toBeGreaterThan(0n)
  })
})
