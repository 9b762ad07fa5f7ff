// Image and embedding models in the catalog: kinds, prices to the nano-dollar, the "auto" worst case, and the cost classes.
import { describe, expect, test } from 'bun:test'
import { buildCatalog } from '../../src/pricing/catalog'
import type { CatalogEntryData } from '../../src/pricing/catalog-data'
import { perImageCost, usageCost } from '../../src/pricing/cost'
import { mostOutputTokens, mostPerImageNano } from '../../src/pricing/images'
import { parseUsdToNano } from '../../src/pricing/money'

const catalog = buildCatalog()
const model = (id: string) => catalog.find(id)!

describe('kinds', () => {
  test('chat by default; the embedding and image models say theirs, with a dated source', () => {
    expect(model('openai/gpt-4o').kind).toBe('chat')
    for (const id of ['openai/text-embedding-3-small', 'openai/text-embedding-3-large', 'google/gemini-embedding-001', 'mock/embed']) expect(model(id).kind).toBe('embedding')
    for (const id of ['openai/gpt-image-1', 'openai/dall-e-3', 'mock/image']) expect(model(id).kind).toBe('image')
    for (const id of ['openai/text-embedding-3-small', 'openai/text-embedding-3-large', 'google/gemini-embedding-001', 'openai/gpt-image-1', 'openai/dall-e-3']) {
      expect(model(id).source).toMatch(/\d{4}-\d{2}-\d{2}$/)
    }
  })

  test('published prices: $0.02, $0.13, $0.15 per 1M embedding tokens; gpt-image-1 $5 text in, $10 image in, $40 image out', () => {
    expect(model('openai/text-embedding-3-small').prices.input).toBe(parseUsdToNano('0.02'))
    expect(model('openai/text-embedding-3-large').prices.input).toBe(parseUsdToNano('0.13'))
    expect(model('google/gemini-embedding-001').prices.input).toBe(parseUsdToNano('0.15'))
    const { prices } = model('openai/gpt-image-1')
    expect([prices.input, prices.imageInput, prices.imageOutput]).toEqual([5_000_000_000n, 10_000_000_000n, 40_000_000_000n])
  })

  test('free means free in every class: dall-e-3 has no token price but is not free; the mocks are', () => {
    expect(model('openai/dall-e-3').free).toBe(false)
    expect(model('mock/image').free).toBe(true)
    expect(model('mock/embed').free).toBe(true)
  })
})

describe('dall-e-3 per image', () => {
  test.each([
    ['standard', '1024x1024', '0.04'],
    ['standard', '1024x1792', '0.08'],
    ['standard', '1792x1024', '0.08'],
    ['hd', '1024x1024', '0.08'],
    ['hd', '1024x1792', '0.12'],
    ['hd', '1792x1024', '0.12'],
  ])('%s %s: $%s', (quality, size, usd) => {
    expect(mostPerImageNano(model('openai/dall-e-3').images!, quality, size)).toBe(parseUsdToNano(usd))
    expect(perImageCost(3, parseUsdToNano(usd))).toBe(3n * parseUsdToNano(usd))
  })

  test('sizes it does not make have no price', () => {
    expect(mostPerImageNano(model('openai/dall-e-3').images!, 'standard', '512x512')).toBeUndefined()
  })
})

describe('gpt-image-1 by tokens', () => {
  const images = () => model('openai/gpt-image-1').images!
  test('the output tokens of one image at $40/1M are the per-image prices OpenAI lists', () => {
    const price = model('openai/gpt-image-1').prices.imageOutput
    const perImage = (q: string, s: string) => (BigInt(mostOutputTokens(images(), q, s)!) * price) / 1_000_000n
    // $0.011, $0.042, $0.167 (1024x1024 low, medium, high), $0.25 (1024x1536 high), rounded as OpenAI shows them.
    expect(perImage('low', '1024x1024')).toBe(10_880_000n)
    expect(perImage('medium', '1024x1024')).toBe(42_240_000n)
    expect(perImage('high', '1024x1024')).toBe(166_400_000n)
    expect(perImage('high', '1024x1536')).toBe(249_600_000n)
  })

  test('"auto" holds the largest the provider may pick', () => {
    expect(mostOutputTokens(images(), 'auto', 'auto')).toBe(6_240)
    expect(mostOutputTokens(images(), 'auto', '1024x1024')).toBe(4_160)
    expect(mostOutputTokens(images(), 'low', 'auto')).toBe(408)
  })

  test('usage is priced by class: text input, image input, text output, image output', () => {
    const usage = { inputTokens: 150, imageInputTokens: 100, cachedInputTokens: 0, cacheWriteTokens: 0, outputTokens: 1_056, imageOutputTokens: 1_056 }
    // 50 × $5 + 100 × $10 + 1,056 × $40 per 1M
    expect(usageCost(usage, model('openai/gpt-image-1').prices)).toBe(250_000n + 1_000_000n + 42_240_000n)
    // Image subsets larger than their whole are clamped, never negative.
    expect(usageCost({ ...usage, imageInputTokens: 999, imageOutputTokens: 9_999 }, model('openai/gpt-image-1').prices)).toBe(1_500_000n + 42_240_000n)
  })

  test('a chat model bills image classes at its input and output prices', () => {
    const usage = { inputTokens: 10, imageInputTokens: 4, cachedInputTokens: 0, cacheWriteTokens: 0, outputTokens: 10, imageOutputTokens: 5 }
    expect(usageCost(usage, model('openai/gpt-4o').prices)).toBe(usageCost({ inputTokens: 10, cachedInputTokens: 0, cacheWriteTokens: 0, outputTokens: 10 }, model('openai/gpt-4o').prices))
  })
})

describe('catalog checks at load', () => {
  const base: CatalogEntryData = { id: 'openai/x', kind: 'image', upstreamModel: 'x', contextWindow: 0, maxOutputTokens: 0, defaultMaxTokens: 0, usdPer1M: { input: '0', output: '0' } }
  const limits = { maxImages: 1, maxPromptChars: 10, defaultQuality: 'standard', defaultSize: '1x1', acceptsAuto: false }
  test('an image model needs limits and exactly one price table', () => {
    expect(() => buildCatalog([base])).toThrow('imageLimits')
    expect(() => buildCatalog([{ ...base, imageLimits: limits, usdPerImage: { standard: { '1x1': '1' } }, imageOutputTokens: { standard: { '1x1': 1 } } }])).toThrow('exactly one')
  })
  test('a per-image model cannot take "auto", and its defaults must be in its table', () => {
    expect(() => buildCatalog([{ ...base, imageLimits: { ...limits, acceptsAuto: true }, usdPerImage: { standard: { '1x1': '1' } } }])).toThrow('auto')
    expect(() => buildCatalog([{ ...base, imageLimits: { ...limits, defaultSize: '2x2' }, usdPerImage: { standard: { '1x1': '1' } } }])).toThrow('default')
  })
  test('an unknown kind is refused', () => {
    expect(() => buildCatalog([{ ...base, kind: 'video' as never }])).toThrow('/kind')
  })
})
