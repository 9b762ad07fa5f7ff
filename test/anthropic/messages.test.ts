// The Messages API's pure parts: our errors in Anthropic's shape, the request translated to chat, OpenAI chunks written as Anthropic events.
import { describe, expect, test } from 'bun:test'
import { anthropicErrorBody, anthropicErrorType } from '../../src/anthropic/errors'
import { AnthropicEventWriter } from '../../src/anthropic/events'
import { measureMessagesPrompt } from '../../src/anthropic/measure'
import type { MessagesRequest } from '../../src/anthropic/messages-request'
import { messagesToChat } from '../../src/anthropic/to-chat'
import {
  AuthenticationError,
  GatewayCapacityError,
  InvalidRequestError,
  ModelNotFoundError,
  PayloadTooLargeError,
  PaymentRequiredError,
  RateLimitError,
  UpstreamClientError,
  UpstreamError,
  UpstreamTimeoutError,
  type GatewayError,
} from '../../src/errors'
import type { ProviderUsage, StreamSink, StreamTranslator } from '../../src/providers/types'

describe('errors in Anthropic shape', () => {
  const cases: [GatewayError, number, string][] = [
    [new InvalidRequestError('bad', 'max_tokens'), 400, 'invalid_request_error'],
    [new AuthenticationError(), 401, 'authentication_error'],
    [new PaymentRequiredError('pay', 'insufficient_balance'), 402, 'billing_error'],
    [new UpstreamClientError(403, 'permission_error', 'no', null, null), 403, 'permission_error'],
    [new ModelNotFoundError('x/y'), 404, 'not_found_error'],
    [new PayloadTooLargeError(10), 413, 'request_too_large'],
    [new RateLimitError('slow', 3), 429, 'rate_limit_error'],
    [new UpstreamError('down'), 502, 'api_error'],
    [new GatewayCapacityError('full', 1), 503, 'overloaded_error'],
    [new UpstreamTimeoutError('late'), 504, 'timeout_error'],
    // Anthropic's own type, kept in the error's code by the provider adapter, wins over the status's.
    [new UpstreamClientError(400, 'invalid_request_error', 'big', 'request_too_large', null), 400, 'request_too_large'],
  ]
  test.each(cases.map(([error, status, type]) => [`${error.constructor.name} (${error.code}): ${status} ${type}`, error, status, type] as const))('%s', (_name, error, status, type) => {
    expect(error.status).toBe(status)
    expect(anthropicErrorType(error)).toBe(type)
    expect(anthropicErrorBody(error, 'req_1')).toEqual({ type: 'error', error: { type, message: error.message }, request_id: 'req_1' })
  })
})

/** Requests as clients write them: blocks carry fields the schema leaves untyped. */
const base = (extra: Record<string, unknown>) => ({ model: 'openai/gpt-4o', max_tokens: 10, messages: [{ role: 'user', content: 'Hi' }], ...extra }) as MessagesRequest

describe('messagesToChat', () => {
  test('images become image_url parts; an errored tool result says so', () => {
    const chat = messagesToChat(
      base({
        messages: [
          { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'f', input: {} }] },
          {
            role: 'user',
            content: [
              { type: 'tool_result', tool_use_id: 't1', content: 'boom', is_error: true },
              { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'AAAA' } },
              { type: 'image', source: { type: 'url', url: 'https://example.com/a.png' } },
            ],
          },
        ],
      }),
    )
    expect(chat.messages.slice(1) as unknown[]).toEqual([
      { role: 'tool', tool_call_id: 't1', content: 'Error: boom' },
      {
        role: 'user',
        content: [
          { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } },
          { type: 'image_url', image_url: { url: 'https://example.com/a.png' } },
        ],
      },
    ])
  })

  test('server tools, unknown blocks and too many stop sequences are 400s naming the field', () => {
    const attempts: [Record<string, unknown>, string][] = [
      [{ tools: [{ type: 'web_search_20250305', name: 'web_search' }] }, 'tools[0].type'],
      [{ messages: [{ role: 'user', content: [{ type: 'document' }] }] }, 'messages[0].content[0].type'],
      [{ stop_sequences: ['a', 'b', 'c', 'd', 'e'] }, 'stop_sequences'],
      [{ tool_choice: { type: 'sometimes' } }, 'tool_choice.type'],
    ]
    for (const [extra, param] of attempts) {
      const request = base(extra)
      if (extra.tool_choice) request.tools = [{ name: 'f', input_schema: { type: 'object' } }]
      let error: unknown
      try {
        messagesToChat(request)
      } catch (e) {
        error = e
      }
      expect(error).toBeInstanceOf(InvalidRequestError)
      expect((error as InvalidRequestError).param).toBe(param)
    }
  })
})

describe('measureMessagesPrompt', () => {
  test('counts texts, tools and tool calls; images by count; a PDF is uncountable', async () => {
    const measure = await measureMessagesPrompt(base({
      model: 'anthropic/claude-sonnet-4',
      system: [{ type: 'text', text: 'Be brief.' }],
      tools: [{ name: 'f', input_schema: { type: 'object' } }],
      messages: [
        { role: 'user', content: [{ type: 'image', source: {} }, { type: 'document', source: { type: 'base64', data: 'JVBE' } }] },
        { role: 'assistant', content: [{ type: 'tool_use', id: 't', name: 'f', input: { a: 1 } }] },
      ],
    }))
    expect(measure.imageDetails).toHaveLength(1)
    expect(measure.uncountableParts).toBe(1)
    expect(measure.hasTools).toBe(true)
    expect(measure.textTokens).toBeGreaterThan(10)
  })
})

/** A sink that records what reaches it. */
function recorder() {
  const out = { chunks: [] as string[], usages: [] as ProviderUsage[], completed: 0 }
  const sink: StreamSink = {
    chunk: (text) => out.chunks.push(text),
    output: () => {},
    outputLater: () => {},
    usage: (usage) => out.usages.push(usage),
    fail: () => {},
    complete: () => out.completed++,
  }
  return { out, sink }
}

const parseEvents = (texts: string[]) =>
  texts
    .join('')
    .split('\n')
    .filter((line) => line.startsWith('data: '))
    .map((line) => JSON.parse(line.slice(6)))

const chunk = (delta: Record<string, unknown>, finish: string | null = null) =>
  JSON.stringify({ model: 'gpt-4o-2024-08-06', choices: [{ index: 0, delta, finish_reason: finish }] })

describe('AnthropicEventWriter', () => {
  const usage: ProviderUsage = { inputTokens: 30, outputTokens: 7, cachedInputTokens: 10, cacheWriteTokens: 0, reasoningTokens: 0 }

  /** A provider translator that replays chunks, completes, and reports usage only at its end, as Gemini's does. */
  function replay(chunks: string[]) {
    return (sink: StreamSink): StreamTranslator => ({
      onEvent: () => {
        for (const c of chunks) sink.chunk(c)
        sink.complete()
      },
      onEnd: () => sink.usage(usage, ''),
    })
  }

  test('text then a tool call: blocks in order, the close waits for the usage that comes at the end', () => {
    const { out, sink } = recorder()
    const writer = new AnthropicEventWriter({ id: 'msg_1', model: 'gpt-4o', promptTokens: 25 })
    const translator = writer.translator(
      sink,
      replay([
        chunk({ role: 'assistant', content: '' }),
        chunk({ content: 'Checking.' }),
        chunk({ tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'f', arguments: '' } }] }),
        chunk({ tool_calls: [{ index: 0, function: { arguments: '{"a":1}' } }] }),
        chunk({}, 'tool_calls'),
      ]),
    )
    translator.onEvent('message', '')
    translator.onEnd()
    const events = parseEvents(out.chunks)
    expect(events.map((e) => e.type)).toEqual([
      'message_start',
      'content_block_start',
      'content_block_delta',
      'content_block_stop',
      'content_block_start',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ])
    expect(events[0].message).toMatchObject({ id: 'msg_1', model: 'gpt-4o-2024-08-06', usage: { input_tokens: 25 } })
    expect(events[4]).toMatchObject({ index: 1, content_block: { type: 'tool_use', id: 'call_1', name: 'f', input: {} } })
    expect(events[5]).toMatchObject({ index: 1, delta: { type: 'input_json_delta', partial_json: '{"a":1}' } })
    // Cached prompt tokens are Anthropic's cache reads, apart from input_tokens.
    expect(events[7]).toMatchObject({ delta: { stop_reason: 'tool_use' }, usage: { input_tokens: 20, cache_read_input_tokens: 10, output_tokens: 7 } })
    expect(out.completed).toBe(1)
  })

  test('a cut closes the open block with max_tokens and the output delivered, once', () => {
    const { out, sink } = recorder()
    const writer = new AnthropicEventWriter({ id: 'msg_2', model: 'm', promptTokens: 5 })
    const translator = writer.translator(sink, replay([chunk({ content: 'Hello' })]))
    translator.onEvent('message', '')
    out.chunks.push(...writer.cut(3))
    expect(writer.cut(3)).toEqual([])
    translator.onEnd()
    const events = parseEvents(out.chunks)
    expect(events.slice(-3).map((e) => e.type)).toEqual(['content_block_stop', 'message_delta', 'message_stop'])
    expect(events.at(-2)).toMatchObject({ delta: { stop_reason: 'max_tokens' }, usage: { output_tokens: 3 } })
    expect(events.filter((e) => e.type === 'message_stop')).toHaveLength(1)
  })
})
