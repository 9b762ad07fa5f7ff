// The catalog holds the product's twelve models at the product's prices, plus free mock models.
import { describe, expect, test } from 'bun:test'
import { buildCatalog } from '../../src/pricing/catalog'
import { parseUsdToNano } from '../../src/pricing/money'

const catalog = buildCatalog()

// From the product document 000_823e933096ee242d.txt: model, context window, input and output USD per 1M tokens.
const productTable: [string, number, string, string][] = [
  ['openai/gpt-4o', 128_000, '2.50', '10.00'],
  ['openai/gpt-4o-mini', 128_000, '0.15', '0.60'],
  ['openai/gpt-4.1', 1_000_000, '2.00', '8.00'],
  ['openai/gpt-4.1-mini', 1_000_000, '0.40', '1.60'],
  ['openai/gpt-4.1-nano', 1_000_000, '0.10', '0.40'],
  ['openai/o3-mini', 200_000, '1.10', '4.40'],
  ['anthropic/claude-sonnet-4', 200_000, '3.00', '15.00'],
  ['anthropic/claude-sonnet-4.5', 200_000, '3.00', '15.00'],
  ['anthropic/claude-haiku-4.5', 200_000, '0.80', '4.00'],
  ['google/gemini-2.0-flash', 1_000_000, '0.10', '0.40'],
  ['google/gemini-2.5-flash', 1_000_000, '0.15', '0.60'],
  ['google/gemini-2.5-pro', 1_000_000, '1.25', '10.00'],
]

describe('catalog', () => {
  test.each(productTable)('%s: context ≈ %i, $%s in / $%s out per 1M, integer nano-USD', (id, context, input, output) => {
    const model = catalog.find(id)!
    expect(model).toBeDefined()
    expect(model.prices.input).toBe(parseUsdToNano(input))
    expect(model.prices.output).toBe(parseUsdToNano(output))
    expect(typeof model.prices.input).toBe('bigint')
    expect(model.contextWindow).toBeGreaterThanOrEqual(context)
    expect(model.contextWindow).toBeLessThan(context * 1.1)
    expect(model.maxOutputTokens).toBeGreaterThan(0)
    expect(model.defaultMaxTokens).toBeLessThanOrEqual(model.maxOutputTokens)
    expect(model.upstreamModel.length).toBeGreaterThan(0)
    expect(model.free).toBe(false)
  })

  test('mock/echo is free', () => {
    const mock = catalog.find('mock/echo')!
    expect(mock.free).toBe(true)
    expect(mock.provider).toBe('mock')
  })

  test('cached input is never dearer than input', () => {
    for (const model of catalog.models) expect(model.prices.cachedInput <= model.prices.input).toBe(true)
  })

  test('bare names resolve when unambiguous; unknown ids do not', () => {
    expect(catalog.find('gpt-4o')?.id).toBe('openai/gpt-4o')
    expect(catalog.find('openai/gpt-5-imaginary')).toBeUndefined()
  })

  test('duplicate ids and unknown providers are refused at load', () => {
    const entry = { id: 'openai/x', upstreamModel: 'x', contextWindow: 1, maxOutputTokens: 1, defaultMaxTokens: 1, usdPer1M: { input: '1', output: '1' } }
    expect(() => buildCatalog([entry, entry])).toThrow('duplicate')
    expect(() => buildCatalog([{ ...entry, id: 'acme/x' }])).toThrow('unknown provider')
  })
})
