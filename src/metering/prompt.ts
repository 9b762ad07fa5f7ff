// What a chat prompt is made of, measured once per request: its text in tokens (OpenAI's framing), its images, and the parts we cannot count.
import type { ChatMessage, ChatRequest } from '../openai/chat-request'
import { countTextTokensOffThread, OFF_THREAD_MIN_CHARS } from './token-pool'
import { countCachedText, knownCount, rememberCount } from './tokenizer'

// OpenAI's documented chat framing: every message costs 3 tokens, a name 1 more, and the reply is primed with 3.
const TOKENS_PER_MESSAGE = 3
const TOKENS_PER_NAME = 1
const REPLY_PRIMING_TOKENS = 3
/** What an image adds to our own count in usage records (OpenAI's low detail); holds use the provider's maximum. */
const COUNTED_TOKENS_PER_IMAGE = 85

const IMAGE_PARTS = new Set(['image_url', 'input_image', 'image'])

export interface PromptMeasure {
  /** Our o200k count of every text the provider reads (messages, names, tool calls, tool and schema definitions). */
  textTokens: number
  /** The `detail` of each image part (undefined: not given). */
  imageDetails: (string | undefined)[]
  /** Parts whose tokens we cannot know before the provider reads them: files, audio, video, and types we do not know. */
  uncountableParts: number
  /** Tools are declared (some providers add a system prompt for them). */
  hasTools: boolean
}

/** A text counter that may work off the main thread for large texts. */
export type CountText = (text: string) => number | Promise<number>

/** Counts a prompt's text once per distinct text: inline when short, on the token pool's threads when long (the event loop never stalls on a 10 MB prompt). */
export function countPromptText(text: string): number | Promise<number> {
  if (text.length < OFF_THREAD_MIN_CHARS) return countCachedText(text)
  const known = knownCount(text)
  if (known !== undefined) return known
  return countTextTokensOffThread(text).then((tokens) => {
    rememberCount(text, tokens)
    return tokens
  })
}

function walkContent(content: ChatMessage['content'], texts: string[], measure: PromptMeasure): void {
  if (content == null) return
  if (typeof content === 'string') {
    texts.push(content)
    return
  }
  for (const part of content) {
    const fields = part as { type: string; text?: unknown; refusal?: unknown; image_url?: unknown; detail?: unknown }
    if (fields.type === 'text' && typeof fields.text === 'string') texts.push(fields.text)
    else if (fields.type === 'refusal' && typeof fields.refusal === 'string') texts.push(fields.refusal)
    else if (IMAGE_PARTS.has(fields.type)) {
      const image = fields.image_url as { detail?: unknown } | undefined
      const detail = typeof image === 'object' && image !== null ? image.detail : fields.detail
      measure.imageDetails.push(typeof detail === 'string' ? detail : undefined)
    } else {
      // file, input_audio, video, and anything newer: the provider decides what it costs.
      measure.uncountableParts++
    }
  }
}

/**
 * Measures a chat request; its texts are counted with `count` (countPromptText: cached, large ones off the main thread).
 * Synchronous when every count is at hand, as a client's repeated prompt's are.
 */
export function measurePrompt(request: ChatRequest, count: CountText = countPromptText): PromptMeasure | Promise<PromptMeasure> {
  const measure: PromptMeasure = { textTokens: REPLY_PRIMING_TOKENS, imageDetails: [], uncountableParts: 0, hasTools: false }
  const texts: string[] = []
  for (const message of request.messages) {
    measure.textTokens += TOKENS_PER_MESSAGE
    texts.push(message.role)
    walkContent(message.content, texts, measure)
    if (message.name) {
      measure.textTokens += TOKENS_PER_NAME
      texts.push(message.name)
    }
    for (const call of message.tool_calls ?? []) texts.push(call.function.name, call.function.arguments)
  }
  if (request.tools && request.tools.length > 0) {
    measure.hasTools = true
    texts.push(JSON.stringify(request.tools))
  }
  // A JSON schema constrains the answer and is read as part of the prompt.
  if (request.response_format && request.response_format.type !== 'text') texts.push(JSON.stringify(request.response_format))
  // Large texts are counted in parallel on the pool's threads; small ones are numbers already.
  let counting: Promise<number>[] | null = null
  for (const text of texts) {
    const tokens = count(text)
    if (typeof tokens === 'number') measure.textTokens += tokens
    else (counting ??= []).push(tokens)
  }
  if (!counting) return measure
  return Promise.all(counting).then((counts) => {
    for (const tokens of counts) measure.textTokens += tokens
    return measure
  })
}

/** Our own count of a measured prompt, as usage records show it beside the provider's. */
export function countedPromptTokens(measure: PromptMeasure): number {
  return measure.textTokens + measure.imageDetails.length * COUNTED_TOKENS_PER_IMAGE
}
