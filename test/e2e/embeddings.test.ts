// POST /v1/embeddings through the official openai SDK: each embedding model answers in OpenAI's format, billed exactly
// (the fixture's usage, or for Gemini our count, at catalog prices) and shown per model in /llm/usage; bad input is a 4xx.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import OpenAI from 'openai'
import type { Sql } from '../../src/lib/db'
import { countTextTokens } from '../../src/metering/tokenizer'
import { buildCatalog } from '../../src/pricing/catalog'
import { formatNanoAsUsd, tokenClassCost } from '../../src/pricing/money'
import { mockVector, MOCK_EMBEDDING_DIMENSIONS } from '../../src/providers/mock/media'
import { testDb } from '../helpers/db'
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream'
import { readFixture } from '../helpers/fixtures'
import { startGateway, TEST_KEY, upstreamEnv, type TestGateway } from '../helpers/gateway'
import { registerAgent, type PayingAgent } from '../helpers/money'
import { waitFor } from '../helpers/poll'

let upstream: FakeUpstream
let gateway: TestGateway
let sql: Sql
let agent: PayingAgent
let client: OpenAI
const catalog = buildCatalog()

beforeAll(async () => {
  upstream = startFakeUpstream()
  gateway = await startGateway(upstreamEnv(upstream.url))
  sql = await testDb(2)
  agent = await registerAgent(gateway.url, sql, { mode: 'cap', capNano: 10_000_000_000n })
  client = gateway.client({ apiKey: agent.apiKey })
})
afterAll(async () => {
  await gateway.stop()
  await sql.end()
  upstream.stop()
})

const INPUTS = ['The food was delicious and the waiter was friendly.', 'A second sentence to embed.']
const openAiFixture = JSON.parse(readFixture('openai.embeddings.json')) as { data: { embedding: number[] }[]; usage: { prompt_tokens: number } }
const geminiFixture = JSON.parse(readFixture('gemini.batchEmbedContents.json')) as { embeddings: { values: number[] }[] }

/** What the model must be billed for INPUTS: the provider's reported tokens, or (Gemini reports none) our o200k count. */
function expectedCost(model: string): { tokens: number; nano: bigint; source: string } {
  const prices = catalog.find(model)!.prices
  const reported = model.startsWith('openai/') ? openAiFixture.usage.prompt_tokens : null
  const tokens = reported ?? INPUTS.reduce((sum, text) => sum + countTextTokens(text), 0)
  return { tokens, nano: tokenClassCost(tokens, prices.input), source: reported === null ? 'counted' : 'both' }
}

/** The account's /llm/usage line for a model once the usage worker has stored `rows` requests of it. */
async function usageLine(apiKey: string, model: string, rows: number) {
  await waitFor(async () => {
    const [row] = await sql<{ n: string }[]>`SELECT count(*) AS n FROM usage_events WHERE account_id = ${agent.id} AND model = ${model}`
    return Number(row!.n) >= rows
  }, 10_000, `${rows} usage rows of ${model}`)
  const response = await fetch(`${gateway.url}/llm/usage`, { headers: { authorization: `Bearer ${apiKey}` } })
  expect(response.status).toBe(200)
  const report = (await response.json()) as { by_model: Record<string, { input: number; output: number; cost_usd: string }> }
  return report.by_model[model]
}

const vectorsOf = (fixture: string) => (fixture === 'openai' ? openAiFixture.data.map((d) => d.embedding) : geminiFixture.embeddings.map((e) => e.values))

describe.each([
  { model: 'openai/text-embedding-3-small', fixture: 'openai' },
  { model: 'openai/text-embedding-3-large', fixture: 'openai' },
  { model: 'google/gemini-embedding-001', fixture: 'gemini' },
])('$model through the openai SDK', ({ model, fixture }) => {
  test('answers the provider vectors in OpenAI format, billed exactly the usage at catalog prices', async () => {
    const { data, response } = await client.embeddings.create({ model, input: INPUTS }).withResponse()
    expect(data.object).toBe('list')
    expect(data.data).toHaveLength(2)
    vectorsOf(fixture).forEach((vector, i) => {
      expect(data.data[i]!.index).toBe(i)
      // The SDK asks for base64 and decodes float32: the provider's values survive to float32 precision.
      vector.forEach((value, j) => expect(data.data[i]!.embedding[j]!).toBeCloseTo(value, 6))
    })
    const expected = expectedCost(model)
    expect(data.usage.prompt_tokens).toBe(expected.tokens)

    const record = await gateway.usageFor(response.headers.get('x-request-id')!)
    expect(record).toMatchObject({ model, status: 'ok', inputTokens: expected.tokens, outputTokens: 0, source: expected.source })
    expect(record.costNano).toBe(Number(expected.nano))
    expect(record.costNano).toBeGreaterThan(0)

    const line = await usageLine(agent.apiKey, model, 1)
    expect(line).toEqual({ input: expected.tokens, output: 0, cost_usd: formatNanoAsUsd(expected.nano) })
  })
})

describe('the upstream requests', () => {
  test('OpenAI gets the body with its own model id; Gemini gets one batchEmbedContents request per input', async () => {
    await client.embeddings.create({ model: 'openai/text-embedding-3-small', input: 'tag-openai-request', dimensions: 8 })
    const openai = upstream.requests.find((r) => r.path === '/v1/embeddings' && r.body.input === 'tag-openai-request')!
    expect(openai.body).toMatchObject({ model: 'text-embedding-3-small', dimensions: 8, encoding_format: 'base64' })
    expect(openai.headers.authorization).toBe('Bearer sk-upstream-openai-secret-123456')

    await client.embeddings.create({ model: 'google/gemini-embedding-001', input: ['tag-gemini-a', 'tag-gemini-b'], dimensions: 8, encoding_format: 'float' })
    const gemini = upstream.requests.find((r) => r.path.endsWith(':batchEmbedContents') && JSON.stringify(r.body).includes('tag-gemini-a'))!
    expect(gemini.path).toBe('/v1beta/models/gemini-embedding-001:batchEmbedContents')
    expect(gemini.body).toEqual({
      requests: ['tag-gemini-a', 'tag-gemini-b'].map((text) => ({ model: 'models/gemini-embedding-001', content: { parts: [{ text }] }, outputDimensionality: 8 })),
    })
  })
})

describe('mock/embed', () => {
  test('free, deterministic unit vectors, also under /llm/v1 and for token ids', async () => {
    const llm = gateway.client({ prefix: '/llm/v1' })
    const first = await llm.embeddings.create({ model: 'mock/embed', input: ['same text', 'other text'], encoding_format: 'float' })
    const again = await client.embeddings.create({ model: 'mock/embed', input: 'same text' })
    expect(first.data[0]!.embedding).toHaveLength(MOCK_EMBEDDING_DIMENSIONS)
    expect(first.data[0]!.embedding).toEqual(mockVector('same text', MOCK_EMBEDDING_DIMENSIONS))
    again.data[0]!.embedding.forEach((value, i) => expect(value).toBeCloseTo(first.data[0]!.embedding[i]!, 6))
    expect(first.data[1]!.embedding).not.toEqual(first.data[0]!.embedding)
    expect(Math.hypot(...first.data[0]!.embedding)).toBeCloseTo(1, 9)

    const { data, response } = await client.embeddings.create({ model: 'mock/embed', input: [[1, 2, 3], [4, 5]], dimensions: 4 }).withResponse()
    expect(data.data.map((d) => d.embedding.length)).toEqual([4, 4])
    expect(data.usage.prompt_tokens).toBe(5)
    const record = await gateway.usageFor(response.headers.get('x-request-id')!)
    expect(record).toMatchObject({ model: 'mock/embed', inputTokens: 5, costNano: 0 })
  })
})

describe('bad input is a clear 4xx in our error shape', () => {
  const post = (body: unknown, key = TEST_KEY) =>
    fetch(`${gateway.url}/v1/embeddings`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })

  test.each([
    ['an unknown model', { model: 'openai/text-embedding-9', input: 'x' }, 404, 'model_not_found', 'model'],
    ['a chat model', { model: 'openai/gpt-4o', input: 'x' }, 400, 'wrong_model_kind', 'model'],
    ['an image model', { model: 'openai/gpt-image-1', input: 'x' }, 400, 'wrong_model_kind', 'model'],
    ['an empty string', { model: 'mock/embed', input: '' }, 400, 'empty_input', 'input[0]'],
    ['an empty array', { model: 'mock/embed', input: [] }, 400, 'empty_input', 'input'],
    ['an empty element', { model: 'mock/embed', input: ['a', ''] }, 400, 'empty_input', 'input[1]'],
    ['token ids for Gemini', { model: 'google/gemini-embedding-001', input: [1, 2, 3] }, 400, 'unsupported_value', 'input'],
    ['over 100 inputs for Gemini', { model: 'google/gemini-embedding-001', input: Array.from({ length: 101 }, () => 'x') }, 400, 'too_many_inputs', 'input'],
    ['no input', { model: 'mock/embed' }, 400, 'missing_required_parameter', 'input'],
    ['a number as input', { model: 'mock/embed', input: 42 }, 400, 'invalid_value', 'input'],
    ['too many dimensions for mock/embed', { model: 'mock/embed', input: 'x', dimensions: 5_000 }, 400, 'unsupported_value', 'dimensions'],
    ['a bad encoding_format', { model: 'mock/embed', input: 'x', encoding_format: 'hex' }, 400, 'invalid_value', 'encoding_format'],
  ])('%s', async (_, body, status, code, param) => {
    const response = await post(body)
    expect(response.status).toBe(status)
    const error = ((await response.json()) as { error: { code: string; param: string | null; message: string; type: string } }).error
    expect(error.code).toBe(code)
    expect(error.param).toBe(param)
    expect(error.message.length).toBeGreaterThan(10)
    expect(response.headers.get('x-request-id')).toMatch(/^req_/)
  })

  test('an embedding model sent to chat is a 400 naming the endpoint it belongs to', async () => {
    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'openai/text-embedding-3-small', messages: [{ role: 'user', content: 'hi' }] }),
    })
    expect(response.status).toBe(400)
    const error = ((await response.json()) as { error: { code: string; message: string } }).error
    expect(error.code).toBe('wrong_model_kind')
    expect(error.message).toContain('/v1/embeddings')
  })

  test('without a key: 401 before the body is read', async () => {
    const response = await fetch(`${gateway.url}/v1/embeddings`, { method: 'POST', body: '{"model":"mock/embed","input":"x"}' })
    expect(response.status).toBe(401)
  })

  test('an upstream 429 is relayed with its Retry-After', async () => {
    const response = await post({ model: 'openai/text-embedding-3-small', input: 'scenario:error-429' })
    expect(response.status).toBe(429)
    expect(response.headers.get('retry-after')).toBe('7')
  })
})
