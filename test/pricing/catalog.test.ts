// The catalog: every entry sourced, exact and consistent; the product's twelve and the providers' current chat models; lookups by id, bare name, upstream id and alias.
import { describe, expect, test } from 'bun:test'
import { CATALOG_DATA, CATALOG_VERSION } from '../../src/pricing/catalog-data'
import { buildCatalog, type CatalogModel } from '../../src/pricing/catalog'
import { parseUsdToNano } from '../../src/pricing/money'

const catalog = buildCatalog()

// The product document 000_823e933096ee242d.txt names these twelve, with a context window each. Its table's prices for
// claude-haiku-4.5 ($0.80/$4) and gemini-2.5-flash ($0.15/$0.60) are older than the providers' published prices,
// which the catalog follows (Anthropic: $1/$5; Google: $0.30/$2.50): billing below what the provider charges loses money.
const productModels: [string, number][] = [
  ['openai/gpt-4o', 128_000], ['openai/gpt-4o-mini', 128_000], ['openai/gpt-4.1', 1_000_000], ['openai/gpt-4.1-mini', 1_000_000],
  ['openai/gpt-4.1-nano', 1_000_000], ['openai/o3-mini', 200_000], ['anthropic/claude-sonnet-4', 200_000],
  ['anthropic/claude-sonnet-4.5', 200_000], ['anthropic/claude-haiku-4.5', 200_000], ['google/gemini-2.0-flash', 1_000_000],
  ['google/gemini-2.5-flash', 1_000_000], ['google/gemini-2.5-pro', 1_000_000],
]

// Published prices (USD per 1M: input, output, cached input, cache write), as read for the catalog's sources.
const published: [string, string, string, string, string | null][] = [
  ['openai/gpt-5', '1.25', '10.00', '0.125', null],
  ['openai/gpt-5-nano', '0.05', '0.40', '0.005', null],
  ['openai/o3', '2.00', '8.00', '0.50', null],
  ['openai/gpt-4o', '2.50', '10.00', '1.25', null],
  ['anthropic/claude-opus-4.1', '15.00', '75.00', '1.50', '18.75'],
  ['anthropic/claude-haiku-4.5', '1.00', '5.00', '0.10', '1.25'],
  ['anthropic/claude-3.5-haiku', '0.80', '4.00', '0.08', '1.00'],
  ['google/gemini-2.5-pro', '1.25', '10.00', '0.125', null],
  ['google/gemini-2.5-flash', '0.30', '2.50', '0.03', null],
]

/** Exact nano-USD, computed independently of parseUsdToNano (the decimal string scaled by 10^9 through its digits). */
function nanoOf(usd: string): bigint {
  const [whole, fraction = ''] = usd.split('.')
  return BigInt(whole!) * 1_000_000_000n + BigInt(fraction.padEnd(9, '0'))
}

const names = (model: CatalogModel) => [model.id.slice(model.provider.length + 1), model.upstreamModel, ...model.aliases]
/** How many models answer to a name: the test's own count, to know when a name must resolve. */
const claimants = (name: string) => catalog.models.filter((m) => names(m).includes(name)).length

describe('catalog data', () => {
  test('builds, at the data version, one model per entry', () => {
    expect(catalog.version).toBe(CATALOG_VERSION)
    expect(catalog.models.map((m) => m.id)).toEqual(CATALOG_DATA.map((e) => e.id))
  })

  test('at least 37 chat models; OpenAI, Anthropic and Google each have their current lineup', () => {
    expect(catalog.models.length).toBeGreaterThanOrEqual(37)
    const count = (provider: string) => catalog.models.filter((m) => m.provider === provider).length
    expect(count('openai')).toBeGreaterThanOrEqual(12)
    expect(count('anthropic')).toBeGreaterThanOrEqual(12)
    expect(count('google')).toBeGreaterThanOrEqual(5)
    for (const id of ['openai/gpt-5', 'openai/gpt-5-mini', 'openai/o3', 'openai/o4-mini', 'anthropic/claude-opus-4.1', 'anthropic/claude-sonnet-4.5', 'google/gemini-2.5-flash-lite']) {
      expect(catalog.find(id)?.id).toBe(id)
    }
  })

  test.each(catalog.models.map((m) => [m.id, m] as const))('%s: sourced, exact prices, sane limits', (_id, model) => {
    expect(model.source).toMatch(/\bread \d{4}-\d{2}-\d{2}\b|\d{4}-\d{2}-\d{2}/)
    const usd = model.displayPrices
    expect(model.prices.input).toBe(nanoOf(usd.input))
    expect(model.prices.output).toBe(nanoOf(usd.output))
    expect(model.prices.cachedInput).toBe(nanoOf(usd.cachedInput ?? usd.input))
    expect(model.prices.cacheWrite).toBe(nanoOf(usd.cacheWrite ?? usd.input))
    expect(model.prices.cachedInput <= model.prices.input).toBe(true)
    expect(model.prices.cacheWrite >= model.prices.input).toBe(true)
    expect(model.upstreamModel).toMatch(/^[a-z0-9][a-z0-9.-]*$/)
    expect(model.free).toBe(model.provider === 'mock')
    // Embedding and image models have no text output (and image models no context window): their own tests cover them.
    if (model.kind !== 'chat') return
    expect(model.prices.output >= model.prices.input).toBe(true)
    expect(model.maxOutputTokens).toBeLessThanOrEqual(model.contextWindow)
    expect(model.defaultMaxTokens).toBeGreaterThan(0)
    expect(model.defaultMaxTokens).toBeLessThanOrEqual(model.maxOutputTokens)
    expect(model.defaultMaxTokens).toBeLessThanOrEqual(16_384)
    if (model.longContext) {
      expect(model.longContext.aboveInputTokens).toBeLessThan(model.contextWindow)
      for (const key of ['input', 'output', 'cachedInput'] as const) expect(model.longContext.prices[key] >= model.prices[key]).toBe(true)
    }
  })

  test.each(productModels)('the product names %s (context ≈ %i)', (id, context) => {
    const model = catalog.find(id)!
    expect(model.id).toBe(id)
    expect(model.contextWindow).toBeGreaterThanOrEqual(context)
    expect(model.contextWindow).toBeLessThan(context * 1.1)
  })

  test.each(published)('%s is priced as published: $%s in / $%s out / $%s cached / write %p', (id, input, output, cached, write) => {
    const { prices } = catalog.find(id)!
    expect([prices.input, prices.output, prices.cachedInput]).toEqual([parseUsdToNano(input), parseUsdToNano(output), parseUsdToNano(cached)])
    if (write !== null) expect(prices.cacheWrite).toBe(parseUsdToNano(write))
  })

  test('models that bill reasoning they do not stream are flagged; the others are not', () => {
    const hidden = catalog.models.filter((m) => m.hiddenReasoning).map((m) => m.id)
    for (const id of ['openai/gpt-5', 'openai/gpt-5.1', 'openai/gpt-5-mini', 'openai/gpt-5-nano', 'openai/o1', 'openai/o3', 'openai/o3-mini', 'openai/o4-mini', 'google/gemini-2.5-pro', 'google/gemini-2.5-flash', 'google/gemini-2.5-flash-lite']) {
      expect(hidden).toContain(id)
    }
    for (const id of ['openai/gpt-4o', 'openai/gpt-4.1', 'anthropic/claude-sonnet-4', 'google/gemini-2.0-flash', 'mock/echo']) expect(hidden).not.toContain(id)
  })

  test('mock/echo is free', () => {
    const mock = catalog.find('mock/echo')!
    expect(mock.free).toBe(true)
    expect(mock.provider).toBe('mock')
  })
})

describe('lookups', () => {
  test.each(catalog.models.map((m) => [m.id, m] as const))('%s resolves by id, and by each unambiguous other name', (id, model) => {
    expect(catalog.find(id)).toBe(model)
    for (const name of names(model)) {
      if (catalog.models.some((m) => m.id === name)) continue
      expect(catalog.find(name)).toBe(claimants(name) === 1 ? model : undefined)
    }
  })

  test("Anthropic's dated upstream ids and its own aliases reach the catalog entry", () => {
    expect(catalog.find('claude-sonnet-4-20250514')?.id).toBe('anthropic/claude-sonnet-4')
    expect(catalog.find('claude-sonnet-4-5-20250929')?.id).toBe('anthropic/claude-sonnet-4.5')
    expect(catalog.find('claude-sonnet-4-5')?.id).toBe('anthropic/claude-sonnet-4.5')
    expect(catalog.find('claude-haiku-4-5')?.id).toBe('anthropic/claude-haiku-4.5')
    expect(catalog.find('claude-3-5-haiku-latest')?.id).toBe('anthropic/claude-3.5-haiku')
    expect(catalog.find('gpt-4o')?.id).toBe('openai/gpt-4o')
    expect(catalog.find('gemini-2.5-pro')?.id).toBe('google/gemini-2.5-pro')
  })

  test('a name two providers share resolves to nothing; unknown ids do not resolve', () => {
    const shared = buildCatalog([
      { id: 'openai/twin', upstreamModel: 'twin-1', contextWindow: 10, maxOutputTokens: 5, defaultMaxTokens: 5, usdPer1M: { input: '1', output: '1' } },
      { id: 'google/twin', upstreamModel: 'twin-1', contextWindow: 10, maxOutputTokens: 5, defaultMaxTokens: 5, usdPer1M: { input: '1', output: '1' } },
    ])
    expect(shared.find('twin')).toBeUndefined()
    expect(shared.find('twin-1')).toBeUndefined()
    expect(shared.find('openai/twin')?.provider).toBe('openai')
    expect(catalog.find('openai/gpt-5-imaginary')).toBeUndefined()
  })

  test('duplicate ids and unknown providers are refused at load', () => {
    const entry = { id: 'openai/x', upstreamModel: 'x', contextWindow: 1, maxOutputTokens: 1, defaultMaxTokens: 1, usdPer1M: { input: '1', output: '1' } }
    expect(() => buildCatalog([entry, entry])).toThrow('duplicate')
    expect(() => buildCatalog([{ ...entry, id: 'acme/x' }])).toThrow('unknown provider')
  })
})
