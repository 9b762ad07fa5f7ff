// POST /v1/images/generations through the official openai SDK: gpt-image-1 billed from its token usage, dall-e-3 per image
// by size and quality, mock/image free; holds are the worst case of n, size and quality; bad asks are clear 4xx.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import OpenAI from 'openai'
import { estimateImages } from '../../src/exchange/estimate-media'
import type { Sql } from '../../src/lib/db'
import { countTextTokens } from '../../src/metering/tokenizer'
import { buildCatalog } from '../../src/pricing/catalog'
import { formatNanoAsUsd, tokenClassCost } from '../../src/pricing/money'
import { OPENAI_PROMPT } from '../../src/providers/openai'
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
const gptImage = catalog.find('openai/gpt-image-1')!
const dalle = catalog.find('openai/dall-e-3')!

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

// A prompt as people write them; long enough that its count with OpenAI's margin covers the fixture's 50 input tokens.
const PROMPT =
  'A small red lighthouse on a rocky shore at dusk, painted in loose watercolour: soft orange light in the lamp, ' +
  'waves breaking white against dark rocks, a few gulls over the water, and a pale violet sky fading into deep blue.'

type GptImageFixture = {
  data: { b64_json: string }[]
  usage: { input_tokens: number; input_tokens_details: { image_tokens: number; text_tokens: number }; output_tokens: number }
}
const gptImageFixture = JSON.parse(readFixture('openai.images.gpt-image-1.json')) as GptImageFixture
const dalleFixture = JSON.parse(readFixture('openai.images.dall-e-3.json')) as { data: { url: string; revised_prompt: string }[] }

/** gpt-image-1's fixture usage at catalog prices: text input, image input, image output, each its own class. */
function gptImageCost(): bigint {
  const { usage } = gptImageFixture
  const { prices } = gptImage
  return (
    tokenClassCost(usage.input_tokens_details.text_tokens, prices.input) +
    tokenClassCost(usage.input_tokens_details.image_tokens, prices.imageInput) +
    tokenClassCost(usage.output_tokens, prices.imageOutput)
  )
}

async function usageLine(model: string, rows: number) {
  await waitFor(async () => {
    const [row] = await sql<{ n: string }[]>`SELECT count(*) AS n FROM usage_events WHERE account_id = ${agent.id} AND model = ${model}`
    return Number(row!.n) >= rows
  }, 10_000, `${rows} usage rows of ${model}`)
  const response = await fetch(`${gateway.url}/llm/usage`, { headers: { authorization: `Bearer ${agent.apiKey}` } })
  const report = (await response.json()) as { by_model: Record<string, { input: number; output: number; cost_usd: string; images?: number }> }
  return report.by_model[model]
}

describe('openai/gpt-image-1', () => {
  test('answers the fixture, billed its token usage at the text input, image input and image output prices', async () => {
    const { data, response } = await client.images.generate({ model: 'openai/gpt-image-1', prompt: PROMPT, size: '1024x1024', quality: 'medium' }).withResponse()
    expect(data.data?.[0]?.b64_json).toBe(gptImageFixture.data[0]!.b64_json)
    expect(data.usage?.output_tokens).toBe(gptImageFixture.usage.output_tokens)

    const record = await gateway.usageFor(response.headers.get('x-request-id')!)
    expect(record).toMatchObject({
      model: 'openai/gpt-image-1',
      status: 'ok',
      inputTokens: gptImageFixture.usage.input_tokens,
      outputTokens: gptImageFixture.usage.output_tokens,
      imageInputTokens: gptImageFixture.usage.input_tokens_details.image_tokens,
      imageOutputTokens: gptImageFixture.usage.output_tokens,
      images: 1,
      imageTier: null,
      overHoldNano: 0,
    })
    expect(record.costNano).toBe(Number(gptImageCost()))
    expect(record.countedInputTokens).toBe(countTextTokens(PROMPT))

    const line = await usageLine('openai/gpt-image-1', 1)
    expect(line).toMatchObject({ input: gptImageFixture.usage.input_tokens, output: gptImageFixture.usage.output_tokens, cost_usd: formatNanoAsUsd(gptImageCost()) })
  })

  test('the upstream gets the body with its model id, n, size and quality; no response_format', async () => {
    await client.images.generate({ model: 'openai/gpt-image-1', prompt: 'tag-gpt-image upstream body', n: 2, background: 'transparent', response_format: 'b64_json' } as never)
    const sent = upstream.requests.find((r) => r.path === '/v1/images/generations' && r.body.prompt === 'tag-gpt-image upstream body')!
    expect(sent.body).toEqual({ model: 'gpt-image-1', prompt: 'tag-gpt-image upstream body', n: 2, size: 'auto', quality: 'auto', background: 'transparent' })
  })
})

describe('openai/dall-e-3', () => {
  test.each([
    ['standard', '1024x1024'],
    ['hd', '1792x1024'],
  ] as const)('%s %s: billed per image delivered at the catalog price of that quality and size', async (quality, size) => {
    const { data, response } = await client.images.generate({ model: 'openai/dall-e-3', prompt: PROMPT, quality, size }).withResponse()
    expect(data.data?.[0]?.url).toBe(dalleFixture.data[0]!.url)
    expect(data.data?.[0]?.revised_prompt).toBe(dalleFixture.data[0]!.revised_prompt)

    const perImage = dalle.images!.perImageNano!.get(`${quality}/${size}`)!
    const expected = BigInt(dalleFixture.data.length) * perImage
    const record = await gateway.usageFor(response.headers.get('x-request-id')!)
    expect(record).toMatchObject({ model: 'openai/dall-e-3', status: 'ok', images: dalleFixture.data.length, imageTier: `${quality}/${size}`, inputTokens: 0, outputTokens: 0 })
    expect(record.costNano).toBe(Number(expected))
    expect(record.costNano).toBeGreaterThan(0)
  })

  test('/llm/usage shows dall-e-3 with the sum of both images at their prices', async () => {
    const expected = dalle.images!.perImageNano!.get('standard/1024x1024')! + dalle.images!.perImageNano!.get('hd/1792x1024')!
    const line = await usageLine('openai/dall-e-3', 2)
    expect(line).toEqual({ input: 0, output: 0, cost_usd: formatNanoAsUsd(expected), images: 2 })
  })
})

describe('mock/image', () => {
  test('free: n tiny PNGs as base64, or as data URLs', async () => {
    const { data, response } = await gateway.client({ prefix: '/llm/v1' }).images.generate({ model: 'mock/image', prompt: 'a cat', n: 3 }).withResponse()
    expect(data.data).toHaveLength(3)
    const png = Buffer.from(data.data![0]!.b64_json!, 'base64')
    expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])
    const record = await gateway.usageFor(response.headers.get('x-request-id')!)
    expect(record).toMatchObject({ model: 'mock/image', images: 3, costNano: 0 })

    const urls = await client.images.generate({ model: 'mock/image', prompt: 'a cat', response_format: 'url' })
    expect(urls.data![0]!.url).toStartWith('data:image/png;base64,')
  })
})

describe('the hold is the worst case the request allows', () => {
  test('gpt-image-1 at quality and size "auto" holds high-quality portrait images; a wallet short of that is refused, and the same ask at medium 1024x1024 passes', async () => {
    const promptTokens = countTextTokens(PROMPT)
    const auto = estimateImages(gptImage, { n: 2, quality: 'auto', size: 'auto', promptTokens, textMargin: OPENAI_PROMPT.textMargin })
    const portraitHigh = estimateImages(gptImage, { n: 2, quality: 'high', size: '1024x1536', promptTokens, textMargin: OPENAI_PROMPT.textMargin })
    const medium = estimateImages(gptImage, { n: 2, quality: 'medium', size: '1024x1024', promptTokens, textMargin: OPENAI_PROMPT.textMargin })
    expect(auto.holdNano).toBe(portraitHigh.holdNano)
    expect(auto.holdNano > medium.holdNano).toBe(true)

    const poor = await registerAgent(gateway.url, sql, { mode: 'prepaid', creditNano: auto.holdNano - 1n })
    const post = (body: Record<string, unknown>) =>
      fetch(`${gateway.url}/v1/images/generations`, {
        method: 'POST',
        headers: { authorization: `Bearer ${poor.apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'openai/gpt-image-1', prompt: PROMPT, n: 2, ...body }),
      })
    const refused = await post({})
    expect(refused.status).toBe(402)
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('insufficient_balance')
    const passed = await post({ quality: 'medium', size: '1024x1024' })
    expect(passed.status).toBe(200)
    await passed.text()
  })

  test('dall-e-3 holds exactly its per-image price', () => {
    const hold = estimateImages(dalle, { n: 1, quality: 'hd', size: '1024x1792', promptTokens: 0, textMargin: 1 })
    expect(hold.holdNano).toBe(dalle.images!.perImageNano!.get('hd/1024x1792')!)
    expect(hold.imageTier).toBe('hd/1024x1792')
  })
})

describe('bad asks are a clear 4xx in our error shape', () => {
  const post = (body: unknown) =>
    fetch(`${gateway.url}/v1/images/generations`, { method: 'POST', headers: { authorization: `Bearer ${TEST_KEY}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })

  test.each([
    ['an unknown model', { model: 'openai/dall-e-9', prompt: 'x' }, 404, 'model_not_found', 'model'],
    ['a chat model', { model: 'openai/gpt-4o', prompt: 'x' }, 400, 'wrong_model_kind', 'model'],
    ['an embedding model', { model: 'mock/embed', prompt: 'x' }, 400, 'wrong_model_kind', 'model'],
    ['a size dall-e-3 does not make', { model: 'openai/dall-e-3', prompt: 'x', size: '512x512' }, 400, 'unsupported_value', 'size'],
    ['a size gpt-image-1 does not make', { model: 'openai/gpt-image-1', prompt: 'x', size: '1792x1024' }, 400, 'unsupported_value', 'size'],
    ['a quality dall-e-3 does not have', { model: 'openai/dall-e-3', prompt: 'x', quality: 'high' }, 400, 'unsupported_value', 'quality'],
    ['"auto" for a per-image model', { model: 'openai/dall-e-3', prompt: 'x', size: 'auto' }, 400, 'unsupported_value', 'size'],
    ['n=2 for dall-e-3', { model: 'openai/dall-e-3', prompt: 'x', n: 2 }, 400, 'unsupported_value', 'n'],
    ['n=11 for gpt-image-1', { model: 'openai/gpt-image-1', prompt: 'x', n: 11 }, 400, 'unsupported_value', 'n'],
    ['n=0', { model: 'mock/image', prompt: 'x', n: 0 }, 400, 'invalid_value', 'n'],
    ['an empty prompt', { model: 'mock/image', prompt: '  ' }, 400, 'empty_prompt', 'prompt'],
    ['no prompt', { model: 'mock/image' }, 400, 'missing_required_parameter', 'prompt'],
    ['a prompt over dall-e-3 limit', { model: 'openai/dall-e-3', prompt: 'x'.repeat(4_001) }, 400, 'prompt_too_long', 'prompt'],
    ['stream', { model: 'openai/gpt-image-1', prompt: 'x', stream: true }, 400, 'unsupported_value', 'stream'],
    ['urls from gpt-image-1', { model: 'openai/gpt-image-1', prompt: 'x', response_format: 'url' }, 400, 'unsupported_value', 'response_format'],
  ])('%s', async (_, body, status, code, param) => {
    const response = await post(body)
    expect(response.status).toBe(status)
    const error = ((await response.json()) as { error: { code: string; param: string | null; message: string } }).error
    expect(error.code).toBe(code)
    expect(error.param).toBe(param)
    expect(error.message.length).toBeGreaterThan(10)
  })

  test('the refusal names what the model takes', async () => {
    const response = await post({ model: 'openai/dall-e-3', prompt: 'x', size: '512x512' })
    const { message } = ((await response.json()) as { error: { message: string } }).error
    expect(message).toContain('"1024x1024"')
    expect(message).toContain('"1792x1024"')
  })

  test('an image model on chat is a 400 naming /v1/images/generations', async () => {
    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'openai/dall-e-3', messages: [{ role: 'user', content: 'hi' }] }),
    })
    expect(response.status).toBe(400)
    expect(((await response.json()) as { error: { message: string } }).error.message).toContain('/v1/images/generations')
  })
})
