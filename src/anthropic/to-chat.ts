// Translates an Anthropic Messages API request into the gateway's OpenAI-form ChatRequest, for models that do not speak it (OpenAI, Google, mock).
import { InvalidRequestError } from '../errors'
import type { ChatMessage, ChatRequest, ChatTool } from '../openai/chat-request'
import type { CountTokensRequest, MessagesMessage, MessagesRequest } from './messages-request'

/** OpenAI takes at most four stop sequences (and Gemini five). */
const MAX_STOP_SEQUENCES = 4

interface Block {
  type: string
  text?: unknown
  source?: unknown
  id?: unknown
  name?: unknown
  input?: unknown
  tool_use_id?: unknown
  content?: unknown
  is_error?: unknown
}

type ContentPart = Exclude<ChatMessage['content'], string | null | undefined>[number]
/** Parts keep fields the schema does not list (it types only `type`). */
const part = (fields: { type: string } & Record<string, unknown>) => fields as ContentPart

function requireString(value: unknown, param: string): string {
  if (typeof value !== 'string') throw new InvalidRequestError(`${param} must be a string.`, param)
  return value
}

/** An image block's source as an OpenAI image_url part: base64 as a data URL, a URL as it is. */
function imagePart(block: Block, where: string): ContentPart {
  const source = block.source as { type?: unknown; media_type?: unknown; data?: unknown; url?: unknown } | undefined
  if (source?.type === 'base64') {
    const mediaType = requireString(source.media_type, `${where}.source.media_type`)
    const data = requireString(source.data, `${where}.source.data`)
    return part({ type: 'image_url', image_url: { url: `data:${mediaType};base64,${data}` } })
  }
  if (source?.type === 'url') return part({ type: 'image_url', image_url: { url: requireString(source.url, `${where}.source.url`) } })
  throw new InvalidRequestError(`${where}.source.type must be 'base64' or 'url' for this model.`, `${where}.source.type`)
}

/** The text of a tool_result's content: a string, or text blocks joined (other blocks have no place in an OpenAI tool message). */
function toolResultText(content: unknown, where: string): string {
  if (content === undefined || content === null) return ''
  if (typeof content === 'string') return content
  if (!Array.isArray(content)) throw new InvalidRequestError(`${where}.content must be a string or an array of text blocks.`, `${where}.content`)
  return content
    .map((block: Block, k) => {
      if (block?.type !== 'text') {
        throw new InvalidRequestError(`${where}.content[${k}]: only text blocks can be tool results for this model.`, `${where}.content[${k}].type`)
      }
      return requireString(block.text, `${where}.content[${k}].text`)
    })
    .join('\n\n')
}

function systemText(system: MessagesRequest['system'], where: string): string {
  if (system === undefined) return ''
  if (typeof system === 'string') return system
  return system.map((block, k) => requireString(block.text, `${where}[${k}].text`)).join('\n\n')
}

/** One user turn: its tool results first (OpenAI wants them right after the assistant's calls), then the rest. */
function userMessages(content: Block[], where: string): ChatMessage[] {
  const tools: ChatMessage[] = []
  const parts: ContentPart[] = []
  content.forEach((block, k) => {
    const at = `${where}[${k}]`
    switch (block.type) {
      case 'text':
        parts.push(part({ type: 'text', text: requireString(block.text, `${at}.text`) }))
        break
      case 'image':
        parts.push(imagePart(block, at))
        break
      case 'tool_result': {
        const text = toolResultText(block.content, at)
        // OpenAI has no error flag on a tool message; the model reads it in the text instead.
        tools.push({ role: 'tool', tool_call_id: requireString(block.tool_use_id, `${at}.tool_use_id`), content: block.is_error === true ? `Error: ${text}` : text })
        break
      }
      default:
        throw new InvalidRequestError(`'${block.type}' content blocks are not supported for this model.`, `${at}.type`)
    }
  })
  if (parts.length > 0) tools.push({ role: 'user', content: parts })
  return tools
}

function assistantMessage(content: Block[], where: string): ChatMessage {
  let text = ''
  const calls: NonNullable<ChatMessage['tool_calls']> = []
  content.forEach((block, k) => {
    const at = `${where}[${k}]`
    if (block.type === 'text') text += requireString(block.text, `${at}.text`)
    else if (block.type === 'tool_use') {
      const input = block.input ?? {}
      calls.push({ id: requireString(block.id, `${at}.id`), type: 'function', function: { name: requireString(block.name, `${at}.name`), arguments: JSON.stringify(input) } })
    } else if (block.type !== 'thinking' && block.type !== 'redacted_thinking') {
      // Thinking is Anthropic's own; another provider has nothing to read in it.
      throw new InvalidRequestError(`'${block.type}' content blocks are not supported for this model.`, `${at}.type`)
    }
  })
  const message: ChatMessage = { role: 'assistant', content: text === '' && calls.length > 0 ? null : text }
  if (calls.length > 0) message.tool_calls = calls
  return message
}

function translateMessage(message: MessagesMessage, i: number): ChatMessage[] {
  const where = `messages[${i}].content`
  if (typeof message.content === 'string') return [{ role: message.role, content: message.content }]
  const blocks = message.content as Block[]
  if (message.role === 'assistant') return [assistantMessage(blocks, where)]
  if (message.role === 'system') return [{ role: 'system', content: blocks.map((b, k) => requireString(b.text, `${where}[${k}].text`)).join('\n\n') }]
  return userMessages(blocks, where)
}

function translateTools(tools: NonNullable<MessagesRequest['tools']>): ChatTool[] {
  return tools.map((tool, i) => {
    // Server tools (web search, code execution…) run at Anthropic; other providers have no such tool.
    if (tool.type !== undefined && tool.type !== 'custom') {
      throw new InvalidRequestError(`The server tool '${tool.type}' is only available for anthropic models.`, `tools[${i}].type`)
    }
    const fn: ChatTool['function'] = { name: tool.name, parameters: tool.input_schema ?? { type: 'object', properties: {} } }
    if (tool.description !== undefined) fn.description = tool.description
    return { type: 'function', function: fn }
  })
}

function translateToolChoice(choice: NonNullable<MessagesRequest['tool_choice']>, into: ChatRequest): void {
  switch (choice.type) {
    case 'auto':
      into.tool_choice = 'auto'
      break
    case 'any':
      into.tool_choice = 'required'
      break
    case 'none':
      into.tool_choice = 'none'
      break
    case 'tool':
      into.tool_choice = { type: 'function', function: { name: requireString(choice.name, 'tool_choice.name') } }
      break
    default:
      throw new InvalidRequestError("tool_choice.type must be 'auto', 'any', 'tool' or 'none'.", 'tool_choice.type')
  }
  if (choice.disable_parallel_tool_use === true) into.parallel_tool_calls = false
}

/** The prompt part of a request (count_tokens has nothing else). */
export function promptToChat(request: CountTokensRequest): ChatRequest {
  const messages: ChatMessage[] = []
  const system = systemText(request.system, 'system')
  if (system !== '') messages.push({ role: 'system', content: system })
  request.messages.forEach((message, i) => messages.push(...translateMessage(message, i)))
  const chat: ChatRequest = { model: request.model, messages }
  if (request.tools && request.tools.length > 0) {
    chat.tools = translateTools(request.tools)
    if (request.tool_choice) translateToolChoice(request.tool_choice, chat)
  }
  return chat
}

/** The whole request: the prompt, the cap, sampling, stop sequences and streaming. */
export function messagesToChat(request: MessagesRequest): ChatRequest {
  const chat = promptToChat(request)
  chat.max_tokens = request.max_tokens
  if (request.stream === true) chat.stream = true
  if (request.temperature !== undefined) chat.temperature = request.temperature
  if (request.top_p !== undefined) chat.top_p = request.top_p
  const stops = request.stop_sequences
  if (stops && stops.length > 0) {
    if (stops.length > MAX_STOP_SEQUENCES) {
      throw new InvalidRequestError(`stop_sequences: this model takes at most ${MAX_STOP_SEQUENCES}.`, 'stop_sequences')
    }
    chat.stop = stops
  }
  const user = request.metadata?.user_id
  if (typeof user === 'string' && user !== '') chat.user = user
  // top_k has no OpenAI counterpart and is dropped; it only narrows sampling.
  return chat
}
