// Built-in free models answered in process (mock/echo streams the last user message back word by word), in OpenAI's format.
import { countTextTokens } from '../../metering/tokenizer'
import type { ChatMessage } from '../../openai/chat-request'
import { chunkHead, completionJson, deltaChunk, usageChunk, type FinishReason } from '../openai-format'
import { createOpenAiStreamTranslator, readOpenAiCompletion } from '../openai/response'
import { UpstreamError } from '../../errors'
import type { PromptProfile, ProviderAdapter, ProviderUsage, UpstreamCall } from '../types'

const EMPTY_PROMPT_REPLY = '(nothing to echo)'

function messageText(message: ChatMessage): string {
  const content = message.content
  if (typeof content === 'string') return content
  if (!content) return ''
  return content.map((part) => ((part as { text?: unknown }).text as string | undefined) ?? '').join('')
}

interface EchoReply {
  words: string[]
  finishReason: FinishReason
  usage: ProviderUsage
}

/** The reply: the last user message, cut once the output cap is reached. */
function echo(call: UpstreamCall): EchoReply {
  const lastUser = [...call.request.messages].reverse().find((m) => m.role === 'user')
  const text = (lastUser && messageText(lastUser).trim()) || EMPTY_PROMPT_REPLY
  const pieces = text.match(/\s*\S+/g) ?? [text]
  const words: string[] = []
  let outputTokens = 0
  let finishReason: FinishReason = 'stop'
  for (const piece of pieces) {
    const tokens = countTextTokens(piece)
    if (outputTokens + tokens > call.maxTokens) {
      finishReason = 'length'
      break
    }
    words.push(piece)
    outputTokens += tokens
  }
  return {
    words,
    finishReason,
    usage: { inputTokens: call.promptTokens, outputTokens, cachedInputTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 },
  }
}

const encoder = new TextEncoder()

function streamReply(reply: EchoReply, head: string, signal: AbortSignal): ReadableStream<Uint8Array> {
  const events = [
    deltaChunk(head, { role: 'assistant', content: '' }),
    ...reply.words.map((word) => deltaChunk(head, { content: word })),
    deltaChunk(head, {}, reply.finishReason),
    usageChunk(head, reply.usage),
    '[DONE]',
  ]
  let next = 0
  return new ReadableStream({
    pull(controller) {
      if (signal.aborted || next >= events.length) {
        controller.close()
        return
      }
      controller.enqueue(encoder.encode(`data: ${events[next++]}\n\n`))
    },
  })
}

/** Free and answered in process: nothing to bill, so nothing to add to our count. */
const MOCK_PROMPT: PromptProfile = { textMargin: 1, toolPromptTokens: 0, imageMaxTokens: () => 0 }

export function createMockAdapter(): ProviderAdapter {
  const errorFor = () => new UpstreamError('The mock model failed.')
  return {
    id: 'mock',
    prompt: MOCK_PROMPT,
    // The "request" is the reply itself, decided up front: the mock is its own upstream.
    prepare: (call) => ({ url: `mock:${call.model.upstreamModel}`, headers: {}, body: JSON.stringify({ stream: call.stream, model: call.model.id, reply: echo(call) }) }),
    async send(request, signal) {
      const { stream, model, reply } = JSON.parse(request.body) as { stream: boolean; model: string; reply: EchoReply }
      const identity = { id: `chatcmpl-mock${Date.now().toString(36)}`, created: Math.floor(Date.now() / 1000), model, includeUsage: true }
      if (!stream) {
        const body = completionJson(identity, { content: reply.words.join('') }, reply.finishReason, reply.usage)
        return new Response(body, { headers: { 'content-type': 'application/json' } })
      }
      return new Response(streamReply(reply, chunkHead(identity), signal), { headers: { 'content-type': 'text/event-stream' } })
    },
    readCompletion: (body) => readOpenAiCompletion(body, 'mock'),
    createStreamTranslator: (sink, identity) => createOpenAiStreamTranslator(sink, identity, errorFor, 'mock'),
    readError: () => errorFor(),
  }
}
