// The official openai SDK against the gateway: every provider streams and non-streams the fixtures' answers, tools round-trip.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type OpenAI from 'openai'
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream'
import { startGateway, upstreamEnv, type TestGateway } from '../helpers/gateway'
import { buildCatalog } from '../../src/pricing/catalog'
import { usageCost } from '../../src/pricing/cost'

let upstream: FakeUpstream
let gateway: TestGateway
let client: OpenAI

beforeAll(async () => {
  upstream = startFakeUpstream()
  gateway = await startGateway(upstreamEnv(upstream.url))
  client = gateway.client()
})
afterAll(async () => {
  await gateway.stop()
  upstream.stop()
})

const weatherTool = {
  type: 'function' as const,
  function: {
    name: 'get_weather',
    description: 'Current weather for a location',
    parameters: { type: 'object', properties: { location: { type: 'string' } }, required: ['location'] },
  },
}

// Each provider's fixtures: the text it answers and the usage it reports (what we must bill).
const cases = [
  { model: 'openai/gpt-4o', text: 'Hello! How can I assist you today?', usage: [19, 10], toolUsage: [81, 17] },
  { model: 'anthropic/claude-sonnet-4', text: 'Hello! How can I help you today?', usage: [25, 12], toolUsage: [472, 89] },
  { model: 'google/gemini-2.0-flash', text: 'Hello! How can I help you today?\n', usage: [8, 10], toolUsage: [45, 7] },
] as const

async function collectStream(stream: AsyncIterable<OpenAI.Chat.Completions.ChatCompletionChunk>) {
  let text = ''
  let finishReason: string | null = null
  let usage: OpenAI.Completions.CompletionUsage | null | undefined
  const toolCalls = new Map<number, { id?: string; name?: string; arguments: string }>()
  let chunks = 0
  for await (const chunk of stream) {
    chunks++
    if (chunk.usage) usage = chunk.usage
    for (const choice of chunk.choices) {
      if (choice.delta.content) text += choice.delta.content
      if (choice.finish_reason) finishReason = choice.finish_reason
      for (const call of choice.delta.tool_calls ?? []) {
        const entry = toolCalls.get(call.index) ?? { arguments: '' }
        if (call.id) entry.id = call.id
        if (call.function?.name) entry.name = call.function.name
        if (call.function?.arguments) entry.arguments += call.function.arguments
        toolCalls.set(call.index, entry)
      }
    }
  }
  return { text, finishReason, usage, toolCalls, chunks }
}

describe.each(cases)('$model through the openai SDK', ({ model, text, usage, toolUsage }) => {
  test('non-streaming returns the upstream answer, billed on the provider usage', async () => {
    const { data, response } = await client.chat.completions
      .create({ model, messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hello' }] })
      .withResponse()
    expect(data.object).toBe('chat.completion')
    expect(data.choices[0]!.message.content).toBe(text)
    expect(data.choices[0]!.finish_reason).toBe('stop')
    expect(data.usage?.prompt_tokens).toBe(usage[0])
    expect(data.usage?.completion_tokens).toBe(usage[1])
    const record = await gateway.usageFor(response.headers.get('x-request-id')!)
    expect(record).toMatchObject({ model, status: 'ok', stream: false, inputTokens: usage[0], outputTokens: usage[1], source: 'both' })
    const prices = buildCatalog().find(model)!.prices
    const expected = usageCost({ inputTokens: usage[0], outputTokens: usage[1], cachedInputTokens: 0, cacheWriteTokens: 0 }, prices)
    expect(record.costNano).toBe(Number(expected))
    expect(record.costNano).toBeGreaterThan(0)
  })

  test('streaming yields the same text as non-streaming, with the usage chunk when asked', async () => {
    const { data: stream, response } = await client.chat.completions
      .create({ model, stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'Hello' }] })
      .withResponse()
    expect(response.headers.get('content-type')).toContain('text/event-stream')
    const result = await collectStream(stream)
    expect(result.text).toBe(text)
    expect(result.finishReason).toBe('stop')
    expect(result.usage?.prompt_tokens).toBe(usage[0])
    expect(result.usage?.completion_tokens).toBe(usage[1])
    const record = await gateway.usageFor(response.headers.get('x-request-id')!)
    expect(record).toMatchObject({ model, status: 'ok', stream: true, inputTokens: usage[0], outputTokens: usage[1] })
    expect(record.countedOutputTokens).toBeGreaterThan(0)
    expect(record.ttfbMs).not.toBeNull()
  })

  test('streaming without include_usage sends no usage, yet the gateway still bills the provider usage', async () => {
    const { data: stream, response } = await client.chat.completions
      .create({ model, stream: true, messages: [{ role: 'user', content: 'Hello' }] })
      .withResponse()
    const result = await collectStream(stream)
    expect(result.text).toBe(text)
    expect(result.usage).toBeUndefined()
    const record = await gateway.usageFor(response.headers.get('x-request-id')!)
    expect(record).toMatchObject({ inputTokens: usage[0], outputTokens: usage[1], source: 'both' })
  })

  test('a streamed tool call arrives as OpenAI tool_calls deltas', async () => {
    const { data: stream, response } = await client.chat.completions
      .create({
        model,
        stream: true,
        stream_options: { include_usage: true },
        tools: [weatherTool],
        messages: [{ role: 'user', content: 'Weather in Paris? scenario:tools' }],
      })
      .withResponse()
    const result = await collectStream(stream)
    expect(result.finishReason).toBe('tool_calls')
    expect(result.toolCalls.size).toBe(1)
    const call = result.toolCalls.get(0)!
    expect(call.name).toBe('get_weather')
    expect(call.id).toBeTruthy()
    expect(JSON.parse(call.arguments)).toEqual({ location: 'Paris, France' })
    expect(result.usage?.prompt_tokens).toBe(toolUsage[0])
    expect(result.usage?.completion_tokens).toBe(toolUsage[1])
    const record = await gateway.usageFor(response.headers.get('x-request-id')!)
    expect(record).toMatchObject({ inputTokens: toolUsage[0], outputTokens: toolUsage[1], status: 'ok' })
  })

  test('the tool result goes back upstream in the provider format and the conversation continues', async () => {
    const before = upstream.requests.length
    const reply = await client.chat.completions.create({
      model,
      tools: [weatherTool],
      messages: [
        { role: 'user', content: 'Weather in Paris?' },
        {
          role: 'assistant',
          content: null,
          tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"location":"Paris, France"}' } }],
        },
        { role: 'tool', tool_call_id: 'call_1', content: '18°C and sunny' },
      ],
    })
    expect(reply.choices[0]!.message.content).toBe(text)
    const sent = JSON.stringify(upstream.requests.slice(before).at(-1)!.body)
    expect(sent).toContain('Paris, France')
    expect(sent).toContain('18°C and sunny')
    expect(sent).toContain('get_weather')
  })
})

describe('crosscheck sampling', () => {
  test('with METER_CROSSCHECK_RATE=0 provider usage is billed without counting (source provider)', async () => {
    const uncounted = await startGateway({ ...upstreamEnv(upstream.url), METER_CROSSCHECK_RATE: '0' })
    try {
      const { response } = await uncounted.client().chat.completions.create({ model: 'openai/gpt-4o', messages: [{ role: 'user', content: 'Hello' }] }).withResponse()
      const record = await uncounted.usageFor(response.headers.get('x-request-id')!)
      expect(record).toMatchObject({ source: 'provider', inputTokens: 19, outputTokens: 10, countedOutputTokens: 0, outputTokensDiff: null })
    } finally {
      await uncounted.stop()
    }
  })
})

describe('mock/echo needs no provider key', () => {
  test('streams the last user message back word by word; same text non-streamed', async () => {
    const prompt = 'the quick brown fox jumps'
    const streamed = await collectStream(
      await client.chat.completions.create({ model: 'mock/echo', stream: true, messages: [{ role: 'user', content: prompt }] }),
    )
    expect(streamed.text).toBe(prompt)
    expect(streamed.chunks).toBeGreaterThanOrEqual(5 + 2)
    const whole = await client.chat.completions.create({ model: 'mock/echo', messages: [{ role: 'user', content: prompt }] })
    expect(whole.choices[0]!.message.content).toBe(prompt)
    expect(whole.usage!.completion_tokens).toBeGreaterThan(0)
  })

  test('honours max_tokens with finish_reason length', async () => {
    const reply = await client.chat.completions.create({
      model: 'mock/echo',
      max_tokens: 2,
      messages: [{ role: 'user', content: 'one two three four five' }],
    })
    expect(reply.choices[0]!.finish_reason).toBe('length')
    expect(reply.usage!.completion_tokens).toBeLessThanOrEqual(2)
  })

  test('served under /llm/v1 as well as /v1', async () => {
    const reply = await gateway.client({ prefix: '/llm/v1' }).chat.completions.create({ model: 'mock/echo', messages: [{ role: 'user', content: 'hi' }] })
    expect(reply.choices[0]!.message.content).toBe('hi')
  })
})

describe('what the upstreams receive', () => {
  test('OpenAI: upstream model id, our key, usage always asked for, unknown fields passed through', async () => {
    const before = upstream.requests.length
    await collectStream(
      await client.chat.completions.create({
        model: 'openai/gpt-4o',
        stream: true,
        messages: [{ role: 'user', content: 'Hello' }],
        // @ts-expect-error a field the SDK does not know must still reach the upstream untouched
        custom_vendor_field: { keep: [1, 2, 3] },
      }),
    )
    const sent = upstream.requests.slice(before).at(-1)!
    expect(sent.path).toBe('/v1/chat/completions')
    expect(sent.headers.authorization).toBe('Bearer sk-upstream-openai-secret-123456')
    expect(sent.body.model).toBe('gpt-4o')
    expect(sent.body.stream_options).toEqual({ include_usage: true })
    expect(sent.body.custom_vendor_field).toEqual({ keep: [1, 2, 3] })
  })

  test('Anthropic: /v1/messages with x-api-key, version header, system and max_tokens', async () => {
    const before = upstream.requests.length
    await client.chat.completions.create({ model: 'anthropic/claude-sonnet-4', messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi' }] })
    const sent = upstream.requests.slice(before).at(-1)!
    expect(sent.path).toBe('/v1/messages')
    expect(sent.headers['x-api-key']).toBe('sk-ant-upstream-secret-123456')
    expect(sent.headers['anthropic-version']).toBe('2023-06-01')
    expect(sent.body).toMatchObject({ model: 'claude-sonnet-4-20250514', system: 'Be brief.', max_tokens: 8192 })
  })

  test('Gemini: streamGenerateContent?alt=sse with x-goog-api-key and systemInstruction', async () => {
    const before = upstream.requests.length
    await collectStream(
      await client.chat.completions.create({ model: 'google/gemini-2.0-flash', stream: true, messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi' }] }),
    )
    const sent = upstream.requests.slice(before).at(-1)!
    expect(sent.path).toBe('/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse')
    expect(sent.headers['x-goog-api-key']).toBe('AIzaUpstreamGeminiSecret123456')
    expect(sent.body.systemInstruction).toEqual({ parts: [{ text: 'Be brief.' }] })
  })
})
