// The Gemini adapter: request translation, the non-streamed and streamed fixtures, error bodies, and what send() puts on the wire.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { GatewayError, InvalidRequestError, UpstreamError } from '../../src/errors'
import { SseParser } from '../../src/lib/sse'
import type { ChatRequest } from '../../src/openai/chat-request'
import { buildCatalog, type CatalogModel } from '../../src/pricing/catalog'
import { createGoogleAdapter } from '../../src/providers/google'
import { translateRequest, withOutputCap } from '../../src/providers/google/request'
import { cleanSchema } from '../../src/providers/google/schema'
import type { ProviderUsage, ResponseIdentity, StreamSink, UpstreamCall } from '../../src/providers/types'
import { readFixture } from '../helpers/fixtures'

const API_KEY = 'AIzaTestKey_0123456789abcdef'
const adapter = createGoogleAdapter({ baseUrl: 'http://127.0.0.1:1', apiKey: API_KEY })
const model: CatalogModel = buildCatalog().find('google/gemini-2.0-flash')!
const identity: ResponseIdentity = { id: 'chatcmpl-test', created: 1_700_000_000, model: 'gemini-2.0-flash', includeUsage: true }

/** Requests arrive as JSON: content parts, tools and response_format carry fields the ChatRequest type does not list. */
function request(fields: Record<string, unknown>): ChatRequest {
  return { model: 'google/gemini-2.0-flash', messages: [{ role: 'user', content: 'Hi' }], ...fields } as ChatRequest
}

function call(req: ChatRequest, fields: Partial<UpstreamCall> = {}): UpstreamCall {
  return {
    request: req,
    model,
    stream: false,
    maxTokens: 8192,
    promptTokens: 5,
    ...fields,
  }
}

function thrown(fn: () => unknown): unknown {
  try {
    fn()
  } catch (error) {
    return error
  }
  throw new Error('expected a throw')
}

function expectInvalid(fn: () => unknown, param: string): void {
  const error = thrown(fn)
  expect(error).toBeInstanceOf(InvalidRequestError)
  expect((error as InvalidRequestError).param).toBe(param)
}

const weatherCall = { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"location":"Paris"}' } }

describe('request translation', () => {
  test('system and developer messages become systemInstruction; none means no systemInstruction', () => {
    const body = translateRequest(request({
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'developer', content: [{ type: 'text', text: 'Answer in French.' }] },
        { role: 'user', content: 'Hi' },
      ],
    }))
    expect(body.systemInstruction).toEqual({ parts: [{ text: 'Be brief.' }, { text: 'Answer in French.' }] })
    expect(body.contents).toEqual([{ role: 'user', parts: [{ text: 'Hi' }] }])
    expect('systemInstruction' in translateRequest(request({}))).toBe(false)
  })

  test('roles map to user/model and consecutive same-role messages merge into one turn', () => {
    const body = translateRequest(request({
      messages: [
        { role: 'user', content: 'one' },
        { role: 'user', content: [{ type: 'text', text: 'two' }] },
        { role: 'assistant', content: 'three' },
        { role: 'assistant', content: 'four' },
        { role: 'user', content: 'five' },
      ],
    }))
    expect(body.contents).toEqual([
      { role: 'user', parts: [{ text: 'one' }, { text: 'two' }] },
      { role: 'model', parts: [{ text: 'three' }, { text: 'four' }] },
      { role: 'user', parts: [{ text: 'five' }] },
    ])
  })

  test('assistant tool_calls become functionCall parts and tool messages functionResponse parts named after the call', () => {
    const body = translateRequest(request({
      messages: [
        { role: 'user', content: 'Weather in Paris and time in Tokyo?' },
        {
          role: 'assistant',
          content: null,
          tool_calls: [weatherCall, { id: 'call_2', type: 'function', function: { name: 'get_time', arguments: '{}' } }],
        },
        { role: 'tool', tool_call_id: 'call_2', content: '09:00' },
        { role: 'tool', tool_call_id: 'call_1', content: '{"temp":21,"unit":"C"}' },
        { role: 'tool', tool_call_id: 'call_1', content: '[1,2]' },
      ],
    }))
    expect(body.contents).toEqual([
      { role: 'user', parts: [{ text: 'Weather in Paris and time in Tokyo?' }] },
      {
        role: 'model',
        parts: [
          { functionCall: { name: 'get_weather', args: { location: 'Paris' } } },
          { functionCall: { name: 'get_time', args: {} } },
        ],
      },
      {
        role: 'user',
        parts: [
          { functionResponse: { name: 'get_time', response: { content: '09:00' } } },
          { functionResponse: { name: 'get_weather', response: { content: { temp: 21, unit: 'C' } } } },
          { functionResponse: { name: 'get_weather', response: { content: '[1,2]' } } },
        ],
      },
    ])
  })

  test('invalid tool-call arguments and unknown tool_call_ids are InvalidRequestErrors naming the field', () => {
    const bad = { ...weatherCall, function: { name: 'get_weather', arguments: '{"location":' } }
    expectInvalid(
      () => translateRequest(request({ messages: [{ role: 'user', content: 'x' }, { role: 'assistant', content: '', tool_calls: [weatherCall, bad] }] })),
      'messages[1].tool_calls[1].function.arguments',
    )
    expectInvalid(
      () => translateRequest(request({
        messages: [
          { role: 'user', content: 'x' },
          { role: 'assistant', content: null, tool_calls: [weatherCall] },
          { role: 'tool', tool_call_id: 'call_unknown', content: 'sunny' },
        ],
      })),
      'messages[2].tool_call_id',
    )
    // A tool result must answer an earlier call, not a later one.
    expectInvalid(
      () => translateRequest(request({
        messages: [
          { role: 'tool', tool_call_id: 'call_1', content: 'sunny' },
          { role: 'assistant', content: null, tool_calls: [weatherCall] },
        ],
      })),
      'messages[0].tool_call_id',
    )
  })

  test('images: data URLs become inlineData, http(s) URLs fileData with a guessed type', () => {
    const body = translateRequest(request({
      messages: [{
        role: 'user',
        content: [
          { type: 'text', text: 'Compare' },
          { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
          { type: 'image_url', image_url: { url: 'https://example.com/a/cat.WEBP?size=large#top' } },
          { type: 'image_url', image_url: { url: 'http://example.com/photo', detail: 'low' } },
          { type: 'image_url', image_url: { url: 'https://example.com/v1.2/render' } },
        ],
      }],
    }))
    expect(body.contents[0]!.parts).toEqual([
      { text: 'Compare' },
      { inlineData: { mimeType: 'image/png', data: 'iVBORw0KGgo=' } },
      { fileData: { mimeType: 'image/webp', fileUri: 'https://example.com/a/cat.WEBP?size=large#top' } },
      { fileData: { mimeType: 'image/jpeg', fileUri: 'http://example.com/photo' } },
      { fileData: { mimeType: 'image/jpeg', fileUri: 'https://example.com/v1.2/render' } },
    ])
    expectInvalid(
      () => translateRequest(request({ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'ftp://x/y.png' } }] }] })),
      'messages[0].content[0].image_url.url',
    )
  })

  test('generationConfig carries only the fields that were set, and is omitted when none were', () => {
    expect('generationConfig' in translateRequest(request({}))).toBe(false)
    expect('generationConfig' in translateRequest(request({ temperature: null, stop: null, response_format: { type: 'text' } }))).toBe(false)
    expect(translateRequest(request({ temperature: 0.2 })).generationConfig).toEqual({ temperature: 0.2 })
    expect(translateRequest(request({
      temperature: 0,
      top_p: 0.9,
      stop: 'END',
      presence_penalty: 0.5,
      frequency_penalty: -0.5,
      seed: 42,
      response_format: { type: 'json_object' },
    })).generationConfig).toEqual({
      temperature: 0,
      topP: 0.9,
      stopSequences: ['END'],
      presencePenalty: 0.5,
      frequencyPenalty: -0.5,
      seed: 42,
      responseMimeType: 'application/json',
    })
    const schema = { type: 'object', properties: { a: { type: 'string' } }, additionalProperties: false }
    expect(translateRequest(request({
      stop: ['a', 'b'],
      response_format: { type: 'json_schema', json_schema: { name: 'x', schema, strict: true } },
    })).generationConfig).toEqual({ stopSequences: ['a', 'b'], responseMimeType: 'application/json', responseJsonSchema: schema })
  })

  test('maxOutputTokens is always the cap the hold covers', () => {
    const base = translateRequest(request({}))
    expect(withOutputCap(base, 8192).generationConfig).toEqual({ maxOutputTokens: 8192 })
    expect(withOutputCap(base, 100).generationConfig).toEqual({ maxOutputTokens: 100 })
    const tempered = translateRequest(request({ temperature: 1 }))
    expect(withOutputCap(tempered, 7).generationConfig).toEqual({ temperature: 1, maxOutputTokens: 7 })
    // The cached translation is not changed by adding the cap.
    expect(tempered.generationConfig).toEqual({ temperature: 1 })
  })

  test('tool_choice variants', () => {
    const tools: ChatRequest['tools'] = [{ type: 'function', function: { name: 'get_weather' } }]
    const config = (tool_choice: ChatRequest['tool_choice']) => translateRequest(request({ tools, tool_choice })).toolConfig
    expect(config('auto')).toEqual({ functionCallingConfig: { mode: 'AUTO' } })
    expect(config('required')).toEqual({ functionCallingConfig: { mode: 'ANY' } })
    expect(config('none')).toEqual({ functionCallingConfig: { mode: 'NONE' } })
    expect(config({ type: 'function', function: { name: 'get_weather' } })).toEqual({
      functionCallingConfig: { mode: 'ANY', allowedFunctionNames: ['get_weather'] },
    })
    expect(config(undefined)).toBeUndefined()
    expectInvalid(() => config('sometimes'), 'tool_choice')
  })

  test('tools become functionDeclarations with parameters cleaned recursively, property names kept', () => {
    const body = translateRequest(request({
      tools: [
        {
          type: 'function',
          function: {
            name: 'search',
            description: 'Search things',
            strict: true,
            parameters: {
              $schema: 'http://json-schema.org/draft-07/schema#',
              $id: 'search',
              type: 'object',
              additionalProperties: false,
              properties: {
                // Properties named like keywords are data, not keywords.
                strict: { type: 'boolean', description: 'exact match' },
                additionalProperties: { type: 'string' },
                filters: {
                  type: 'array',
                  items: { type: 'object', additionalProperties: false, properties: { field: { type: ['string', 'null'], $id: 'f' } }, required: ['field'] },
                },
                mode: { anyOf: [{ type: 'string', strict: true }, { type: 'integer', additionalProperties: true }] },
              },
              required: ['strict'],
              $defs: { unused: { type: 'string' } },
            },
          },
        },
        { type: 'function', function: { name: 'ping' } },
        { type: 'function', function: { name: 'now', parameters: { type: 'object', properties: {}, additionalProperties: false } } },
      ],
    }))
    expect(body.tools).toEqual([{
      functionDeclarations: [
        {
          name: 'search',
          description: 'Search things',
          parameters: {
            type: 'object',
            properties: {
              strict: { type: 'boolean', description: 'exact match' },
              additionalProperties: { type: 'string' },
              filters: {
                type: 'array',
                items: { type: 'object', properties: { field: { type: 'string', nullable: true } }, required: ['field'] },
              },
              mode: { anyOf: [{ type: 'string' }, { type: 'integer' }] },
            },
            required: ['strict'],
          },
        },
        { name: 'ping' },
        // Gemini rejects an object schema without properties: a no-argument tool has no parameters.
        { name: 'now' },
      ],
    }])
  })

  test('schema cleaning never leaves a rejected keyword at any depth', () => {
    const rejected = ['$schema', 'additionalProperties', 'strict', '$id', '$defs']
    const deep = (level: number): Record<string, unknown> => ({
      type: 'object',
      $schema: 'x',
      $id: 'y',
      strict: true,
      additionalProperties: false,
      $defs: { a: {} },
      properties: level === 0 ? { leaf: { type: 'string', additionalProperties: false } } : { child: deep(level - 1), list: { type: 'array', items: deep(level - 1) } },
    })
    const walk = (schema: unknown, isProperties = false): void => {
      if (typeof schema !== 'object' || schema === null) return
      for (const [key, value] of Object.entries(schema)) {
        if (!isProperties) expect(rejected).not.toContain(key)
        walk(value, key === 'properties' && !isProperties)
      }
    }
    walk(cleanSchema(deep(4)))
  })

  test('prepare: n > 1 is refused, and untranslatable requests fail before anything is sent', () => {
    const error = thrown(() => adapter.prepare(call(request({ n: 2 }))))
    expect(error).toBeInstanceOf(InvalidRequestError)
    expect((error as InvalidRequestError).message).toBe('google models support n=1 only')
    expect((error as InvalidRequestError).param).toBe('n')
    expect(() => adapter.prepare(call(request({ n: 1 })))).not.toThrow()
    expectInvalid(
      () => adapter.prepare(call(request({ messages: [{ role: 'assistant', content: null, tool_calls: [{ ...weatherCall, function: { name: 'f', arguments: 'nope' } }] }] }))),
      'messages[0].tool_calls[0].function.arguments',
    )
  })
})

describe('non-streaming', () => {
  test('the generateContent fixture becomes an OpenAI chat.completion', () => {
    const result = adapter.readCompletion(readFixture('gemini.generateContent.json'), identity)
    const body = JSON.parse(result.body)
    expect(body.object).toBe('chat.completion')
    expect(body.id).toBe('chatcmpl-test')
    expect(body.model).toBe('gemini-2.0-flash')
    expect(body.choices[0].message).toEqual({ role: 'assistant', content: 'Hello! How can I help you today?\n', refusal: null })
    expect(body.choices[0].finish_reason).toBe('stop')
    expect(body.usage).toMatchObject({ prompt_tokens: 8, completion_tokens: 10, total_tokens: 18 })
    expect(result.text).toBe('Hello! How can I help you today?\n')
    expect(result.usage).toEqual({ inputTokens: 8, outputTokens: 10, cachedInputTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 })
  })

  test('function calls become tool_calls, thoughts are skipped, thinking and cached tokens are counted', () => {
    const result = adapter.readCompletion(JSON.stringify({
      candidates: [{
        content: {
          role: 'model',
          parts: [
            { text: 'planning…', thought: true },
            { text: 'Checking.' },
            { functionCall: { name: 'get_weather', args: { location: 'Paris, France' } } },
            { functionCall: { name: 'get_time' } },
          ],
        },
        finishReason: 'STOP',
      }],
      usageMetadata: { promptTokenCount: 100, cachedContentTokenCount: 60, candidatesTokenCount: 20, thoughtsTokenCount: 30 },
      modelVersion: 'gemini-2.5-flash-001',
    }), identity)
    const body = JSON.parse(result.body)
    expect(body.model).toBe('gemini-2.5-flash-001')
    const message = body.choices[0].message
    expect(message.content).toBe('Checking.')
    expect(message.tool_calls).toHaveLength(2)
    expect(message.tool_calls[0].id).toMatch(/^call_[A-Za-z0-9]{24}$/)
    expect(message.tool_calls[0].id).not.toBe(message.tool_calls[1].id)
    expect(message.tool_calls[0].function).toEqual({ name: 'get_weather', arguments: '{"location":"Paris, France"}' })
    expect(message.tool_calls[1].function).toEqual({ name: 'get_time', arguments: '{}' })
    expect(body.choices[0].finish_reason).toBe('tool_calls')
    // Everything billed as output is counted: thought summaries, tool names and arguments.
    expect(result.text).toBe('Checking.planning…get_weather{"location":"Paris, France"}get_time{}')
    expect(result.usage).toEqual({ inputTokens: 100, outputTokens: 50, cachedInputTokens: 60, cacheWriteTokens: 0, reasoningTokens: 30 })
  })

  test('finish reasons map onto OpenAI finish_reason', () => {
    const finish = (finishReason: string) =>
      JSON.parse(adapter.readCompletion(JSON.stringify({ candidates: [{ content: { parts: [{ text: 'x' }] }, finishReason }] }), identity).body)
        .choices[0].finish_reason
    expect(finish('STOP')).toBe('stop')
    expect(finish('MAX_TOKENS')).toBe('length')
    for (const reason of ['SAFETY', 'RECITATION', 'BLOCKLIST', 'PROHIBITED_CONTENT', 'SPII', 'IMAGE_SAFETY']) expect(finish(reason)).toBe('content_filter')
    expect(finish('MALFORMED_FUNCTION_CALL')).toBe('stop')
  })

  test('a blocked prompt is a content_filter answer; garbage and candidate-less answers are upstream_bad_response', () => {
    const blocked = adapter.readCompletion(JSON.stringify({ promptFeedback: { blockReason: 'SAFETY' }, usageMetadata: { promptTokenCount: 9 } }), identity)
    const body = JSON.parse(blocked.body)
    expect(body.choices[0].message.content).toBeNull()
    expect(body.choices[0].finish_reason).toBe('content_filter')
    expect(blocked.usage?.inputTokens).toBe(9)
    for (const garbage of ['not json', '', 'null', '42', '{"usageMetadata":{}}', '{"candidates":[]}']) {
      const error = thrown(() => adapter.readCompletion(garbage, identity))
      expect(error).toBeInstanceOf(UpstreamError)
      expect((error as UpstreamError).code).toBe('upstream_bad_response')
    }
  })
})

interface Recording {
  chunks: Record<string, any>[]
  text: string
  usages: { usage: ProviderUsage; chunk: Record<string, any> }[]
  failures: GatewayError[]
  completions: number
}

function recordingSink(): { sink: StreamSink; recording: Recording } {
  const recording: Recording = { chunks: [], text: '', usages: [], failures: [], completions: 0 }
  const sink: StreamSink = {
    chunk(json) {
      const chunk = JSON.parse(json)
      expect(chunk.object).toBe('chat.completion.chunk')
      recording.chunks.push(chunk)
    },
    output(delta) {
      recording.text += delta
    },
    outputLater(chunkJson, read) {
      recording.text += read(chunkJson)
    },
    usage(usage, usageChunkJson) {
      const chunk = JSON.parse(usageChunkJson)
      expect(chunk.object).toBe('chat.completion.chunk')
      recording.usages.push({ usage, chunk })
    },
    fail(error) {
      recording.failures.push(error)
    },
    complete() {
      recording.completions++
    },
  }
  return { sink, recording }
}

/** A small seeded PRNG, so a failing split can be replayed. */
function random(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0
    return state / 2 ** 32
  }
}

function pieces(text: string, seed: number): string[] {
  const next = random(seed)
  const out: string[] = []
  for (let at = 0; at < text.length;) {
    const size = 1 + Math.floor(next() * 12)
    out.push(text.slice(at, at + size))
    at += size
  }
  return out
}

function translate(pieceList: string[], id = identity): Recording {
  const { sink, recording } = recordingSink()
  const translator = adapter.createStreamTranslator(sink, id)
  const parser = new SseParser((event, data) => translator.onEvent(event, data))
  for (const piece of pieceList) parser.push(piece)
  parser.end()
  translator.onEnd()
  return recording
}

function content(recording: Recording): string {
  return recording.chunks.map((chunk) => chunk.choices[0]?.delta?.content ?? '').join('')
}

describe('streaming', () => {
  const fixture = readFixture('gemini.streamGenerateContent.sse')

  function expectTextStream(recording: Recording): void {
    expect(recording.failures).toEqual([])
    expect(recording.completions).toBe(1)
    expect(recording.chunks[0]!.choices[0].delta).toEqual({ role: 'assistant', content: '' })
    expect(content(recording)).toBe('Hello! How can I help you today?\n')
    expect(recording.text).toBe('Hello! How can I help you today?\n')
    const finishes = recording.chunks.filter((chunk) => chunk.choices[0]?.finish_reason != null)
    expect(finishes.map((chunk) => chunk.choices[0].finish_reason)).toEqual(['stop'])
    expect(recording.chunks.at(-1)).toBe(finishes[0]!)
    expect(recording.usages).toHaveLength(1)
    expect(recording.usages[0]!.usage).toEqual({ inputTokens: 8, outputTokens: 10, cachedInputTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 })
    expect(recording.usages[0]!.chunk.choices).toEqual([])
    expect(recording.usages[0]!.chunk.usage).toMatchObject({ prompt_tokens: 8, completion_tokens: 10, total_tokens: 18 })
    for (const chunk of recording.chunks) {
      expect(chunk.id).toBe(identity.id)
      expect(chunk.model).toBe(identity.model)
      expect(chunk.created).toBe(identity.created)
    }
  }

  test('the fixture has CRLF line endings', () => {
    expect(fixture).toContain('}\r\n\r\ndata: ')
  })

  test('the text fixture, whole, matches the non-streamed answer', () => {
    expectTextStream(translate([fixture]))
  })

  test('the text fixture in random-sized pieces gives the same stream', () => {
    for (let seed = 1; seed <= 300; seed++) expectTextStream(translate(pieces(fixture, seed)))
  })

  test('the text fixture split between every \\r and its \\n gives the same stream', () => {
    for (let at = fixture.indexOf('\r'); at !== -1; at = fixture.indexOf('\r', at + 1)) {
      expectTextStream(translate([fixture.slice(0, at + 1), fixture.slice(at + 1)]))
    }
  })

  test('the tools fixture gives one whole tool call and finish_reason tool_calls', () => {
    const tools = readFixture('gemini.streamGenerateContent.tools.sse')
    for (let seed = 1; seed <= 50; seed++) {
      const recording = translate(pieces(tools, seed))
      expect(recording.failures).toEqual([])
      const calls = recording.chunks.flatMap((chunk) => chunk.choices[0]?.delta?.tool_calls ?? [])
      expect(calls).toHaveLength(1)
      expect(calls[0].index).toBe(0)
      expect(calls[0].type).toBe('function')
      expect(calls[0].id).toMatch(/^call_[A-Za-z0-9]{24}$/)
      expect(calls[0].function.name).toBe('get_weather')
      expect(JSON.parse(calls[0].function.arguments)).toEqual({ location: 'Paris, France' })
      expect(recording.text).toBe('get_weather' + calls[0].function.arguments)
      const finishes = recording.chunks.filter((chunk) => chunk.choices[0]?.finish_reason != null)
      expect(finishes.map((chunk) => chunk.choices[0].finish_reason)).toEqual(['tool_calls'])
      expect(recording.usages.map((u) => [u.usage.inputTokens, u.usage.outputTokens])).toEqual([[45, 7]])
    }
  })

  test('several calls get increasing indexes and distinct ids; thought parts are counted, not streamed', () => {
    const event = (body: unknown) => `data: ${JSON.stringify(body)}\r\n\r\n`
    const recording = translate([
      event({ candidates: [{ content: { parts: [{ text: 'hmm', thought: true }, { text: 'On it.' }] } }] }),
      event({
        candidates: [{
          content: { parts: [{ functionCall: { name: 'a', args: { x: 1 } } }, { functionCall: { name: 'b' } }] },
          finishReason: 'STOP',
        }],
        usageMetadata: { promptTokenCount: 3, candidatesTokenCount: 4, thoughtsTokenCount: 5 },
      }),
    ])
    expect(content(recording)).toBe('On it.')
    const calls = recording.chunks.flatMap((chunk) => chunk.choices[0]?.delta?.tool_calls ?? [])
    expect(calls.map((c) => [c.index, c.function.name, c.function.arguments])).toEqual([[0, 'a', '{"x":1}'], [1, 'b', '{}']])
    expect(calls[0].id).not.toBe(calls[1].id)
    expect(recording.text).toBe('hmmOn it.a{"x":1}b{}')
    expect(recording.usages[0]!.usage).toEqual({ inputTokens: 3, outputTokens: 9, cachedInputTokens: 0, cacheWriteTokens: 0, reasoningTokens: 5 })
  })

  test('a stream cut before its finishing event still reports the latest usage, once', () => {
    const fixtureEvents = fixture.split('\r\n\r\n').filter(Boolean)
    const { sink, recording } = recordingSink()
    const translator = adapter.createStreamTranslator(sink, identity)
    const parser = new SseParser((event, data) => translator.onEvent(event, data))
    parser.push(`${fixtureEvents[0]}\r\n\r\n${fixtureEvents[1]}\r\n\r\n`)
    translator.onEnd()
    translator.onEnd()
    expect(content(recording)).toBe('Hello! How can I help you today?')
    expect(recording.chunks.some((chunk) => chunk.choices[0].finish_reason !== null)).toBe(false)
    expect(recording.usages.map((u) => u.usage)).toEqual([{ inputTokens: 8, outputTokens: 0, cachedInputTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 }])
  })

  test('an error event fails the stream with a scrubbed upstream error; nothing follows it', () => {
    const recording = translate([
      readFixture('gemini.streamGenerateContent.sse').split('\r\n\r\n')[0]!,
      '\r\n\r\n',
      `data: {"error":{"code":503,"message":"The model is overloaded (key ${API_KEY}).","status":"UNAVAILABLE"}}\r\n\r\n`,
      readFixture('gemini.streamGenerateContent.sse'),
    ])
    expect(recording.failures).toHaveLength(1)
    const error = recording.failures[0]!
    expect(error.status).toBe(502)
    expect(error.message).toContain('overloaded')
    expect(error.message).not.toContain(API_KEY)
    expect(content(recording)).toBe('Hello')
    // The prompt was consumed before the failure; events after it are ignored.
    expect(recording.usages.map((u) => [u.usage.inputTokens, u.usage.outputTokens])).toEqual([[8, 0]])
  })

  test('unparseable data fails the stream with upstream_bad_response', () => {
    const recording = translate(['data: {"candidates":\r\n\r\n'])
    expect(recording.failures).toHaveLength(1)
    expect(recording.failures[0]).toBeInstanceOf(UpstreamError)
    expect(recording.failures[0]!.code).toBe('upstream_bad_response')
  })

  test('a blocked prompt streams a content_filter finish', () => {
    const recording = translate(['data: {"promptFeedback":{"blockReason":"SAFETY"},"usageMetadata":{"promptTokenCount":6}}\r\n\r\n'])
    expect(recording.chunks.map((chunk) => chunk.choices[0].finish_reason)).toEqual([null, 'content_filter'])
    expect(recording.usages.map((u) => u.usage.inputTokens)).toEqual([6])
  })
})

describe('errors', () => {
  test('429 keeps its status and Retry-After', () => {
    const error = adapter.readError(429, readFixture('gemini.error.429.json'), new Headers({ 'retry-after': '17' }))
    expect(error.status).toBe(429)
    expect(error.headers['retry-after']).toBe('17')
    expect(error.message).toContain('Resource has been exhausted')
    expect(error.code).toBe('RESOURCE_EXHAUSTED')
  })

  test('400 API_KEY_INVALID is our key, not the request: 502 upstream_auth_failed without the key', () => {
    const body = readFixture('gemini.error.400.json').replace('API key not valid.', `API key ${API_KEY} not valid.`)
    const error = adapter.readError(400, body, new Headers())
    expect(error.status).toBe(502)
    expect(error.code).toBe('upstream_auth_failed')
    expect(error.message).not.toContain(API_KEY)
    expect(JSON.stringify(error.toBody())).not.toContain(API_KEY)
  })

  test('401/403 are credential failures too; a plain 400 passes on as a client error', () => {
    expect(adapter.readError(403, '{"error":{"code":403,"message":"denied","status":"PERMISSION_DENIED"}}', new Headers()).code).toBe('upstream_auth_failed')
    const plain = adapter.readError(400, '{"error":{"code":400,"message":"Bad schema","status":"INVALID_ARGUMENT"}}', new Headers())
    expect(plain.status).toBe(400)
    expect(plain.message).toBe('Bad schema')
  })

  test('garbage bodies do not throw', () => {
    for (const body of ['', 'not json', 'null', '[]', '{"error":"nope"}', '{"error":{"details":"x"}}', '<html>502</html>']) {
      for (const status of [400, 429, 500, 503]) {
        const error = adapter.readError(status, body, new Headers())
        expect(error).toBeInstanceOf(GatewayError)
      }
    }
  })
})

describe('send()', () => {
  const received: { path: string; apiKey: string | null; body: any }[] = []
  let server: ReturnType<typeof Bun.serve>
  let live: ReturnType<typeof createGoogleAdapter>

  beforeAll(() => {
    server = Bun.serve({
      port: 0,
      async fetch(req) {
        const url = new URL(req.url)
        received.push({ path: url.pathname + url.search, apiKey: req.headers.get('x-goog-api-key'), body: await req.json() })
        if (url.search === '?alt=sse') {
          return new Response(readFixture('gemini.streamGenerateContent.sse'), { headers: { 'content-type': 'text/event-stream' } })
        }
        return new Response(readFixture('gemini.generateContent.json'), { headers: { 'content-type': 'application/json' } })
      },
    })
    live = createGoogleAdapter({ baseUrl: `http://127.0.0.1:${server.port}`, apiKey: API_KEY })
  })

  afterAll(() => {
    server.stop(true)
  })
  const sendCall = (upstreamCall: UpstreamCall) => live.send(live.prepare(upstreamCall), new AbortController().signal)

  const chatRequest = request({
    messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hello' }],
    temperature: 0.5,
    max_tokens: 64,
  })

  test('non-streaming posts to :generateContent with the key header and the translated body', async () => {
    received.length = 0
    const response = await sendCall(call(chatRequest, { maxTokens: 64 }))
    expect(response.status).toBe(200)
    const result = live.readCompletion(await response.text(), identity)
    expect(result.text).toBe('Hello! How can I help you today?\n')
    expect(received).toEqual([{
      path: '/v1beta/models/gemini-2.0-flash:generateContent',
      apiKey: API_KEY,
      body: {
        contents: [{ role: 'user', parts: [{ text: 'Hello' }] }],
        systemInstruction: { parts: [{ text: 'Be brief.' }] },
        generationConfig: { temperature: 0.5, maxOutputTokens: 64 },
      },
    }])
  })

  test('streaming posts to :streamGenerateContent?alt=sse and the answer translates', async () => {
    received.length = 0
    const response = await sendCall(call(chatRequest, { stream: true }))
    expect(received).toHaveLength(1)
    expect(received[0]!.path).toBe('/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse')
    expect(received[0]!.apiKey).toBe(API_KEY)
    expect(received[0]!.body.generationConfig).toEqual({ temperature: 0.5, maxOutputTokens: 8192 })
    const recording = translate([await response.text()])
    expect(content(recording)).toBe('Hello! How can I help you today?\n')
  })

  test('the model id is escaped into one path segment', async () => {
    received.length = 0
    await sendCall(call(request({}), { model: { ...model, upstreamModel: 'tuned/../x y' } }))
    expect(received[0]!.path).toBe('/v1beta/models/tuned%2F..%2Fx%20y:generateContent')
  })

  test('a request that cannot be translated is refused by prepare() with InvalidRequestError, and nothing is sent', async () => {
    received.length = 0
    const bad = request({ messages: [{ role: 'tool', tool_call_id: 'nope', content: 'x' }] })
    expect(() => live.prepare(call(bad))).toThrow(InvalidRequestError)
    expect(received).toEqual([])
  })
})
