// Translates an OpenAI chat request into an Anthropic Messages API body.
import { InvalidRequestError } from '../../errors'
import type { ChatMessage, ChatRequest } from '../../openai/chat-request'
import type { UpstreamCall } from '../types'
import type {
  AnthropicContentBlock,
  AnthropicImageBlock,
  AnthropicMessage,
  AnthropicRequestBody,
  AnthropicTextBlock,
  AnthropicTool,
  AnthropicToolChoice,
} from './wire'

/** A content part as clients send it; the request schema only guarantees `type`. */
interface ContentPart {
  type: string
  text?: unknown
  image_url?: unknown
}

type MessageContent = ChatMessage['content']

/** Text parts of a content field; `where` names it for the error a non-text part gets. */
function textBlocks(content: MessageContent, where: string): AnthropicTextBlock[] {
  if (typeof content === 'string') return content === '' ? [] : [{ type: 'text', text: content }]
  const blocks: AnthropicTextBlock[] = []
  if (!content) return blocks
  for (let j = 0; j < content.length; j++) {
    const part = content[j] as ContentPart
    if (part.type === 'text') {
      if (typeof part.text !== 'string') throw new InvalidRequestError(`${where}[${j}].text must be a string.`, `${where}[${j}].text`)
      // Anthropic rejects empty text blocks; an empty part carries nothing anyway.
      if (part.text !== '') blocks.push({ type: 'text', text: part.text })
    } else if (part.type !== 'refusal') {
      throw new InvalidRequestError(`anthropic models accept only text here, not '${part.type}' parts.`, `${where}[${j}].type`)
    }
  }
  return blocks
}

function joinedText(content: MessageContent, where: string): string {
  if (typeof content === 'string') return content
  return textBlocks(content, where)
    .map((block) => block.text)
    .join('\n\n')
}

function imageBlock(part: ContentPart, where: string): AnthropicImageBlock {
  const image = part.image_url
  const url = typeof image === 'string' ? image : typeof image === 'object' && image !== null ? (image as { url?: unknown }).url : undefined
  if (typeof url !== 'string') throw new InvalidRequestError(`${where}.image_url.url must be a string.`, `${where}.image_url.url`)
  if (url.startsWith('data:')) {
    // indexOf rather than a regex: data URLs run to megabytes.
    const comma = url.indexOf(',')
    const meta = comma === -1 ? '' : url.slice(5, comma)
    if (!meta.endsWith(';base64')) {
      throw new InvalidRequestError('Image data URLs must be base64-encoded (data:<media type>;base64,<data>).', `${where}.image_url.url`)
    }
    return { type: 'image', source: { type: 'base64', media_type: meta.slice(0, -7), data: url.slice(comma + 1) } }
  }
  if (url.startsWith('https://') || url.startsWith('http://')) return { type: 'image', source: { type: 'url', url } }
  throw new InvalidRequestError('Image URLs must be http(s) or base64 data URLs.', `${where}.image_url.url`)
}

function userBlocks(content: MessageContent, where: string): AnthropicContentBlock[] {
  if (typeof content === 'string' || !content) return textBlocks(content, where)
  const blocks: AnthropicContentBlock[] = []
  for (let j = 0; j < content.length; j++) {
    const part = content[j] as ContentPart
    if (part.type === 'image_url') blocks.push(imageBlock(part, `${where}[${j}]`))
    else if (part.type === 'text') {
      if (typeof part.text !== 'string') throw new InvalidRequestError(`${where}[${j}].text must be a string.`, `${where}[${j}].text`)
      if (part.text !== '') blocks.push({ type: 'text', text: part.text })
    } else {
      throw new InvalidRequestError(`anthropic models do not support '${part.type}' content parts.`, `${where}[${j}].type`)
    }
  }
  return blocks
}

function assistantBlocks(message: ChatMessage, i: number): AnthropicContentBlock[] {
  const blocks: AnthropicContentBlock[] = textBlocks(message.content, `messages[${i}].content`)
  const calls = message.tool_calls
  if (!calls) return blocks
  for (let j = 0; j < calls.length; j++) {
    const call = calls[j]!
    const param = `messages[${i}].tool_calls[${j}].function.arguments`
    const args = call.function.arguments
    let input: unknown
    try {
      // Some clients send "" for a call without arguments.
      input = args.trim() === '' ? {} : JSON.parse(args)
    } catch {
      throw new InvalidRequestError(`${param} is not valid JSON; anthropic models need tool-call arguments as a JSON object.`, param)
    }
    if (typeof input !== 'object' || input === null || Array.isArray(input)) {
      throw new InvalidRequestError(`${param} must be a JSON object for anthropic models.`, param)
    }
    blocks.push({ type: 'tool_use', id: call.id, name: call.function.name, input: input as Record<string, unknown> })
  }
  return blocks
}

/** Anthropic wants user and assistant turns to alternate, so a turn of the same role as the last one joins it. */
function append(messages: AnthropicMessage[], role: AnthropicMessage['role'], blocks: AnthropicContentBlock[]): void {
  if (blocks.length === 0) return
  const last = messages[messages.length - 1]
  if (last && last.role === role) for (const block of blocks) last.content.push(block)
  else messages.push({ role, content: blocks })
}

function translateMessages(source: ChatRequest['messages']): { system: string[]; messages: AnthropicMessage[] } {
  const system: string[] = []
  const messages: AnthropicMessage[] = []
  for (let i = 0; i < source.length; i++) {
    const message = source[i]!
    const where = `messages[${i}].content`
    switch (message.role) {
      case 'system':
      case 'developer': {
        const text = joinedText(message.content, where)
        if (text !== '') system.push(text)
        break
      }
      case 'user':
        append(messages, 'user', userBlocks(message.content, where))
        break
      case 'assistant':
        append(messages, 'assistant', assistantBlocks(message, i))
        break
      case 'tool': {
        if (typeof message.tool_call_id !== 'string') {
          throw new InvalidRequestError(`messages[${i}].tool_call_id is required for tool messages.`, `messages[${i}].tool_call_id`)
        }
        const content = typeof message.content === 'string' ? message.content : textBlocks(message.content, where)
        append(messages, 'user', [{ type: 'tool_result', tool_use_id: message.tool_call_id, content }])
        break
      }
      default:
        // Legacy `function` messages carry no call id, so there is no tool_use for them to answer.
        throw new InvalidRequestError(
          `anthropic models do not support '${message.role}' messages; use tools and 'tool' messages.`,
          `messages[${i}].role`,
        )
    }
  }
  return { system, messages }
}

function translateTools(tools: NonNullable<ChatRequest['tools']>): AnthropicTool[] {
  return tools.map((tool, i) => {
    if (tool.type !== 'function') {
      throw new InvalidRequestError(`anthropic models support only 'function' tools, not '${tool.type}'.`, `tools[${i}].type`)
    }
    const out: AnthropicTool = {
      name: tool.function.name,
      input_schema: (tool.function.parameters as Record<string, unknown> | undefined) ?? { type: 'object', properties: {} },
    }
    if (tool.function.description !== undefined) out.description = tool.function.description
    return out
  })
}

function translateToolChoice(request: ChatRequest): AnthropicToolChoice | undefined {
  const choice = request.tool_choice
  let out: AnthropicToolChoice | undefined
  if (choice === undefined) out = undefined
  else if (choice === 'auto') out = { type: 'auto' }
  else if (choice === 'required') out = { type: 'any' }
  else if (choice === 'none') out = { type: 'none' }
  else if (typeof choice === 'object' && choice.type === 'function' && typeof choice.function?.name === 'string') {
    out = { type: 'tool', name: choice.function.name }
  } else {
    throw new InvalidRequestError(
      "tool_choice must be 'auto', 'required', 'none' or {type: 'function', function: {name}}.",
      'tool_choice',
    )
  }
  if (request.parallel_tool_calls === false) {
    out ??= { type: 'auto' }
    // Anthropic's `none` takes no parallelism flag: with no calls there is nothing to serialise.
    if (out.type !== 'none') out.disable_parallel_tool_use = true
  }
  return out
}

export function buildAnthropicBody(call: UpstreamCall): AnthropicRequestBody {
  const request = call.request
  const { system, messages } = translateMessages(request.messages)
  const body: AnthropicRequestBody = { model: call.model.upstreamModel, max_tokens: call.maxTokens, messages }
  if (system.length > 0) body.system = system.join('\n\n')
  if (typeof request.temperature === 'number') body.temperature = request.temperature
  if (typeof request.top_p === 'number') body.top_p = request.top_p
  const stop = request.stop
  if (typeof stop === 'string') {
    if (stop !== '') body.stop_sequences = [stop]
  } else if (Array.isArray(stop) && stop.length > 0) body.stop_sequences = stop
  if (request.tools && request.tools.length > 0) {
    body.tools = translateTools(request.tools)
    // Anthropic refuses tool_choice without tools; OpenAI clients send it anyway.
    const toolChoice = translateToolChoice(request)
    if (toolChoice) body.tool_choice = toolChoice
  }
  if (typeof request.user === 'string' && request.user !== '') body.metadata = { user_id: request.user }
  if (call.stream) body.stream = true
  return body
}
