// GET /models in OpenAI's list format under every prefix, one model by id, and the Swagger page documenting the API.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { buildCatalog } from '../../src/pricing/catalog'
import { startGateway, type TestGateway } from '../helpers/gateway'

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
      pricing: { input: '2.50', output: '10.00', currency: 'USD', unit: '1M tokens' },
    })
    expect(response.headers.get('x-request-id')).toMatch(/^req_/)
  })

  test('the openai SDK lists and retrieves models', async () => {
    const client = gateway.client()
    const ids: string[] = []
    for await (const model of client.models.list()) ids.push(model.id)
    expect(ids).toContain('anthropic/claude-sonnet-4')
    const one = await client.models.retrieve('google/gemini-2.5-pro')
    expect(one.id).toBe('google/gemini-2.5-pro')
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
    for (const path of ['/v1/chat/completions', '/llm/v1/chat/completions', '/v1/messages', '/llm/v1/messages', '/v1/messages/count_tokens', '/llm/v1/messages/count_tokens', '/v1/models', '/llm/models', '/healthz', '/readyz']) {
      expect(Object.keys(spec.paths)).toContain(path)
    }
  })
})
