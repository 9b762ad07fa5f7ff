// The official Anthropic SDK against /v1/messages for Claude: the fixtures relayed byte for byte, tool use round-tripped, billed exactly, errors in Anthropic's shape.
import Anthropic from '@anthropic-ai/sdk'
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { createDb, type Sql } from '../../src/lib/db'
import { buildCatalog } from '../../src/pricing/catalog'
import { usageCost } from '../../src/pricing/cost'
import { TEST_DATABASE_URL } from '../helpers/db'
import { fakeTokenCount, startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream'
import { readFixture } from '../helpers/fixtures'
import { startGateway, TEST_KEY, upstreamEnv, type TestGateway } from '../helpers/gateway'
import { waitFor } from '../helpers/poll'

let upstream: FakeUpstream
let gateway: TestGateway
let sql: Sql
let client: Anthropic

const MODEL = 'anthropic/claude-sonnet-4'
const catalogModel = buildCatalog().find(MODEL)!

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

interface FixtureUsage {
  input_tokens: number
  output_tokens: number
  cache_creation_input_tokens?: number
  cache_read_input_tokens?: number
}

/** The fixture's usage at the catalog's prices, the way Anthropic counts it (input_tokens excludes the cache). */
function expectedCost(usage: FixtureUsage): number {
  const read = usage.cache_read_input_tokens ?? 0
  const write = usage.cache_creation_input_tokens ?? 0
  return Number(
    usageCost({ inputTokens: usage.input_tokens + read + write, outputTokens: usage.output_tokens, cachedInputTokens: read, cacheWriteTokens: write }, catalogModel.prices),
  )
}

/** The usage a stream fixture reports: input from message_start, output from the last message_delta. */
function streamFixtureUsage(name: string): FixtureUsage {
  const events = readFixture(name)
    .split('\n')
    .filter((line) => line.startsWith('data: '))
    .map((line) => JSON.parse(line.slice(6)))
  const start = events.find((event) => event.type === 'message_start').message.usage
  const delta = events.filter((event) => event.type === 'message_delta').at(-1).usage
  return { ...start, output_tokens: delta.output_tokens }
}

/** The usage row the worker wrote for a request, once it is there. */
async function rowOf(requestId: string) {
  return waitFor(async () => (await sql<{ input_tokens: number; output_tokens: number; cost_nano: string; status: string; model: string }[]>`
    SELECT model, input_tokens, output_tokens, cost_nano, status FROM usage_events WHERE request_id = ${requestId}`)[0], 10_000, `the usage row of ${requestId}`)
}

const weatherTool = {
  name: 'get_weather',
  description: 'Current weather for a location',
  input_schema: { type: 'object' as const, properties: { location: { type: 'string' } }, required: ['location'] },
}

describe('Claude through /v1/messages', () => {
  test('a message comes back as Anthropic sent it, and is billed exactly its usage', async () => {
    const before = upstream.requests.length
    const { data, response, request_id } = await client.messages
      .create({ model: MODEL, max_tokens: 300, system: 'Be brief.', messages: [{ role: 'user', content: 'Hello' }] })
      .withResponse()
    const fixture = JSON.parse(readFixture('anthropic.messages.json'))
    expect(data).toEqual(fixture)
    // The body went as written: the upstream id for the model, the cap as asked, the rest untouched.
    const sent = upstream.requests.slice(before).find((r) => r.path === '/v1/messages')!
    expect(sent.body).toEqual({ model: catalogModel.upstreamModel, max_tokens: 300, system: 'Be brief.', messages: [{ role: 'user', content: 'Hello' }] })
    expect(sent.headers['x-api-key']).toBe('sk-ant-upstream-secret-123456')

    const requestId = response.headers.get('x-request-id')!
    // The SDK finds our request id where it looks for Anthropic's.
    expect(request_id).toBe(requestId)
    const row = await rowOf(requestId)
    expect(row).toMatchObject({ model: MODEL, status: 'ok', input_tokens: fixture.usage.input_tokens, output_tokens: fixture.usage.output_tokens })
    expect(Number(row.cost_nano)).toBe(expectedCost(fixture.usage))
    expect(Number(row.cost_nano)).toBeGreaterThan(0)
    expect(gateway.finishes.get(requestId)!.filter((call) => call.first)).toHaveLength(1)
  })

  test('a stream is relayed byte for byte and billed from message_start and message_delta', async () => {
    const response = await fetch(`${gateway.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': TEST_KEY, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: MODEL, max_tokens: 300, stream: true, messages: [{ role: 'user', content: 'Hello' }] }),
    })
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toContain('text/event-stream')
    expect(await response.text()).toBe(readFixture('anthropic.messages.stream.sse'))
    const usage = streamFixtureUsage('anthropic.messages.stream.sse')
    const row = await rowOf(response.headers.get('x-request-id')!)
    expect(row).toMatchObject({ status: 'ok', input_tokens: usage.input_tokens, output_tokens: usage.output_tokens })
    expect(Number(row.cost_nano)).toBe(expectedCost(usage))
  })

  test('the SDK streams it: its final message is the fixture text with the fixture usage', async () => {
    const stream = client.messages.stream({ model: MODEL, max_tokens: 300, messages: [{ role: 'user', content: 'Hello' }] })
    let text = ''
    stream.on('text', (delta) => (text += delta))
    const message = await stream.finalMessage()
    expect(text).toBe('Hello! How can I help you today?')
    expect(message.content).toEqual([expect.objectContaining({ type: 'text', text })])
    const usage = streamFixtureUsage('anthropic.messages.stream.sse')
    expect(message.usage).toMatchObject({ input_tokens: usage.input_tokens, output_tokens: usage.output_tokens })
    expect(message.stop_reason).toBe('end_turn')
  })

  test('tool use round-trips: a streamed tool_use, then the tool_result turn goes upstream as written', async () => {
    const stream = client.messages.stream({
      model: MODEL,
      max_tokens: 1024,
      tools: [weatherTool],
      messages: [{ role: 'user', content: 'Weather in Paris? scenario:tools' }],
    })
    const message = await stream.finalMessage()
    expect(message.stop_reason).toBe('tool_use')
    const toolUse = message.content.find((block) => block.type === 'tool_use')
    expect(toolUse).toMatchObject({ type: 'tool_use', name: 'get_weather', input: { location: 'Paris, France' } })
    const usage = streamFixtureUsage('anthropic.messages.tools.stream.sse')
    expect(message.usage).toMatchObject({ input_tokens: usage.input_tokens, output_tokens: usage.output_tokens })

    const before = upstream.requests.length
    const toolUseBlock = toolUse as Anthropic.ToolUseBlock
    const followUp = {
      model: MODEL,
      max_tokens: 1024,
      tools: [weatherTool],
      messages: [
        { role: 'user' as const, content: 'Weather in Paris?' },
        { role: 'assistant' as const, content: message.content as Anthropic.ContentBlockParam[] },
        { role: 'user' as const, content: [{ type: 'tool_result' as const, tool_use_id: toolUseBlock.id, content: '18°C, sunny' }] },
      ],
    }
    const reply = await client.messages.create(followUp)
    expect(reply.content[0]).toMatchObject({ type: 'text', text: 'Hello! How can I help you today?' })
    const sent = upstream.requests.slice(before).find((r) => r.path === '/v1/messages')!
    expect(sent.body.messages).toEqual(JSON.parse(JSON.stringify(followUp.messages)))
    expect(sent.body.tools).toEqual([weatherTool])
  })

  test('the tool stream is billed exactly the fixture usage', async () => {
    const { data: stream, response } = await client.messages
      .create({ model: MODEL, max_tokens: 1024, stream: true, tools: [weatherTool], messages: [{ role: 'user', content: 'Weather? scenario:tools' }] })
      .withResponse()
    const events: string[] = []
    for await (const event of stream) events.push(event.type)
    expect(events[0]).toBe('message_start')
    expect(events.at(-1)).toBe('message_stop')
    const usage = streamFixtureUsage('anthropic.messages.tools.stream.sse')
    const row = await rowOf(response.headers.get('x-request-id')!)
    expect(row).toMatchObject({ input_tokens: usage.input_tokens, output_tokens: usage.output_tokens, status: 'ok' })
    expect(Number(row.cost_nano)).toBe(expectedCost(usage))
  })

  test('a client that leaves mid-stream ends the request once, billed for what was delivered', async () => {
    const controller = new AbortController()
    const response = await fetch(`${gateway.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': TEST_KEY, 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL, max_tokens: 300, stream: true, messages: [{ role: 'user', content: 'Hello scenario:slow' }] }),
      signal: controller.signal,
    })
    const reader = response.body!.getReader()
    const first = new TextDecoder().decode((await reader.read()).value)
    expect(first).toStartWith('event: message_start')
    controller.abort()
    const requestId = response.headers.get('x-request-id')!
    const record = await gateway.usageFor(requestId, 5_000)
    expect(record).toMatchObject({ status: 'client_aborted', stream: true })
    // message_start reported the prompt: it is billed even though the answer was cut off.
    expect(record.inputTokens).toBe(streamFixtureUsage('anthropic.messages.stream.sse').input_tokens)
    expect(gateway.finishes.get(requestId)!.filter((call) => call.first)).toHaveLength(1)
  })

  test('bare and upstream ids reach the same catalog model; /llm/v1 serves the same route', async () => {
    for (const model of ['claude-sonnet-4', catalogModel.upstreamModel]) {
      const { data, response } = await client.messages.create({ model, max_tokens: 50, messages: [{ role: 'user', content: 'Hi' }] }).withResponse()
      expect(data.content[0]).toMatchObject({ type: 'text' })
      expect((await gateway.usageFor(response.headers.get('x-request-id')!)).model).toBe(MODEL)
    }
    const llm = new Anthropic({ apiKey: TEST_KEY, baseURL: `${gateway.url}/llm`, maxRetries: 0 })
    const reply = await llm.messages.create({ model: MODEL, max_tokens: 50, messages: [{ role: 'user', content: 'Hi' }] })
    expect(reply.usage.output_tokens).toBe(JSON.parse(readFixture('anthropic.messages.json')).usage.output_tokens)
  })

  test('max_tokens is sent exactly, capped at the model maximum, and that is what is held', async () => {
    const before = upstream.requests.length
    await client.messages.create({ model: MODEL, max_tokens: 10_000_000, messages: [{ role: 'user', content: 'Hi' }] })
    const sent = upstream.requests.slice(before).find((r) => r.path === '/v1/messages')!
    expect(sent.body.max_tokens).toBe(catalogModel.maxOutputTokens)
  })
})

describe('keys and errors in Anthropic shape', () => {
  test('x-api-key and Authorization: Bearer both work', async () => {
    const byHeader = await client.messages.create({ model: MODEL, max_tokens: 20, messages: [{ role: 'user', content: 'Hi' }] })
    const bearer = new Anthropic({ authToken: TEST_KEY, apiKey: null, baseURL: gateway.url, maxRetries: 0 })
    const byBearer = await bearer.messages.create({ model: MODEL, max_tokens: 20, messages: [{ role: 'user', content: 'Hi' }] })
    expect(byBearer.content).toEqual(byHeader.content)
  })

  async function rawError(init: { key?: string | null; body: unknown; path?: string }) {
    const headers: Record<string, string> = { 'content-type': 'application/json' }
    if (init.key !== null) headers['x-api-key'] = init.key ?? TEST_KEY
    const response = await fetch(`${gateway.url}${init.path ?? '/v1/messages'}`, { method: 'POST', headers, body: JSON.stringify(init.body) })
    return { status: response.status, headers: response.headers, body: (await response.json()) as { type: string; error: { type: string; message: string }; request_id?: string } }
  }

  test('a wrong key is a 401 authentication_error; the SDK raises AuthenticationError', async () => {
    const wrong = await rawError({ key: 'mw_wrong_key', body: { model: MODEL, max_tokens: 10, messages: [{ role: 'user', content: 'Hi' }] } })
    expect(wrong.status).toBe(401)
    expect(wrong.body).toMatchObject({ type: 'error', error: { type: 'authentication_error' } })
    expect(wrong.body.error.message).toContain('API key')
    const none = await rawError({ key: null, body: {} })
    expect(none.status).toBe(401)
    expect(none.body.error.type).toBe('authentication_error')
    const sdk = new Anthropic({ apiKey: 'mw_wrong_key', baseURL: gateway.url, maxRetries: 0 })
    const error = await sdk.messages.create({ model: MODEL, max_tokens: 10, messages: [{ role: 'user', content: 'Hi' }] }).catch((e) => e)
    expect(error).toBeInstanceOf(Anthropic.AuthenticationError)
    expect(error.status).toBe(401)
  })

  test('an unknown model is a 404 not_found_error naming it', async () => {
    const reply = await rawError({ body: { model: 'anthropic/claude-nope', max_tokens: 10, messages: [{ role: 'user', content: 'Hi' }] } })
    expect(reply.status).toBe(404)
    expect(reply.body).toMatchObject({ type: 'error', error: { type: 'not_found_error' } })
    expect(reply.body.error.message).toContain('anthropic/claude-nope')
    const error = await client.messages.create({ model: 'claude-nope', max_tokens: 10, messages: [{ role: 'user', content: 'Hi' }] }).catch((e) => e)
    expect(error).toBeInstanceOf(Anthropic.NotFoundError)
  })

  test('a bad body is a 400 invalid_request_error naming the field', async () => {
    const missing = await rawError({ body: { model: MODEL, messages: [{ role: 'user', content: 'Hi' }] } })
    expect(missing.status).toBe(400)
    expect(missing.body).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } })
    expect(missing.body.error.message).toContain('max_tokens')
    const badRole = await rawError({ body: { model: MODEL, max_tokens: 10, messages: [{ role: 'robot', content: 'Hi' }] } })
    expect(badRole.status).toBe(400)
    expect(badRole.body.error.message).toContain('messages[0].role')
    const notJson = await fetch(`${gateway.url}/v1/messages`, { method: 'POST', headers: { 'x-api-key': TEST_KEY }, body: '{nope' })
    expect(notJson.status).toBe(400)
    expect(((await notJson.json()) as { error: { type: string } }).error.type).toBe('invalid_request_error')
  })

  test("Anthropic's own errors come back in its shape, with the status our errors have", async () => {
    const limited = await rawError({ body: { model: MODEL, max_tokens: 10, messages: [{ role: 'user', content: 'scenario:error-429' }] } })
    const fixture429 = JSON.parse(readFixture('anthropic.error.429.json'))
    expect(limited.status).toBe(429)
    expect(limited.headers.get('retry-after')).toBe('7')
    expect(limited.body).toMatchObject({ type: 'error', error: fixture429.error })
    // A provider's failure is ours to answer for: a 502 like every upstream 5xx, Anthropic's api_error, its message kept.
    const overloaded = await rawError({ body: { model: MODEL, max_tokens: 10, messages: [{ role: 'user', content: 'scenario:error-529' }] } })
    expect(overloaded.status).toBe(502)
    expect(overloaded.body).toMatchObject({ type: 'error', error: { type: 'api_error' } })
    expect(overloaded.body.error.message).toContain(JSON.parse(readFixture('anthropic.error.529.json')).error.message)
    const record = await gateway.usageFor(overloaded.headers.get('x-request-id')!)
    expect(record).toMatchObject({ status: 'upstream_error', httpStatus: 502 })
  })

  test('a server tool Anthropic bills per use is a 400 before anything is held or sent', async () => {
    const before = upstream.requests.length
    const usageBefore = gateway.usage.length
    const reply = await rawError({
      body: { model: MODEL, max_tokens: 100, tools: [{ type: 'web_search_20250305', name: 'web_search', max_uses: 5 }], messages: [{ role: 'user', content: 'News?' }] },
    })
    expect(reply.status).toBe(400)
    expect(reply.body.error.type).toBe('invalid_request_error')
    expect(reply.body.error.message).toContain('web_search_20250305')
    expect(upstream.requests.length).toBe(before)
    expect(gateway.usage.length).toBe(usageBefore)
  })

  test('an error mid-stream ends the stream with an Anthropic error event, and what was delivered is billed', async () => {
    const fixture = readFixture('anthropic.messages.stream.error.sse')
    const upstreamError = JSON.parse(fixture.split('\n').find((line) => line.startsWith('data: {"type":"error"'))!.slice(6)).error
    const stream = client.messages.stream({ model: MODEL, max_tokens: 100, messages: [{ role: 'user', content: 'scenario:midstream-error' }] })
    const error = await stream.finalMessage().catch((e) => e)
    expect(error).toBeInstanceOf(Anthropic.APIError)
    const event = JSON.parse(error.message)
    expect(event).toMatchObject({ type: 'error', error: { type: upstreamError.type === 'rate_limit_error' ? 'rate_limit_error' : 'api_error' } })
    expect(event.error.message).toContain(upstreamError.message)
    const record = await gateway.usageFor(stream.request_id ?? (await stream.withResponse()).response.headers.get('x-request-id')!)
    expect(record).toMatchObject({ status: 'upstream_error', httpStatus: 200 })
    expect(record.inputTokens).toBeGreaterThan(0)
  })
})

describe('count_tokens', () => {
  test("Claude's count is Anthropic's own, forwarded with the upstream id, and costs nothing", async () => {
    const before = upstream.requests.length
    const usageBefore = gateway.usage.length
    const body = { model: MODEL, system: 'Be brief.', messages: [{ role: 'user' as const, content: 'How many tokens is this?' }] }
    // A whole Messages body, as a client about to send it counts it: the answer-shaping fields stay here.
    const { input_tokens } = await client.messages.countTokens({ ...body, max_tokens: 100, temperature: 0 } as Anthropic.MessageCountTokensParams)
    const sent = upstream.requests.slice(before).find((r) => r.path === '/v1/messages/count_tokens')!
    expect(sent.body).toEqual({ ...body, model: catalogModel.upstreamModel })
    expect(input_tokens).toBe(fakeTokenCount(sent.body))
    expect(gateway.usage.length).toBe(usageBefore)
  })

  test('count_tokens needs a key', async () => {
    const response = await fetch(`${gateway.url}/v1/messages/count_tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'Hi' }] }),
    })
    expect(response.status).toBe(401)
    expect(((await response.json()) as { error: { type: string } }).error.type).toBe('authentication_error')
  })
})
