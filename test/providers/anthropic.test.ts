// The Anthropic adapter against the recorded Messages API wire format: request translation, answers, streams, errors, send().
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { GatewayError, InvalidRequestError, UpstreamError } from '../../src/errors'
import { SseParser } from '../../src/lib/sse'
import type { ChatRequest } from '../../src/openai/chat-request'
import { buildCatalog, type CatalogModel } from '../../src/pricing/catalog'
import { createAnthropicAdapter } from '../../src/providers/anthropic'
import { buildAnthropicBody } from '../../src/providers/anthropic/request'
import type { ProviderUsage, ResponseIdentity, StreamSink, UpstreamCall } from '../../src/providers/types'
import { readFixture } from '../helpers/fixtures'

const API_KEY = 'sk-ant-test-0123456789abcdef'
const MODEL: CatalogModel = buildCatalog().find('anthropic/claude-sonnet-4')!
const adapter = createAnthropicAdapter({ baseUrl: 'http://127.0.0.1:9', apiKey: API_KEY })
const identity: ResponseIdentity = { id: 'chatcmpl-test123', created: 1_700_000_000, model: MODEL.upstreamModel, includeUsage: true }

/** The request schema keeps unknown fields, which its static type cannot express; tests build requests loosely. */
function callFor(request: Record<string, unknown>, over: Partial<UpstreamCall> = {}): UpstreamCall {
  return {
    request: { model: MODEL.id, ...request } as ChatRequest,
    model: MODEL,
    stream: false,
    maxTokens: 1234,
    promptTokens: 10,
    ...over,
  }
}

const bodyOf = (request: Record<string, unknown>, over?: Partial<UpstreamCall>) => buildAnthropicBody(callFor(request, over))

function invalidParamOf(fn: () => unknown): string | null {
  try {
    fn()
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidRequestError)
    expect((error as GatewayError).status).toBe(400)
    return (error as GatewayError).param
  }
  throw new Error('expected an InvalidRequestError')
}

describe('request translation', () => {
  test('system and developer messages become one top-level system; max_tokens and the upstream model are always set', () => {
    const body = bodyOf({
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'developer', content: [{ type: 'text', text: 'Answer in French.' }, { type: 'text', text: 'No emojis.' }] },
        { role: 'user', content: 'Hi' },
      ],
    })
    expect(body.system).toBe('Be brief.\n\nAnswer in French.\n\nNo emojis.')
    expect(body.messages).toEqual([{ role: 'user', content: [{ type: 'text', text: 'Hi' }] }])
    expect(body.model).toBe('claude-sonnet-4-20250514')
    expect(body.max_tokens).toBe(1234)
    expect('stream' in body).toBe(false)
  })

  test('no system key without system messages; stream only when asked; unknown OpenAI fields are not sent', () => {
    const body = bodyOf({ messages: [{ role: 'user', content: 'Hi' }], seed: 7, presence_penalty: 1, logprobs: true, n: 1 }, { stream: true })
    expect(Object.keys(body).sort()).toEqual(['max_tokens', 'messages', 'model', 'stream'])
    expect(body.stream).toBe(true)
  })

  test('consecutive messages of one role merge so turns alternate', () => {
    const body = bodyOf({
      messages: [
        { role: 'user', content: 'one' },
        { role: 'user', content: [{ type: 'text', text: 'two' }] },
        { role: 'assistant', content: 'three' },
        { role: 'assistant', content: 'four' },
        { role: 'system', content: 'hoisted' },
        { role: 'user', content: 'five' },
      ],
    })
    expect(body.messages.map((m) => m.role)).toEqual(['user', 'assistant', 'user'])
    expect(body.messages[0]!.content).toEqual([{ type: 'text', text: 'one' }, { type: 'text', text: 'two' }])
    expect(body.messages[1]!.content).toEqual([{ type: 'text', text: 'three' }, { type: 'text', text: 'four' }])
    expect(body.system).toBe('hoisted')
  })

  test('assistant tool_calls become tool_use blocks; tool messages become merged tool_result blocks', () => {
    const body = bodyOf({
      messages: [
        { role: 'user', content: 'Weather in Paris and Rome?' },
        {
          role: 'assistant',
          content: 'Checking.',
          tool_calls: [
            { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"location":"Paris"}' } },
            { id: 'call_2', type: 'function', function: { name: 'get_weather', arguments: '{"location":"Rome"}' } },
          ],
        },
        { role: 'tool', tool_call_id: 'call_1', content: '18C' },
        { role: 'tool', tool_call_id: 'call_2', content: [{ type: 'text', text: '24C' }] },
        { role: 'user', content: 'Thanks' },
      ],
    })
    expect(body.messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'Weather in Paris and Rome?' }] },
      {
        role: 'assistant',
        content: [
          { type: 'text', text: 'Checking.' },
          { type: 'tool_use', id: 'call_1', name: 'get_weather', input: { location: 'Paris' } },
          { type: 'tool_use', id: 'call_2', name: 'get_weather', input: { location: 'Rome' } },
        ],
      },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 'call_1', content: '18C' },
          { type: 'tool_result', tool_use_id: 'call_2', content: [{ type: 'text', text: '24C' }] },
          { type: 'text', text: 'Thanks' },
        ],
      },
    ])
  })

  test('an assistant turn with only tool calls has no empty text block', () => {
    const body = bodyOf({
      messages: [
        { role: 'user', content: 'x' },
        { role: 'assistant', content: null, tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '' } }] },
      ],
    })
    expect(body.messages[1]).toEqual({ role: 'assistant', content: [{ type: 'tool_use', id: 'c', name: 'f', input: {} }] })
  })

  test('tool-call arguments that are not a JSON object are a 400 naming the parameter', () => {
    const messages = (args: string) => [
      { role: 'user', content: 'x' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'a', type: 'function', function: { name: 'f', arguments: '{}' } }, { id: 'b', type: 'function', function: { name: 'f', arguments: args } }] },
    ]
    expect(invalidParamOf(() => bodyOf({ messages: messages('{"location": ') }))).toBe('messages[1].tool_calls[1].function.arguments')
    expect(invalidParamOf(() => bodyOf({ messages: messages('[1,2]') }))).toBe('messages[1].tool_calls[1].function.arguments')
  })

  test('images: data URLs become base64 sources, http(s) URLs become url sources', () => {
    const body = bodyOf({
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'Compare' },
            { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
            { type: 'image_url', image_url: { url: 'https://example.com/cat.jpg', detail: 'high' } },
          ],
        },
      ],
    })
    expect(body.messages[0]!.content).toEqual([
      { type: 'text', text: 'Compare' },
      { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
      { type: 'image', source: { type: 'url', url: 'https://example.com/cat.jpg' } },
    ])
    const bad = { messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:image/png,rawbytes' } }] }] }
    expect(invalidParamOf(() => bodyOf(bad))).toBe('messages[0].content[0].image_url.url')
  })

  test('temperature and top_p pass through; stop becomes stop_sequences; user becomes metadata.user_id', () => {
    const one = bodyOf({ messages: [{ role: 'user', content: 'x' }], temperature: 0.3, top_p: 0.9, stop: 'END', user: 'u-42' })
    expect(one.temperature).toBe(0.3)
    expect(one.top_p).toBe(0.9)
    expect(one.stop_sequences).toEqual(['END'])
    expect(one.metadata).toEqual({ user_id: 'u-42' })
    const many = bodyOf({ messages: [{ role: 'user', content: 'x' }], stop: ['a', 'b'], temperature: null })
    expect(many.stop_sequences).toEqual(['a', 'b'])
    expect('temperature' in many).toBe(false)
  })

  describe('tools and tool_choice', () => {
    const tools = [
      { type: 'function', function: { name: 'get_weather', description: 'Weather now', parameters: { type: 'object', properties: { location: { type: 'string' } } } } },
      { type: 'function', function: { name: 'ping' } },
    ]
    const withTools = (extra: Record<string, unknown>) => bodyOf({ messages: [{ role: 'user', content: 'x' }], tools, ...extra })

    test('tools become name/description/input_schema, with an empty object schema by default', () => {
      expect(withTools({}).tools).toEqual([
        { name: 'get_weather', description: 'Weather now', input_schema: { type: 'object', properties: { location: { type: 'string' } } } },
        { name: 'ping', input_schema: { type: 'object', properties: {} } },
      ])
      expect('tool_choice' in withTools({})).toBe(false)
    })

    test('tool_choice variants', () => {
      expect(withTools({ tool_choice: 'auto' }).tool_choice).toEqual({ type: 'auto' })
      expect(withTools({ tool_choice: 'required' }).tool_choice).toEqual({ type: 'any' })
      expect(withTools({ tool_choice: 'none' }).tool_choice).toEqual({ type: 'none' })
      expect(withTools({ tool_choice: { type: 'function', function: { name: 'ping' } } }).tool_choice).toEqual({ type: 'tool', name: 'ping' })
      expect(invalidParamOf(() => withTools({ tool_choice: 'sometimes' }))).toBe('tool_choice')
    })

    test('parallel_tool_calls: false disables parallel tool use', () => {
      expect(withTools({ parallel_tool_calls: false }).tool_choice).toEqual({ type: 'auto', disable_parallel_tool_use: true })
      expect(withTools({ parallel_tool_calls: false, tool_choice: 'required' }).tool_choice).toEqual({ type: 'any', disable_parallel_tool_use: true })
      expect(withTools({ parallel_tool_calls: false, tool_choice: { type: 'function', function: { name: 'ping' } } }).tool_choice).toEqual({
        type: 'tool',
        name: 'ping',
        disable_parallel_tool_use: true,
      })
      expect(withTools({ parallel_tool_calls: true }).tool_choice).toBeUndefined()
    })
  })

  test('prepare() allows n=1 and refuses n>1', () => {
    expect(() => adapter.prepare(callFor({ messages: [{ role: 'user', content: 'x' }], n: 1 }))).not.toThrow()
    expect(invalidParamOf(() => adapter.prepare(callFor({ messages: [{ role: 'user', content: 'x' }], n: 2 })))).toBe('n')
  })
})

describe('readCompletion', () => {
  test('the Messages fixture becomes an OpenAI chat.completion', () => {
    const result = adapter.readCompletion(readFixture('anthropic.messages.json'), identity)
    const body = JSON.parse(result.body)
    expect(body.id).toBe(identity.id)
    expect(body.object).toBe('chat.completion')
    expect(body.created).toBe(identity.created)
    expect(body.model).toBe('claude-sonnet-4-20250514')
    expect(body.choices).toHaveLength(1)
    expect(body.choices[0].message).toEqual({ role: 'assistant', content: 'Hello! How can I help you today?', refusal: null })
    expect(body.choices[0].finish_reason).toBe('stop')
    expect(body.usage.prompt_tokens).toBe(25)
    expect(body.usage.completion_tokens).toBe(12)
    expect(body.usage.total_tokens).toBe(37)
    expect(result.text).toBe('Hello! How can I help you today?')
    expect(result.usage).toEqual({ inputTokens: 25, outputTokens: 12, cachedInputTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 })
  })

  test('tool_use blocks become tool_calls; thinking is not shown but counted; cache tokens count as input', () => {
    const answer = {
      model: 'claude-sonnet-4-20250514',
      content: [
        { type: 'thinking', thinking: 'secret reasoning', signature: 'sig' },
        { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { location: 'Paris, France' } },
      ],
      stop_reason: 'tool_use',
      usage: { input_tokens: 10, output_tokens: 30, cache_read_input_tokens: 100, cache_creation_input_tokens: 5 },
    }
    const result = adapter.readCompletion(JSON.stringify(answer), identity)
    const body = JSON.parse(result.body)
    expect(body.choices[0].message.content).toBeNull()
    expect(body.choices[0].message.tool_calls).toEqual([
      { id: 'toolu_1', type: 'function', function: { name: 'get_weather', arguments: '{"location":"Paris, France"}' } },
    ])
    expect(body.choices[0].finish_reason).toBe('tool_calls')
    // Everything billed as output is counted: thinking, the tool's name, its arguments.
    expect(result.text).toBe('secret reasoningget_weather{"location":"Paris, France"}')
    expect(result.body).not.toContain('secret')
    expect(result.usage).toEqual({ inputTokens: 115, outputTokens: 30, cachedInputTokens: 100, cacheWriteTokens: 5, reasoningTokens: 0 })
    expect(body.usage.prompt_tokens_details.cached_tokens).toBe(100)
  })

  test('stop reasons map to OpenAI finish reasons', () => {
    const finishOf = (stop_reason: string) =>
      JSON.parse(adapter.readCompletion(JSON.stringify({ content: [{ type: 'text', text: 'x' }], stop_reason }), identity).body).choices[0].finish_reason
    expect(finishOf('end_turn')).toBe('stop')
    expect(finishOf('stop_sequence')).toBe('stop')
    expect(finishOf('pause_turn')).toBe('stop')
    expect(finishOf('max_tokens')).toBe('length')
    expect(finishOf('tool_use')).toBe('tool_calls')
    expect(finishOf('refusal')).toBe('content_filter')
  })

  test('without a model field the identity model is kept', () => {
    const body = JSON.parse(adapter.readCompletion('{"content":[{"type":"text","text":"hi"}],"stop_reason":"end_turn"}', identity).body)
    expect(body.model).toBe(identity.model)
    expect(body.usage).toBeUndefined()
  })

  test('garbage or a body without content is an upstream_bad_response', () => {
    for (const body of ['<html>oops</html>', '{"type":"message"}', 'null', '']) {
      try {
        adapter.readCompletion(body, identity)
        throw new Error('expected a throw')
      } catch (error) {
        expect(error).toBeInstanceOf(UpstreamError)
        expect((error as GatewayError).code).toBe('upstream_bad_response')
      }
    }
  })
})

interface Recording {
  sink: StreamSink
  /** Every call in order, for "this happened before that" checks. */
  log: string[]
  chunks: ReturnType<typeof JSON.parse>[]
  texts: string[]
  usages: { usage: ProviderUsage; chunk: ReturnType<typeof JSON.parse> }[]
  failures: GatewayError[]
  completions: number
}

function record(): Recording {
  const rec: Recording = {
    log: [],
    chunks: [],
    texts: [],
    usages: [],
    failures: [],
    completions: 0,
    sink: {
      chunk(json) {
        const chunk = JSON.parse(json)
        expect(chunk.object).toBe('chat.completion.chunk')
        expect(chunk.id).toBe(identity.id)
        rec.chunks.push(chunk)
        rec.log.push(`chunk:${json}`)
      },
      output(delta) {
        rec.texts.push(delta)
        rec.log.push(`text:${delta}`)
      },
      outputLater(chunkJson, read) {
        rec.texts.push(read(chunkJson))
      },
      usage(usage, chunkJson) {
        const chunk = JSON.parse(chunkJson)
        expect(chunk.object).toBe('chat.completion.chunk')
        expect(chunk.choices).toEqual([])
        rec.usages.push({ usage, chunk })
        rec.log.push('usage')
      },
      fail(error) {
        rec.failures.push(error)
        rec.log.push('fail')
      },
      complete() {
        rec.completions++
        rec.log.push('complete')
      },
    },
  }
  return rec
}

/** A small deterministic PRNG so a failing split can be reproduced from its seed. */
function rng(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0
    return state / 2 ** 32
  }
}

/** Feeds SSE text through the real parser in random pieces of 1–24 characters, then ends it. */
function stream(text: string, seed: number, identityOverride: ResponseIdentity = identity): Recording {
  const rec = record()
  const translator = adapter.createStreamTranslator(rec.sink, identityOverride)
  const parser = new SseParser((event, data) => translator.onEvent(event, data))
  const random = rng(seed)
  for (let at = 0; at < text.length; ) {
    const size = 1 + Math.floor(random() * 24)
    parser.push(text.slice(at, at + size))
    at += size
  }
  parser.end()
  translator.onEnd()
  return rec
}

const contentOf = (rec: Recording) => rec.chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('')
const finishesOf = (rec: Recording) => rec.chunks.map((c) => c.choices[0]?.finish_reason).filter((f) => f !== null && f !== undefined)
const SEEDS = [1, 2, 3, 42, 1337]

describe('stream translation', () => {
  for (const seed of SEEDS) {
    test(`text stream (seed ${seed}): same text as the non-streamed answer, finish stop, usage 25/12 once`, () => {
      const rec = stream(readFixture('anthropic.messages.stream.sse'), seed)
      const expected = adapter.readCompletion(readFixture('anthropic.messages.json'), identity).text
      expect(contentOf(rec)).toBe(expected)
      expect(rec.texts.join('')).toBe(expected)
      expect(rec.chunks[0].choices[0].delta).toEqual({ role: 'assistant', content: '' })
      for (const chunk of rec.chunks) expect(chunk.model).toBe('claude-sonnet-4-20250514')
      expect(rec.chunks.at(-1).choices[0].finish_reason).toBe('stop')
      expect(finishesOf(rec)).toEqual(['stop'])
      expect(rec.failures).toEqual([])
      expect(rec.completions).toBe(1)
      expect(rec.usages).toHaveLength(1)
      expect(rec.usages[0]!.usage).toEqual({ inputTokens: 25, outputTokens: 12, cachedInputTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 })
      expect(rec.usages[0]!.chunk.usage).toMatchObject({ prompt_tokens: 25, completion_tokens: 12, total_tokens: 37 })
      expect(rec.log.slice(-2)).toEqual(['usage', 'complete'])
    })

    test(`tools stream (seed ${seed}): one tool call at index 0 with arguments that parse, finish tool_calls, usage 472/89`, () => {
      const rec = stream(readFixture('anthropic.messages.tools.stream.sse'), seed)
      expect(contentOf(rec)).toBe('Let me check the weather.')
      const toolDeltas = rec.chunks.flatMap((c) => c.choices[0]?.delta?.tool_calls ?? [])
      expect(toolDeltas.length).toBeGreaterThan(1)
      for (const delta of toolDeltas) expect(delta.index).toBe(0)
      expect(toolDeltas[0]).toEqual({ index: 0, id: 'toolu_01T1x1fJ34qAmk2tNTrN7Up6', type: 'function', function: { name: 'get_weather', arguments: '' } })
      // The empty partial_json fragment is not relayed.
      for (const delta of toolDeltas.slice(1)) expect(delta.function.arguments).not.toBe('')
      const args = toolDeltas.map((d) => d.function.arguments).join('')
      expect(JSON.parse(args)).toEqual({ location: 'Paris, France' })
      // The tool's name is billed output too.
      expect(rec.texts.join('')).toBe('Let me check the weather.' + 'get_weather' + args)
      expect(finishesOf(rec)).toEqual(['tool_calls'])
      expect(rec.usages).toHaveLength(1)
      expect(rec.usages[0]!.usage).toMatchObject({ inputTokens: 472, outputTokens: 89 })
    })

    test(`error stream (seed ${seed}): partial text, then one 5xx failure mentioning the upstream message`, () => {
      const rec = stream(readFixture('anthropic.messages.stream.error.sse'), seed)
      expect(contentOf(rec)).toBe('Partial answer')
      expect(rec.failures).toHaveLength(1)
      expect(rec.completions).toBe(0)
      const failure = rec.failures[0]!
      expect(failure).toBeInstanceOf(GatewayError)
      expect(failure.status).toBeGreaterThanOrEqual(500)
      expect(failure.message).toContain('Overloaded')
      expect(rec.log.indexOf('fail')).toBeGreaterThan(rec.log.indexOf('text:Partial answer'))
      expect(finishesOf(rec)).toEqual([])
      // The input message_start reported was still consumed: onEnd hands it over for metering, once.
      expect(rec.usages).toHaveLength(1)
      expect(rec.usages[0]!.usage).toMatchObject({ inputTokens: 25, outputTokens: 1 })
    })
  }

  const events = (...list: [string, unknown][]) => list.map(([event, data]) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`).join('')
  const start = (usage: Record<string, number>) => ['message_start', { type: 'message_start', message: { model: 'claude-x', usage } }] as [string, unknown]

  test('a stream cut short after message_delta still reports its usage once, at onEnd', () => {
    const rec = stream(events(start({ input_tokens: 5, output_tokens: 1 }), ['message_delta', { type: 'message_delta', delta: { stop_reason: 'max_tokens' }, usage: { output_tokens: 7 } }]), 3)
    expect(finishesOf(rec)).toEqual(['length'])
    expect(rec.usages.map((u) => u.usage)).toEqual([{ inputTokens: 5, outputTokens: 7, cachedInputTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 }])
  })

  test('the upstream model version stamps every chunk; cache counts join the input; message_delta input counts win', () => {
    const rec = stream(
      events(
        start({ input_tokens: 3, cache_read_input_tokens: 200, cache_creation_input_tokens: 40, output_tokens: 1 }),
        ['message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { input_tokens: 4, output_tokens: 9 } }],
        ['message_stop', { type: 'message_stop' }],
      ),
      5,
    )
    for (const chunk of rec.chunks) expect(chunk.model).toBe('claude-x')
    expect(rec.usages).toHaveLength(1)
    expect(rec.usages[0]!.usage).toEqual({ inputTokens: 244, outputTokens: 9, cachedInputTokens: 200, cacheWriteTokens: 40, reasoningTokens: 0 })
    expect(rec.usages[0]!.chunk.model).toBe('claude-x')
  })

  test('tool calls are numbered from 0 among tool calls, not by content block index; thinking is counted, not relayed', () => {
    const block = (index: number, content_block: unknown) => ['content_block_start', { type: 'content_block_start', index, content_block }] as [string, unknown]
    const json = (index: number, partial_json: string) => ['content_block_delta', { type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json } }] as [string, unknown]
    const rec = stream(
      events(
        start({ input_tokens: 1 }),
        block(0, { type: 'thinking', thinking: '' }),
        ['content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'thinking_delta', thinking: 'hmm' } }],
        block(1, { type: 'text', text: '' }),
        block(2, { type: 'tool_use', id: 'toolu_a', name: 'a', input: {} }),
        json(2, '{"x":1}'),
        block(3, { type: 'tool_use', id: 'toolu_b', name: 'b', input: {} }),
        json(3, '{"y":2}'),
        ['message_delta', { type: 'message_delta', delta: { stop_reason: 'tool_use' }, usage: { output_tokens: 20 } }],
        ['message_stop', { type: 'message_stop' }],
      ),
      7,
    )
    const toolDeltas = rec.chunks.flatMap((c) => c.choices[0]?.delta?.tool_calls ?? [])
    expect(toolDeltas).toEqual([
      { index: 0, id: 'toolu_a', type: 'function', function: { name: 'a', arguments: '' } },
      { index: 0, function: { arguments: '{"x":1}' } },
      { index: 1, id: 'toolu_b', type: 'function', function: { name: 'b', arguments: '' } },
      { index: 1, function: { arguments: '{"y":2}' } },
    ])
    expect(rec.texts.join('')).toBe('hmma{"x":1}b{"y":2}')
  })

  test('a rate_limit error event is a 429; events after a failure are ignored', () => {
    const rec = stream(
      events(
        start({ input_tokens: 1 }),
        ['error', { type: 'error', error: { type: 'rate_limit_error', message: 'slow down' } }],
        ['error', { type: 'error', error: { type: 'overloaded_error', message: 'again' } }],
      ),
      9,
    )
    expect(rec.failures).toHaveLength(1)
    expect(rec.failures[0]!.status).toBe(429)
  })

  test('unparseable event data fails the stream as upstream_bad_response', () => {
    const rec = stream('event: content_block_delta\ndata: {not json\n\n', 11)
    expect(rec.failures).toHaveLength(1)
    expect(rec.failures[0]).toBeInstanceOf(UpstreamError)
    expect(rec.failures[0]!.code).toBe('upstream_bad_response')
    expect(rec.usages).toEqual([])
  })
})

describe('readError', () => {
  test('429 keeps its status, type and Retry-After', () => {
    const error = adapter.readError(429, readFixture('anthropic.error.429.json'), new Headers({ 'retry-after': '17' }))
    expect(error.status).toBe(429)
    expect(error.type).toBe('rate_limit_error')
    expect(error.message).toBe('Number of request tokens has exceeded your per-minute rate limit')
    expect(error.headers['retry-after']).toBe('17')
  })

  test('529 overloaded becomes a 502 that names the provider and its message', () => {
    const error = adapter.readError(529, readFixture('anthropic.error.529.json'), new Headers())
    expect(error.status).toBe(502)
    expect(error.message).toContain('anthropic')
    expect(error.message).toContain('Overloaded')
  })

  test('401 is about our key: a 502 upstream_auth_failed that does not leak the key', () => {
    const body = JSON.stringify({ type: 'error', error: { type: 'authentication_error', message: `invalid x-api-key ${API_KEY}` } })
    const error = adapter.readError(401, body, new Headers())
    expect(error.status).toBe(502)
    expect(error.code).toBe('upstream_auth_failed')
    expect(JSON.stringify(error.toBody())).not.toContain(API_KEY)
  })

  test('400 passes on with invalid_request_error and a scrubbed message', () => {
    const body = JSON.stringify({ type: 'error', error: { type: 'invalid_request_error', message: `max_tokens: too large (key ${API_KEY})` } })
    const error = adapter.readError(400, body, new Headers())
    expect(error.status).toBe(400)
    expect(error.type).toBe('invalid_request_error')
    expect(error.code).toBe('invalid_request_error')
    expect(error.message).toContain('max_tokens: too large')
    expect(error.message).not.toContain(API_KEY)
  })

  test('garbage bodies do not throw', () => {
    for (const [status, body] of [[500, '<html>bad gateway</html>'], [400, ''], [503, 'null'], [429, '[1,2]']] as const) {
      const error = adapter.readError(status, body, new Headers())
      expect(error).toBeInstanceOf(GatewayError)
      expect(error.status).toBe(status >= 500 ? 502 : status)
    }
  })
})

describe('send()', () => {
  const seen: { path: string; headers: Headers; body: Record<string, unknown> }[] = []
  let server: ReturnType<typeof Bun.serve>
  let live: ReturnType<typeof createAnthropicAdapter>

  beforeAll(() => {
    server = Bun.serve({
      port: 0,
      async fetch(request) {
        seen.push({ path: new URL(request.url).pathname, headers: request.headers, body: (await request.json()) as Record<string, unknown> })
        return new Response(readFixture('anthropic.messages.json'), { headers: { 'content-type': 'application/json' } })
      },
    })
    live = createAnthropicAdapter({ baseUrl: `http://127.0.0.1:${server.port}`, apiKey: API_KEY })
  })

  afterAll(() => {
    server.stop(true)
  })
  const sendCall = (call: UpstreamCall) => live.send(live.prepare(call), new AbortController().signal)

  test('POSTs the translated body to /v1/messages with the Anthropic headers', async () => {
    const response = await sendCall(callFor({ messages: [{ role: 'system', content: 'sys' }, { role: 'user', content: 'Hello' }], max_tokens: 50 }, { maxTokens: 50 }))
    expect(response.status).toBe(200)
    const result = live.readCompletion(await response.text(), identity)
    expect(JSON.parse(result.body).choices[0].message.content).toBe('Hello! How can I help you today?')
    const request = seen.at(-1)!
    expect(request.path).toBe('/v1/messages')
    expect(request.headers.get('x-api-key')).toBe(API_KEY)
    expect(request.headers.get('anthropic-version')).toBe('2023-06-01')
    expect(request.headers.get('content-type')).toBe('application/json')
    expect(request.body.model).toBe(MODEL.upstreamModel)
    expect(request.body.max_tokens).toBe(50)
    expect(request.body.system).toBe('sys')
    expect(request.body.stream).toBeUndefined()
  })

  test('asks for a stream when the call streams', async () => {
    await (await sendCall(callFor({ messages: [{ role: 'user', content: 'Hello' }] }, { stream: true }))).text()
    expect(seen.at(-1)!.body.stream).toBe(true)
    expect(seen.at(-1)!.body.max_tokens).toBe(1234)
  })

  test('a request it cannot translate is refused with the 400 by prepare(), before anything is sent', async () => {
    const before = seen.length
    const call = callFor({
      messages: [
        { role: 'user', content: 'x' },
        { role: 'assistant', content: null, tool_calls: [{ id: 'a', type: 'function', function: { name: 'f', arguments: 'nope' } }] },
      ],
    })
    expect(() => live.prepare(call)).toThrow(InvalidRequestError)
    expect(seen.length).toBe(before)
  })
})
