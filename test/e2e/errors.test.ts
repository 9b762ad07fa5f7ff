// Every bad input and every upstream failure gets one clear OpenAI-shaped error, and the gateway keeps serving.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import OpenAI from 'openai'
import { closedPortUrl, startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream'
import { startGateway, TEST_KEY, upstreamEnv, type TestGateway } from '../helpers/gateway'

let upstream: FakeUpstream
let gateway: TestGateway
let downGateway: TestGateway

beforeAll(async () => {
  upstream = startFakeUpstream()
  gateway = await startGateway({
    ...upstreamEnv(upstream.url),
    UPSTREAM_FIRST_BYTE_TIMEOUT_MS: '300',
    UPSTREAM_TIMEOUT_MS: '1500',
    MAX_BODY_BYTES: '65536',
  })
  const down = await closedPortUrl()
  downGateway = await startGateway(upstreamEnv(down))
})
afterAll(async () => {
  await gateway.stop()
  await downGateway.stop()
  upstream.stop()
})

interface ErrorShape {
  error: { message: string; type: string; param: string | null; code: string | null }
}

async function post(path: string, body: string, headers: Record<string, string> = {}, base = gateway.url) {
  const response = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TEST_KEY}`, 'content-type': 'application/json', ...headers },
    body,
  })
  const text = await response.text()
  return { response, text, json: JSON.parse(text) as ErrorShape }
}

function expectErrorShape(json: ErrorShape) {
  expect(Object.keys(json)).toEqual(['error'])
  expect(Object.keys(json.error).sort()).toEqual(['code', 'message', 'param', 'type'])
  expect(typeof json.error.message).toBe('string')
  expect(json.error.message.length).toBeGreaterThan(10)
}

const chat = '/v1/chat/completions'
const hello = (model = 'openai/gpt-4o', extra: Record<string, unknown> = {}) =>
  JSON.stringify({ model, messages: [{ role: 'user', content: 'Hello' }], ...extra })

/** After any failure the gateway still answers a good request. */
async function expectStillServing() {
  const reply = await gateway.client().chat.completions.create({ model: 'mock/echo', messages: [{ role: 'user', content: 'still here' }] })
  expect(reply.choices[0]!.message.content).toBe('still here')
}

describe('bad requests', () => {
  test('invalid JSON → 400 invalid_json', async () => {
    const { response, json } = await post(chat, '{"model": "openai/gpt-4o", "messages": [')
    expect(response.status).toBe(400)
    expectErrorShape(json)
    expect(json.error.code).toBe('invalid_json')
    expect(response.headers.get('x-request-id')).toMatch(/^req_[0-9a-f]{32}$/)
    await expectStillServing()
  })

  test('wrong types → 400 naming the field', async () => {
    const { response, json } = await post(chat, JSON.stringify({ model: 'openai/gpt-4o', messages: [{ role: 'user', content: 42 }] }))
    expect(response.status).toBe(400)
    expectErrorShape(json)
    expect(json.error.param).toBe('messages[0].content')
    expect(json.error.message).toContain('messages[0].content')

    const temperature = await post(chat, hello('openai/gpt-4o', { temperature: 'hot' }))
    expect(temperature.response.status).toBe(400)
    expect(temperature.json.error.param).toBe('temperature')

    const role = await post(chat, JSON.stringify({ model: 'openai/gpt-4o', messages: [{ role: 'wizard', content: 'hi' }] }))
    expect(role.response.status).toBe(400)
    expect(role.json.error.param).toBe('messages[0].role')
    await expectStillServing()
  })

  test('missing fields name the field', async () => {
    const { response, json } = await post(chat, JSON.stringify({ messages: [{ role: 'user', content: 'hi' }] }))
    expect(response.status).toBe(400)
    expect(json.error.param).toBe('model')
    expect(json.error.message).toContain("'model'")
  })

  test('empty messages → 400 naming messages', async () => {
    const { response, json } = await post(chat, JSON.stringify({ model: 'openai/gpt-4o', messages: [] }))
    expect(response.status).toBe(400)
    expectErrorShape(json)
    expect(json.error.param).toBe('messages')
  })

  test('unknown model → 404 model_not_found', async () => {
    const { response, json } = await post(chat, hello('openai/gpt-9-ultra'))
    expect(response.status).toBe(404)
    expectErrorShape(json)
    expect(json.error.code).toBe('model_not_found')
    expect(json.error.param).toBe('model')
    expect(json.error.message).toContain('openai/gpt-9-ultra')
  })

  test('missing or wrong key → 401, before the body is even looked at, and the key is never echoed', async () => {
    const missing = await post(chat, '{not json', { authorization: '' })
    expect(missing.response.status).toBe(401)
    expectErrorShape(missing.json)
    expect(missing.json.error.code).toBe('invalid_api_key')
    const wrong = await post(chat, hello(), { authorization: 'Bearer sk-wrong-secret-key-xyz' })
    expect(wrong.response.status).toBe(401)
    expect(wrong.text).not.toContain('sk-wrong-secret-key-xyz')
    const viaHeader = await post(chat, hello('mock/echo'), { authorization: '', 'x-api-key': TEST_KEY })
    expect(viaHeader.response.status).toBe(200)
  })

  test('the openai SDK sees these as its typed errors', async () => {
    // The SDK's APIPromise is a thenable of its own: turn it into a plain promise of the error.
    const errorOf = (promise: PromiseLike<unknown>) => Promise.resolve(promise).then(() => null, (error: unknown) => error)
    const bad = new OpenAI({ apiKey: 'nope', baseURL: `${gateway.url}/v1`, maxRetries: 0 })
    expect(await errorOf(bad.chat.completions.create({ model: 'mock/echo', messages: [{ role: 'user', content: 'x' }] }))).toBeInstanceOf(
      OpenAI.AuthenticationError,
    )
    expect(await errorOf(gateway.client().chat.completions.create({ model: 'nope/nope', messages: [{ role: 'user', content: 'x' }] }))).toBeInstanceOf(
      OpenAI.NotFoundError,
    )
  })

  test('oversize body → 413, by Content-Length and by a chunked body', async () => {
    const big = JSON.stringify({ model: 'openai/gpt-4o', messages: [{ role: 'user', content: 'x'.repeat(70_000) }] })
    const { response, json } = await post(chat, big)
    expect(response.status).toBe(413)
    expectErrorShape(json)
    expect(json.error.code).toBe('request_too_large')

    const chunked = new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(big))
        controller.close()
      },
    })
    const streamed = await fetch(`${gateway.url}${chat}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_KEY}`, 'content-type': 'application/json' },
      body: chunked,
    })
    expect(streamed.status).toBe(413)
    await expectStillServing()
  })

  // Under Bun and under Node (whose fetch gives up on a socket the server stops reading): the SDK must see our 413, not
  // "Connection error.", however far past the limit the body is.
  test('oversize body through the openai SDK → 413 request_too_large at 2× and 30× MAX_BODY_BYTES, under Bun and Node', async () => {
    const errorOf = (promise: PromiseLike<unknown>) => Promise.resolve(promise).then(() => null, (error: unknown) => error)
    for (const times of [2, 30]) {
      const content = 'x'.repeat(65_536 * times)
      const error = await errorOf(gateway.client().chat.completions.create({ model: 'mock/echo', messages: [{ role: 'user', content }] }))
      expect(error).toBeInstanceOf(OpenAI.APIError)
      expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(413)
      expect((error as InstanceType<typeof OpenAI.APIError>).code).toBe('request_too_large')
    }
    const script = `
      import OpenAI from ${JSON.stringify(new URL('../../node_modules/openai/index.mjs', import.meta.url).pathname)}
      const client = new OpenAI({ apiKey: ${JSON.stringify(TEST_KEY)}, baseURL: ${JSON.stringify(`${gateway.url}/v1`)}, maxRetries: 0 })
      const seen = []
      for (const times of [2, 30]) {
        try {
          await client.chat.completions.create({ model: 'mock/echo', messages: [{ role: 'user', content: 'x'.repeat(65536 * times) }] })
          seen.push('answered')
        } catch (error) {
          seen.push(String(error.status) + ' ' + String(error.code))
        }
      }
      console.log(JSON.stringify(seen))`
    // Not spawnSync: the gateway answering it runs in this process.
    const node = Bun.spawn(['node', '--input-type=module', '-e', script], { stdout: 'pipe', stderr: 'pipe' })
    const [out, err] = await Promise.all([new Response(node.stdout).text(), new Response(node.stderr).text(), node.exited])
    expect(err).toBe('')
    expect(JSON.parse(out)).toEqual(['413 request_too_large', '413 request_too_large'])
    await expectStillServing()
  })

  test('unknown route → 404 in the same shape', async () => {
    const response = await fetch(`${gateway.url}/v1/engines`, { headers: { authorization: `Bearer ${TEST_KEY}` } })
    expect(response.status).toBe(404)
    expectErrorShape((await response.json()) as ErrorShape)
  })

  test('n > 1 to a provider that cannot do it → 400 naming n', async () => {
    const { response, json } = await post(chat, hello('anthropic/claude-sonnet-4', { n: 2 }))
    expect(response.status).toBe(400)
    expect(json.error.param).toBe('n')
  })
})

describe('upstream failures', () => {
  test('upstream down → 502 upstream_unreachable, recorded as upstream_error', async () => {
    for (const stream of [false, true]) {
      const { response, json } = await post(chat, hello('openai/gpt-4o', { stream }), {}, downGateway.url)
      expect(response.status).toBe(502)
      expectErrorShape(json)
      expect(json.error.code).toBe('upstream_unreachable')
      const record = await downGateway.usageFor(response.headers.get('x-request-id')!)
      expect(record.status).toBe('upstream_error')
    }
  })

  test('upstream garbage → 502 upstream_bad_response (non-streaming and streaming)', async () => {
    for (const model of ['openai/gpt-4o', 'anthropic/claude-sonnet-4', 'google/gemini-2.0-flash']) {
      const whole = await post(chat, hello(model, { messages: [{ role: 'user', content: 'scenario:garbage' }] }))
      expect(whole.response.status).toBe(502)
      expect(whole.json.error.code).toBe('upstream_bad_response')
      const streamed = await post(chat, hello(model, { stream: true, messages: [{ role: 'user', content: 'scenario:garbage' }] }))
      expect(streamed.response.status).toBe(502)
      expectErrorShape(streamed.json)
    }
    await expectStillServing()
  })

  test('upstream stalling before answering → 504 after the first-byte timeout', async () => {
    // No clock here: without the 300 ms first-byte timeout these requests would hang past the test's own timeout.
    for (const stream of [false, true]) {
      const { response, json } = await post(chat, hello('openai/gpt-4o', { stream, messages: [{ role: 'user', content: 'scenario:stall' }] }))
      expect(response.status).toBe(504)
      expectErrorShape(json)
      expect(json.error.code).toBe('upstream_timeout')
      const record = await gateway.usageFor(response.headers.get('x-request-id')!)
      expect(record.status).toBe('timeout')
    }
    await expectStillServing()
  })

  test('upstream stalling mid-stream → an error event, the end of the stream, and the partial text metered', async () => {
    const client = gateway.client()
    const { data: stream, response } = await client.chat.completions
      .create({ model: 'openai/gpt-4o', stream: true, messages: [{ role: 'user', content: 'scenario:stall-mid' }] })
      .withResponse()
    let text = ''
    let caught: unknown
    try {
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? ''
    } catch (error) {
      caught = error
    }
    expect(caught).toBeInstanceOf(OpenAI.APIError)
    expect(String((caught as Error).message)).toContain('did not finish answering in time')
    expect(text).toBe('Hello')
    const record = await gateway.usageFor(response.headers.get('x-request-id')!)
    expect(record.status).toBe('timeout')
    expect(record.outputTokens).toBe(1)
    expect(record.source).toBe('counted')
  })

  test('Anthropic error event mid-stream → an OpenAI error for the client, partial text billed', async () => {
    const { data: stream, response } = await gateway.client().chat.completions
      .create({ model: 'anthropic/claude-sonnet-4', stream: true, messages: [{ role: 'user', content: 'scenario:midstream-error' }] })
      .withResponse()
    let text = ''
    let caught: unknown
    try {
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? ''
    } catch (error) {
      caught = error
    }
    expect(caught).toBeInstanceOf(OpenAI.APIError)
    expect(String((caught as Error).message)).toContain('Overloaded')
    expect(text).toBe('Partial answer')
    const record = await gateway.usageFor(response.headers.get('x-request-id')!)
    expect(record.status).toBe('upstream_error')
    expect(record.inputTokens).toBe(25)
    expect(record.outputTokens).toBeGreaterThanOrEqual(2)
  })

  test('upstream 429 passes on with its status, message and Retry-After', async () => {
    for (const model of ['openai/gpt-4o', 'anthropic/claude-sonnet-4', 'google/gemini-2.0-flash']) {
      const { response, json } = await post(chat, hello(model, { messages: [{ role: 'user', content: 'scenario:error-429' }] }))
      expect(response.status).toBe(429)
      expectErrorShape(json)
      expect(response.headers.get('retry-after')).toBe('7')
    }
  })

  test('upstream rejecting our provider key → 502, and neither our key nor its masked form reaches the client', async () => {
    for (const model of ['openai/gpt-4o', 'anthropic/claude-sonnet-4', 'google/gemini-2.0-flash']) {
      const { response, json, text } = await post(chat, hello(model, { messages: [{ role: 'user', content: 'scenario:error-401' }] }))
      expect(response.status).toBe(502)
      expect(json.error.code).toBe('upstream_auth_failed')
      expect(text).not.toContain('secret')
      expect(text).not.toContain('sk-abc')
    }
  })
})
