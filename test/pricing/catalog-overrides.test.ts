// Overrides from a config file's `models:` section: change an entry field by field or add one; anything invalid is refused naming the entry and field.
import { describe, expect, test } from 'bun:test'
import { CATALOG_DATA, CATALOG_VERSION } from '../../src/pricing/catalog-data'
import { buildCatalog } from '../../src/pricing/catalog'
import { CatalogError } from '../../src/pricing/catalog-schema'
import { usageCost } from '../../src/pricing/cost'

const base = buildCatalog()
const plain = (input: number, output: number) => ({ inputTokens: input, outputTokens: output, cachedInputTokens: 0, cacheWriteTokens: 0 })

describe('catalog overrides', () => {
  test('an override changes only the fields it names; prices merge field by field and bill at once', () => {
    const catalog = buildCatalog(CATALOG_DATA, CATALOG_VERSION, [{ id: 'openai/gpt-4o', usdPer1M: { output: '12.00' }, maxOutputTokens: 8_000 }])
    const gpt4o = catalog.find('openai/gpt-4o')!
    expect(gpt4o.displayPrices).toEqual({ input: '2.50', output: '12.00', cachedInput: '1.25' })
    expect(gpt4o.maxOutputTokens).toBe(8_000)
    expect(gpt4o.contextWindow).toBe(base.find('openai/gpt-4o')!.contextWindow)
    expect(usageCost(plain(0, 1_000), gpt4o.prices)).toBe(12_000_000n)
    // The old source does not vouch for the new price; the rest of the catalog is untouched.
    expect(gpt4o.source).toBeNull()
    expect(catalog.models.length).toBe(base.models.length)
    expect(catalog.find('anthropic/claude-sonnet-4')).toEqual(base.find('anthropic/claude-sonnet-4')!)
  })

  test('a new entry is added and resolves by id, bare name, upstream id and alias', () => {
    const added = { id: 'openai/gpt-9', upstreamModel: 'gpt-9-2027-01-01', contextWindow: 500_000, maxOutputTokens: 100_000, defaultMaxTokens: 8_000, usdPer1M: { input: '3', output: '20' }, aliases: ['gpt9'], source: 'ops, 2027-01-01' }
    const catalog = buildCatalog(CATALOG_DATA, CATALOG_VERSION, [added])
    const model = catalog.find('openai/gpt-9')!
    expect(model).toMatchObject({ provider: 'openai', upstreamModel: 'gpt-9-2027-01-01', source: 'ops, 2027-01-01', free: false })
    expect(model.prices.output).toBe(20_000_000_000n)
    for (const name of ['gpt-9', 'gpt-9-2027-01-01', 'gpt9']) expect(catalog.find(name)).toBe(model)
    expect(catalog.models.length).toBe(base.models.length + 1)
  })

  test('the version carries a digest of the overrides: same overrides, same version; other overrides, another', () => {
    const one = [{ id: 'openai/gpt-4o', usdPer1M: { input: '2.00' } }]
    const v1 = buildCatalog(CATALOG_DATA, CATALOG_VERSION, one).version
    expect(v1).toMatch(new RegExp(`^${CATALOG_VERSION.replace(/\./g, '\\.')}\\+[0-9a-f]{8}$`))
    expect(buildCatalog(CATALOG_DATA, CATALOG_VERSION, structuredClone(one)).version).toBe(v1)
    expect(buildCatalog(CATALOG_DATA, CATALOG_VERSION, [{ id: 'openai/gpt-4o', usdPer1M: { input: '2.01' } }]).version).not.toBe(v1)
    expect(buildCatalog(CATALOG_DATA, CATALOG_VERSION, []).version).toBe(CATALOG_VERSION)
  })

  test.each([
    ['not a list', { id: 'openai/gpt-4o' }, 'expected a list'],
    ['a price that is not a decimal', [{ id: 'openai/gpt-4o', usdPer1M: { input: '1.2.3' } }], 'openai/gpt-4o: /usdPer1M/input'],
    ['a negative price', [{ id: 'openai/gpt-4o', usdPer1M: { output: '-1' } }], 'openai/gpt-4o: /usdPer1M/output'],
    ['a price with 10 decimals', [{ id: 'openai/gpt-4o', usdPer1M: { output: '0.0000000001' } }], '/usdPer1M/output'],
    ['an unknown field (a typo)', [{ id: 'openai/gpt-4o', contextWindw: 5 }], 'openai/gpt-4o: /contextWindw'],
    ['a token limit that is not a whole number', [{ id: 'openai/gpt-4o', maxOutputTokens: 1.5 }], '/maxOutputTokens'],
    ['an id without a provider', [{ id: 'gpt-4o', usdPer1M: { input: '1' } }], '/id'],
    ['a new model missing its prices', [{ id: 'openai/new', upstreamModel: 'new', contextWindow: 10, maxOutputTokens: 5, defaultMaxTokens: 5 }], 'openai/new: /usdPer1M/input'],
    ['a new model missing its limits', [{ id: 'anthropic/new', usdPer1M: { input: '1', output: '1' } }], 'anthropic/new: /upstreamModel'],
    ['max output above the context window', [{ id: 'openai/gpt-4o', maxOutputTokens: 200_000 }], 'openai/gpt-4o: maxOutputTokens is above contextWindow'],
    ['an unknown provider', [{ id: 'acme/x', upstreamModel: 'x', contextWindow: 10, maxOutputTokens: 5, defaultMaxTokens: 5, usdPer1M: { input: '1', output: '1' } }], 'acme/x: unknown provider'],
  ])('refused: %s', (_what, overrides, message) => {
    let error: unknown
    try {
      buildCatalog(CATALOG_DATA, CATALOG_VERSION, overrides)
    } catch (caught) {
      error = caught
    }
    expect(error).toBeInstanceOf(CatalogError)
    expect((error as Error).message).toContain(message)
  })

  test('a long-context tier can be set by override and prices the long prompts only', () => {
    const catalog = buildCatalog(CATALOG_DATA, CATALOG_VERSION, [{ id: 'openai/gpt-4.1', longContext: { aboveInputTokens: 100_000, usdPer1M: { input: '4.00', output: '16.00' } } }])
    const model = catalog.find('openai/gpt-4.1')!
    expect(model.longContext?.aboveInputTokens).toBe(100_000)
    expect(model.longContext?.prices.input).toBe(4_000_000_000n)
    expect(model.prices.input).toBe(2_000_000_000n)
  })
})
