// The Anthropic SDK calling OpenAI, Gemini and mock models through /v1/messages: translated both ways, Anthropic-shaped streams with the provider's text, billed exactly.
import Anthropic from '@anthropic-ai/sdk'
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { createDb, type Sql } from '../../src/lib/db'
import { countedPromptTokens, measurePrompt } from '../../src/metering/prompt'
import { buildCatalog } from '../../src/pricing/catalog'
import { usageCost } from '../../src/pricing/cost'
import { TEST_DATABASE_URL } from '../helpers/db'
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream'
import { startGateway, TEST_KEY, upstreamEnv, type TestGateway } from '../helpers/gateway'
import { waitFor } from '../helpers/poll'

let upstream: FakeUpstream
let gateway: TestGateway
let sql: Sql
let client: Anthropic

beforeAll(async () => {
  upstream = startFakeUpstream()
  gateway = await startGateway(upstreamEnv(upstream.url))
  sql = createDb(TEST_DATABASE_URL)
  client = new Anthropic({ apiKey: TEST_KEY, baseURL: gateway.url, maxRetries: 0, timeout: 10_000 })
})
afterAll(async () => {
  await sql.end()
  await gateway.stop()
  upstream.stop()
})

const weatherTool = {
  name: 'get_weather',
  description: 'Current weather for a location',
  input_schema: { type: 'object' as const, properties: { location: { type: 'string' } }, required: ['location'] },
}

// Each provider's fixtures: the text it answers and the usage it reports (what we must bill), as the openai SDK sees them (test/e2e/providers.test.ts).
const cases = [
  { model: 'openai/gpt-4o', text: 'Hello! How can I assist you today?', usage: [19, 10], toolUsage: [81, 17], path: '/v1/chat/completions' },
  { model: 'google/gemini-2.0-flash', text: 'Hello! How can I help you today?\n', usage: [8, 10], toolUsage: [45, 7], path: '/v1beta/models/gemini-2.0-flash:' },
] as const

async function rowOf(requestId: string) {
  return waitFor(
    async () => (await sql<{ input_tokens: number; output_tokens: number; cost_nano: string; status: string; model: string }[]>`
      SELECT model, input_tokens, output_tokens, cost_nano, status FROM usage_events WHERE request_id = ${requestId}`)[0],
    10_000,
    `the usage row of ${requestId}`,
  )
}

function costOf(model: string, [input, output]: readonly [number, number]): number {
  return Number(usageCost({ inputTokens: input, outputTokens: output, cachedInputTokens: 0, cacheWriteTokens: 0 }, buildCatalog().find(model)!.prices))
}

/** The events of a raw stream, checked for Anthropic's grammar: message_start first, blocks opened and closed in order, message_stop last. */
function checkGrammar(types: string[], events: { type: string; index?: number }[]): void {
  expect(types[0]).toBe('message_start')
  expect(types.at(-2)).toBe('message_delta')
  expect(types.at(-1)).toBe('message_stop')
  let open: number | null = null
  let next = 0
  for (const event of events) {
    if (event.type === 'content_block_start') {
      expect(open).toBeNull()
      expect(event.index).toBe(next++)
      open = event.index!
    } else if (event.type === 'content_block_delta') expect(event.index).toBe(open!)
    else if (event.type === 'content_block_stop') {
      expect(event.index).toBe(open!)
      open = null
    }
  }
  expect(open).toBeNull()
}

describe.each(cases)('$model through /v1/messages', ({ model, text, usage, toolUsage, path }) => {
  test('a streamed answer is an Anthropic stream with the provider text, billed the provider usage', async () => {
    const { data: stream, response } = await client.messages
      .create({ model, max_tokens: 200, stream: true, system: 'Be brief.', messages: [{ role: 'user', content: 'Hello' }] })
      .withResponse()
    const events: Anthropic.RawMessageStreamEvent[] = []
    let streamed = ''
    for await (const event of stream) {
      events.push(event)
      if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') streamed += event.delta.text
    }
    expect(streamed).toBe(text)
    checkGrammar(
      events.map((event) => event.type),
      events as { type: string; index?: number }[],
    )
    const delta = events.find((event) => event.type === 'message_delta') as Anthropic.RawMessageDeltaEvent
    expect(delta.delta.stop_reason).toBe('end_turn')
    expect(delta.usage).toMatchObject({ input_tokens: usage[0], output_tokens: usage[1] })
    const row = await rowOf(response.headers.get('x-request-id')!)
    expect(row).toMatchObject({ model, status: 'ok', input_tokens: usage[0], output_tokens: usage[1] })
    expect(Number(row.cost_nano)).toBe(costOf(model, usage))
  })

  test("the SDK's stream helper assembles the same message", async () => {
    const stream = client.messages.stream({ model, max_tokens: 200, messages: [{ role: 'user', content: 'Hello' }] })
    const message = await stream.finalMessage()
    expect(message.content).toEqual([expect.objectContaining({ type: 'text', text })])
    expect(message.usage).toMatchObject({ input_tokens: usage[0], output_tokens: usage[1] })
    expect(message.stop_reason).toBe('end_turn')
  })

  test('a non-streamed answer is an Anthropic message with the provider text and usage', async () => {
    const before = upstream.requests.length
    // temperature and top_p left this SDK's types, but clients built on older ones still send them.
    const params = { model, max_tokens: 200, temperature: 0.5, top_p: 0.9, stop_sequences: ['END'], system: 'Be brief.', messages: [{ role: 'user', content: 'Hello' }] }
    const { data, response } = await client.messages.create(params as Anthropic.MessageCreateParamsNonStreaming).withResponse()
    expect(data).toMatchObject({ type: 'message', role: 'assistant', stop_reason: 'end_turn', usage: { input_tokens: usage[0], output_tokens: usage[1] } })
    expect(data.id).toStartWith('msg_')
    expect(data.content as unknown[]).toEqual([{ type: 'text', text }])
    const row = await rowOf(response.headers.get('x-request-id')!)
    expect(Number(row.cost_nano)).toBe(costOf(model, usage))
    // The request went to the provider in its own format, system prompt, sampling and stop sequences included.
    const sent = upstream.requests.slice(before).find((r) => r.path.startsWith(path))!
    expect(JSON.stringify(sent.body)).toContain('Be brief.')
    expect(JSON.stringify(sent.body)).toContain('END')
    expect(JSON.stringify(sent.body)).toContain('0.9')
  })

  test('a streamed tool call is a tool_use block with its input, and the tool_result turn goes back translated', async () => {
    const stream = client.messages.stream({ model, max_tokens: 500, tools: [weatherTool], messages: [{ role: 'user', content: 'Weather in Paris? scenario:tools' }] })
    const message = await stream.finalMessage()
    expect(message.stop_reason).toBe('tool_use')
    const toolUse = message.content.find((block) => block.type === 'tool_use') as Anthropic.ToolUseBlock
    expect(toolUse).toMatchObject({ name: 'get_weather', input: { location: 'Paris, France' } })
    expect(toolUse.id).toBeTruthy()
    expect(message.usage).toMatchObject({ input_tokens: toolUsage[0], output_tokens: toolUsage[1] })

    const before = upstream.requests.length
    const reply = await client.messages.create({
      model,
      max_tokens: 500,
      tools: [weatherTool],
      messages: [
        { role: 'user', content: 'Weather in Paris?' },
        { role: 'assistant', content: message.content as Anthropic.ContentBlockParam[] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: toolUse.id, content: '18°C, sunny' }] },
      ],
    })
    expect(reply.content[0]).toMatchObject({ type: 'text', text })
    const sent = JSON.stringify(upstream.requests.slice(before).find((r) => r.path.startsWith(path))!.body)
    expect(sent).toContain('18°C, sunny')
    expect(sent).toContain('get_weather')
    expect(sent).toContain('Paris, France')
  })
})

describe('translated requests', () => {
  test('the OpenAI request carries the tool result as a tool message after the assistant call', async () => {
    const before = upstream.requests.length
    await client.messages.create({
      model: 'openai/gpt-4o',
      max_tokens: 100,
      system: [{ type: 'text', text: 'Be brief.' }],
      tools: [weatherTool],
      tool_choice: { type: 'any', disable_parallel_tool_use: true },
      messages: [
        { role: 'user', content: 'Weather in Paris?' },
        { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { location: 'Paris' } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: [{ type: 'text', text: '18°C' }] }, { type: 'text', text: 'Thanks!' }] },
      ],
    })
    const body = upstream.requests.slice(before).find((r) => r.path === '/v1/chat/completions')!.body
    expect(body.messages).toEqual([
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Weather in Paris?' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'toolu_1', type: 'function', function: { name: 'get_weather', arguments: '{"location":"Paris"}' } }] },
      { role: 'tool', tool_call_id: 'toolu_1', content: '18°C' },
      { role: 'user', content: [{ type: 'text', text: 'Thanks!' }] },
    ])
    expect(body.tools).toEqual([{ type: 'function', function: { name: 'get_weather', description: weatherTool.description, parameters: weatherTool.input_schema } }])
    expect(body.tool_choice).toBe('required')
    expect(body.parallel_tool_calls).toBe(false)
  })

  test('what another provider cannot take is a 400 in Anthropic shape, before anything is held', async () => {
    const error = await client.messages
      .create({ model: 'openai/gpt-4o', max_tokens: 10, messages: [{ role: 'user', content: [{ type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'x' } }] }] })
      .catch((e) => e)
    expect(error).toBeInstanceOf(Anthropic.BadRequestError)
    expect(error.error).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } })
    expect(error.error.error.message).toContain('document')
  })

  test('mock/echo streams through /v1/messages with no provider key, free', async () => {
    const { data: stream, response } = await client.messages
      .create({ model: 'mock/echo', max_tokens: 100, stream: true, messages: [{ role: 'user', content: 'echo these four words' }] })
      .withResponse()
    let streamed = ''
    for await (const event of stream) if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') streamed += event.delta.text
    expect(streamed).toBe('echo these four words')
    const record = await gateway.usageFor(response.headers.get('x-request-id')!)
    expect(record).toMatchObject({ model: 'mock/echo', status: 'ok', costNano: 0 })
    expect(record.outputTokens).toBeGreaterThan(0)
  })

  test('a cap the echo reaches ends with stop_reason max_tokens', async () => {
    const message = await client.messages.create({ model: 'mock/echo', max_tokens: 2, messages: [{ role: 'user', content: 'one two three four five six' }] })
    expect(message.stop_reason).toBe('max_tokens')
    expect(message.usage.output_tokens).toBeLessThanOrEqual(2)
  })

  test('count_tokens for a non-Anthropic model is our tiktoken count of its prompt, unbilled', async () => {
    const usageBefore = gateway.usage.length
    const { input_tokens } = await client.messages.countTokens({
      model: 'openai/gpt-4o',
      system: 'Be brief.',
      messages: [{ role: 'user', content: 'How many tokens is this?' }],
    })
    // The same prompt as a chat request, written by hand, counted the way chat requests are.
    const expected = countedPromptTokens(
      await measurePrompt({ model: 'openai/gpt-4o', messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'How many tokens is this?' }] }),
    )
    expect(input_tokens).toBe(expected)
    expect(input_tokens).toBeGreaterThan(5)
    expect(gateway.usage.length).toBe(usageBefore)
  })
})
