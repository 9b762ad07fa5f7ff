// GET /models in OpenAI's list format under every prefix, one model by id, and the Swagger page documenting the API.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { buildCatalog } from '../../src/pricing/catalog'
import { parseUsdToNano } from '../../src/pricing/money'
import { startGateway, type TestGateway } from '../helpers/gateway'

interface ModelJson {
  id: string
  source: string
  pricing: { input: string; output: string; cached_input: string; cache_write: string; long_context: Record<string, unknown> | null }
}

let gateway: TestGateway
beforeAll(async () => {
  gateway = await startGateway()
})
afterAll(() => gateway.stop())

describe('models', () => {
  test.each(['/v1/models', '/llm/v1/models', '/llm/models'])('%s lists every catalog id with limits and prices, no key needed', async (path) => {
    const response = await fetch(`${gateway.url}${path}`)
    expect(response.status).toBe(200)
    const body = (await response.json()) as { object: string; data: Record<string, unknown>[] }
    expect(body.object).toBe('list')
    expect(body.data.map((m) => m.id)).toEqual(buildCatalog().models.map((m) => m.id))
    const gpt4o = body.data.find((m) => m.id === 'openai/gpt-4o')!
    expect(gpt4o).toMatchObject({
      object: 'model',
      owned_by: 'openai',
      context_window: 128_000,
      max_output_tokens: 16_384,
      pricing: { input: '2.50', output: '10.00', cached_input: '1.25', currency: 'USD', unit: '1M tokens', long_context: null },
    })
    expect(response.headers.get('x-request-id')).toMatch(/^req_/)
  })

  test('every model carries its prices as decimal strings, its limits, its source and the catalog version', async () => {
    const catalog = buildCatalog()
    const body = (await (await fetch(`${gateway.url}/v1/models`)).json()) as { catalog_version: string; data: ModelJson[] }
    expect(body.catalog_version).toBe(catalog.version)
    expect(body.data.length).toBeGreaterThanOrEqual(37)
    for (const model of catalog.models) {
      const listed = body.data.find((m) => m.id === model.id)!
      expect(listed).toMatchObject({
        object: 'model',
        owned_by: model.provider,
        created: expect.any(Number),
        upstream_model: model.upstreamModel,
        context_window: model.contextWindow,
        max_output_tokens: model.maxOutputTokens,
        hidden_reasoning: model.hiddenReasoning,
        catalog_version: catalog.version,
        source: model.source,
      })
      expect(listed.source).toMatch(/\d{4}-\d{2}-\d{2}/)
      for (const key of ['input', 'output', 'cached_input', 'cache_write'] as const) {
        expect(listed.pricing[key]).toMatch(/^\d+(\.\d{1,9})?$/)
      }
      // The strings are the catalog's exact prices: parsed back, they are the nano-USD it bills with.
      expect(parseUsdToNano(listed.pricing.input)).toBe(model.prices.input)
      expect(parseUsdToNano(listed.pricing.output)).toBe(model.prices.output)
      expect(parseUsdToNano(listed.pricing.cached_input)).toBe(model.prices.cachedInput)
      expect(parseUsdToNano(listed.pricing.cache_write)).toBe(model.prices.cacheWrite)
    }
    expect(body.data.find((m) => m.id === 'anthropic/claude-sonnet-4')!.pricing).toMatchObject({ input: '3.00', cached_input: '0.30', cache_write: '3.75', output: '15.00' })
    expect(body.data.find((m) => m.id === 'google/gemini-2.5-pro')!.pricing.long_context).toEqual({
      above_input_tokens: 200_000, input: '2.50', output: '15.00', cached_input: '0.25', cache_write: '2.50',
    })
  })

  test('each model says its kind; embedding and image models show their prices, tables and source', async () => {
    const body = (await (await fetch(`${gateway.url}/v1/models`)).json()) as { data: Record<string, unknown>[] }
    const byId = new Map(body.data.map((m) => [m.id as string, m]))
    for (const model of buildCatalog().models) expect(byId.get(model.id)!.kind).toBe(model.kind)
    expect(byId.get('openai/gpt-4o')!.kind).toBe('chat')
    expect(byId.get('openai/text-embedding-3-small')).toMatchObject({ kind: 'embedding', pricing: { input: '0.02', output: '0' }, free: false })
    expect(byId.get('openai/text-embedding-3-small')!.source).toContain('2026-12-01')
    expect(byId.get('openai/dall-e-3')).toMatchObject({
      kind: 'image',
      free: false,
      pricing: { per_image: { standard: { '1024x1024': '0.04', '1792x1024': '0.08' }, hd: { '1024x1792': '0.12' } } },
      images: { max_images: 1, accepts_auto: false },
    })
    expect(byId.get('openai/gpt-image-1')).toMatchObject({
      kind: 'image',
      pricing: { input: '5.00', image_input: '10.00', image_output: '40.00', image_output_tokens: { medium: { '1024x1024': 1_056 }, high: { '1024x1536': 6_240 } } },
      images: { accepts_auto: true, max_images: 10 },
    })
    for (const id of ['mock/embed', 'mock/image']) expect(byId.get(id)).toMatchObject({ free: true })
  })

  test('the openai SDK lists and retrieves models', async () => {
    const client = gateway.client()
    const ids: string[] = []
    for await (const model of client.models.list()) ids.push(model.id)
    expect(ids).toContain('anthropic/claude-sonnet-4')
    const one = await client.models.retrieve('google/gemini-2.5-pro')
    expect(one.id).toBe('google/gemini-2.5-pro')
    // Retrieving by an upstream id answers with the catalog entry it maps to.
    const byUpstream = (await (await fetch(`${gateway.url}/v1/models/claude-sonnet-4-20250514`)).json()) as { id: string; catalog_version: string }
    expect(byUpstream).toMatchObject({ id: 'anthropic/claude-sonnet-4', catalog_version: buildCatalog().version })
    const missing = await fetch(`${gateway.url}/v1/models/openai/nope`)
    expect(missing.status).toBe(404)
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('model_not_found')
  })
})

describe('swagger', () => {
  test('/swagger serves the UI and its OpenAPI document lists the endpoints', async () => {
    const page = await fetch(`${gateway.url}/swagger`)
    expect(page.status).toBe(200)
    expect(await page.text()).toContain('<html')
    const spec = (await (await fetch(`${gateway.url}/swagger/json`)).json()) as { paths: Record<string, unknown> }
    const endpoints = ['/v1/chat/completions', '/llm/v1/chat/completions', '/v1/models', '/llm/models', '/healthz', '/readyz']
    const messages = ['/v1/messages', '/llm/v1/messages', '/v1/messages/count_tokens', '/llm/v1/messages/count_tokens']
    const media = ['/v1/embeddings', '/llm/v1/embeddings', '/v1/images/generations', '/llm/v1/images/generations']
    for (const path of [...endpoints, ...messages, ...media]) {
      expect(Object.keys(spec.paths)).toContain(path)
    }
  })
})
