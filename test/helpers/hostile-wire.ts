// The hostile fake's answers in each provider's wire format (shaped like test/fixtures/providers/), JSON and SSE.

/** One tool call the fake makes. */
export interface HostileToolCall {
  name: string
  arguments: string
}

/** What one choice (candidate) generated: visible text pieces, refusal pieces and tool calls, in stream order. */
export interface HostileChoice {
  text: string[]
  refusal: string[]
  toolCalls: HostileToolCall[]
}

/** Everything the fake generated for one request, and what it bills for it. */
export interface HostileAnswer {
  model: string
  choices: HostileChoice[]
  promptTokens: number
  /** Every generated token billed, hidden reasoning included. */
  outputTokens: number
  /** Hidden reasoning tokens (a subset of outputTokens), never shown in the answer. */
  reasoningTokens: number
  finish: 'length' | 'stop' | 'tool_calls'
  /** A pause (ms) before the first visible token: the model thinking. */
  thinkMs: number
}

/** A stream is SSE text events, with numbers standing for pauses (ms) the fake makes before the next event. */
export type StreamItem = string | number

const CREATED = 1741570283
const HEAD = (model: string) => `{"id":"chatcmpl-hostile","object":"chat.completion.chunk","created":${CREATED},"model":${JSON.stringify(model)},"service_tier":"default","system_fingerprint":"fp_f9f4fb6dbf"`

function openAiUsage(answer: HostileAnswer) {
  return {
    prompt_tokens: answer.promptTokens,
    completion_tokens: answer.outputTokens,
    total_tokens: answer.promptTokens + answer.outputTokens,
    prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: answer.reasoningTokens, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
  }
}

function openAiToolCalls(calls: HostileToolCall[]) {
  return calls.map((call, i) => ({ id: `call_hostile_${i}`, type: 'function', function: { name: call.name, arguments: call.arguments } }))
}

export function openAiJson(answer: HostileAnswer): string {
  return JSON.stringify({
    id: 'chatcmpl-hostile',
    object: 'chat.completion',
    created: CREATED,
    model: answer.model,
    choices: answer.choices.map((choice, index) => ({
      index,
      message: {
        role: 'assistant',
        content: choice.toolCalls.length > 0 || choice.refusal.length > 0 ? null : choice.text.join(''),
        ...(choice.toolCalls.length > 0 ? { tool_calls: openAiToolCalls(choice.toolCalls) } : {}),
        refusal: choice.refusal.length > 0 ? choice.refusal.join('') : null,
        annotations: [],
      },
      logprobs: null,
      finish_reason: answer.finish,
    })),
    usage: openAiUsage(answer),
    service_tier: 'default',
    system_fingerprint: 'fp_f9f4fb6dbf',
  })
}

/** OpenAI chunks: per choice a role chunk, its pieces, its finish; then the usage chunk if asked, then [DONE]. */
export function* openAiStream(answer: HostileAnswer, includeUsage: boolean): Generator<StreamItem> {
  const head = HEAD(answer.model)
  const usageNull = includeUsage ? ',"usage":null' : ''
  const chunk = (index: number, delta: unknown, finish: string | null = null) =>
    `data: ${head},"choices":[{"index":${index},"delta":${JSON.stringify(delta)},"logprobs":null,"finish_reason":${finish === null ? 'null' : `"${finish}"`}}]${usageNull}}\n\n`
  for (let index = 0; index < answer.choices.length; index++) {
    const choice = answer.choices[index]!
    if (choice.toolCalls.length > 0) {
      yield chunk(index, { role: 'assistant', content: null, refusal: null })
    } else if (choice.refusal.length > 0) {
      yield chunk(index, { role: 'assistant', refusal: '' })
    } else {
      yield chunk(index, { role: 'assistant', content: '', refusal: null })
    }
    if (index === 0 && answer.thinkMs > 0) yield answer.thinkMs
    for (const piece of choice.text) yield chunk(index, { content: piece })
    for (const piece of choice.refusal) yield chunk(index, { refusal: piece })
    for (let i = 0; i < choice.toolCalls.length; i++) {
      const call = choice.toolCalls[i]!
      yield chunk(index, { tool_calls: [{ index: i, id: `call_hostile_${i}`, type: 'function', function: { name: call.name, arguments: '' } }] })
      yield chunk(index, { tool_calls: [{ index: i, function: { arguments: call.arguments } }] })
    }
    yield chunk(index, {}, answer.finish)
  }
  if (includeUsage) yield `data: ${head},"choices":[],"usage":${JSON.stringify(openAiUsage(answer))}}\n\n`
  yield 'data: [DONE]\n\n'
}

const ANTHROPIC_STOP = { length: 'max_tokens', stop: 'end_turn', tool_calls: 'tool_use' } as const

/** Anthropic has one choice; refusals and tool names are shown as text there (the scenarios aimed at them are OpenAI's). */
function anthropicText(answer: HostileAnswer): string[] {
  const choice = answer.choices[0]!
  return [...choice.text, ...choice.refusal, ...choice.toolCalls.map((call) => call.name)]
}

export function anthropicJson(answer: HostileAnswer): string {
  return JSON.stringify({
    id: 'msg_hostile',
    type: 'message',
    role: 'assistant',
    model: answer.model,
    content: [{ type: 'text', text: anthropicText(answer).join('') }],
    stop_reason: ANTHROPIC_STOP[answer.finish],
    stop_sequence: null,
    usage: { input_tokens: answer.promptTokens, output_tokens: answer.outputTokens, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
  })
}

export function* anthropicStream(answer: HostileAnswer): Generator<StreamItem> {
  const event = (name: string, data: unknown) => `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`
  yield event('message_start', {
    type: 'message_start',
    message: {
      id: 'msg_hostile', type: 'message', role: 'assistant', content: [], model: answer.model, stop_reason: null, stop_sequence: null,
      usage: { input_tokens: answer.promptTokens, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 1 },
    },
  })
  yield event('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } })
  yield 'event: ping\ndata: {"type": "ping"}\n\n'
  if (answer.thinkMs > 0) yield answer.thinkMs
  for (const piece of anthropicText(answer)) yield event('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: piece } })
  yield event('content_block_stop', { type: 'content_block_stop', index: 0 })
  yield event('message_delta', { type: 'message_delta', delta: { stop_reason: ANTHROPIC_STOP[answer.finish], stop_sequence: null }, usage: { output_tokens: answer.outputTokens } })
  yield event('message_stop', { type: 'message_stop' })
}

const GEMINI_FINISH = { length: 'MAX_TOKENS', stop: 'STOP', tool_calls: 'STOP' } as const

function geminiUsage(answer: HostileAnswer, final: boolean) {
  const prompt = { promptTokenCount: answer.promptTokens, promptTokensDetails: [{ modality: 'TEXT', tokenCount: answer.promptTokens }] }
  if (!final) return { ...prompt, totalTokenCount: answer.promptTokens }
  return {
    promptTokenCount: answer.promptTokens,
    candidatesTokenCount: answer.outputTokens,
    totalTokenCount: answer.promptTokens + answer.outputTokens,
    promptTokensDetails: prompt.promptTokensDetails,
    candidatesTokensDetails: [{ modality: 'TEXT', tokenCount: answer.outputTokens }],
  }
}

const geminiText = (choice: HostileChoice) => [...choice.text, ...choice.refusal, ...choice.toolCalls.map((call) => call.name)]

export function geminiJson(answer: HostileAnswer): string {
  return JSON.stringify({
    candidates: answer.choices.map((choice, index) => ({
      content: { parts: [{ text: geminiText(choice).join('') }], role: 'model' },
      finishReason: GEMINI_FINISH[answer.finish],
      index,
    })),
    usageMetadata: geminiUsage(answer, true),
    modelVersion: answer.model,
    responseId: 'hostileResponseId',
  })
}

/** Gemini's alt=sse: one whole response per event, CRLF CRLF between events; the last one carries the finish and full usage. */
export function* geminiStream(answer: HostileAnswer): Generator<StreamItem> {
  const event = (candidates: unknown[], final: boolean) =>
    `data: ${JSON.stringify({ candidates, usageMetadata: geminiUsage(answer, final), modelVersion: answer.model, responseId: 'hostileResponseId' })}\r\n\r\n`
  if (answer.thinkMs > 0) yield answer.thinkMs
  for (let index = 0; index < answer.choices.length; index++) {
    for (const piece of geminiText(answer.choices[index]!)) yield event([{ content: { parts: [{ text: piece }], role: 'model' }, index }], false)
  }
  yield event(
    answer.choices.map((_, index) => ({ content: { parts: [{ text: '' }], role: 'model' }, finishReason: GEMINI_FINISH[answer.finish], index })),
    true,
  )
}
