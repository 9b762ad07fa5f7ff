// Translates an OpenAI chat request into a Gemini generateContent body.
import { InvalidRequestError } from '../../errors'
import type { ChatMessage, ChatRequest } from '../../openai/chat-request'
import { functionParameters } from './schema'

type Part = Record<string, unknown>

interface Content {
  role: 'user' | 'model'
  parts: Part[]
}

export interface GeminiRequestBody {
  contents: Content[]
  systemInstruction?: { parts: Part[] }
  tools?: { functionDeclarations: Record<string, unknown>[] }[]
  toolConfig?: { functionCallingConfig: { mode: string; allowedFunctionNames?: string[] } }
  generationConfig?: Record<string, unknown>
}

// The request model keeps unknown fields but types only `type`: content parts and response_format are read through this.
type OpenObject = { type: string; [field: string]: unknown }

const IMAGE_TYPES: Record<string, string> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
  heic: 'image/heic',
  heif: 'image/heif',
}

function guessImageType(url: string): string {
  let end = url.length
  const query = url.indexOf('?')
  if (query !== -1) end = query
  const hash = url.indexOf('#')
  if (hash !== -1 && hash < end) end = hash
  const path = url.slice(0, end)
  const dot = path.lastIndexOf('.')
  if (dot === -1 || dot < path.lastIndexOf('/')) return 'image/jpeg'
  return IMAGE_TYPES[path.slice(dot + 1).toLowerCase()] ?? 'image/jpeg'
}

function imagePart(part: OpenObject, param: string): Part {
  const image = part.image_url as { url?: unknown } | string | undefined
  const url = typeof image === 'string' ? image : image?.url
  if (typeof url !== 'string') throw new InvalidRequestError('image_url.url must be a string.', `${param}.image_url.url`)
  if (url.startsWith('data:')) {
    // Found with indexOf, not a regex, so a multi-megabyte base64 payload is never scanned.
    const comma = url.indexOf(',')
    const header = comma === -1 ? '' : url.slice(5, comma)
    if (!header.endsWith(';base64')) {
      throw new InvalidRequestError('Image data URLs must be base64-encoded (data:<type>;base64,<data>).', `${param}.image_url.url`)
    }
    const semicolon = header.indexOf(';')
    return { inlineData: { mimeType: header.slice(0, semicolon) || 'image/jpeg', data: url.slice(comma + 1) } }
  }
  if (url.startsWith('https://') || url.startsWith('http://')) {
    return { fileData: { mimeType: guessImageType(url), fileUri: url } }
  }
  throw new InvalidRequestError('image_url.url must be an http(s) URL or a base64 data URL.', `${param}.image_url.url`)
}

function audioPart(part: OpenObject, param: string): Part {
  const audio = part.input_audio as { data?: unknown; format?: unknown } | undefined
  if (typeof audio?.data !== 'string' || typeof audio.format !== 'string') {
    throw new InvalidRequestError('input_audio needs data and format.', `${param}.input_audio`)
  }
  return { inlineData: { mimeType: `audio/${audio.format}`, data: audio.data } }
}

/** Appends a message's content as Gemini parts; empty text is dropped because Gemini rejects an empty text part. */
function pushOpenObjects(parts: Part[], content: ChatMessage['content'], param: string, textOnly: boolean): void {
  if (content == null) return
  if (typeof content === 'string') {
    if (content !== '') parts.push({ text: content })
    return
  }
  for (let j = 0; j < content.length; j++) {
    const part = content[j] as OpenObject
    const partParam = `${param}[${j}]`
    if (part.type === 'text' || part.type === 'refusal') {
      const text = part.type === 'text' ? part.text : part.refusal
      if (typeof text !== 'string') throw new InvalidRequestError(`A ${part.type} part needs a string ${part.type}.`, partParam)
      if (text !== '') parts.push({ text })
    } else if (textOnly) {
      throw new InvalidRequestError(`Content parts of type '${part.type}' are not supported in this message for google models.`, `${partParam}.type`)
    } else if (part.type === 'image_url') {
      parts.push(imagePart(part, partParam))
    } else if (part.type === 'input_audio') {
      parts.push(audioPart(part, partParam))
    } else {
      throw new InvalidRequestError(`Content parts of type '${part.type}' are not supported for google models.`, `${partParam}.type`)
    }
  }
}

function contentText(content: ChatMessage['content']): string {
  if (content == null) return ''
  if (typeof content === 'string') return content
  let text = ''
  for (const part of content) {
    const partText = (part as OpenObject).text
    if (typeof partText === 'string') text += partText
  }
  return text
}

/** Gemini's functionResponse.response must be an object; a tool that answered with a JSON object is passed as one. */
function toolResult(text: string): unknown {
  if (text.trimStart().startsWith('{')) {
    try {
      const parsed: unknown = JSON.parse(text)
      if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) return parsed
    } catch {
      // Not JSON after all: the text goes as it is.
    }
  }
  return text
}

function buildContents(messages: ChatMessage[], system: Part[]): Content[] {
  const contents: Content[] = []
  // OpenAI tool messages name the call by id; Gemini wants the function's name, so remember each call's name.
  const toolNames = new Map<string, string>()
  let last: Content | undefined

  for (let i = 0; i < messages.length; i++) {
    const message = messages[i]!
    const param = `messages[${i}]`
    let role: Content['role']
    const parts: Part[] = []

    switch (message.role) {
      case 'system':
      case 'developer':
        pushOpenObjects(system, message.content, `${param}.content`, true)
        continue
      case 'user':
        role = 'user'
        pushOpenObjects(parts, message.content, `${param}.content`, false)
        break
      case 'assistant': {
        role = 'model'
        pushOpenObjects(parts, message.content, `${param}.content`, true)
        const calls = message.tool_calls ?? []
        for (let j = 0; j < calls.length; j++) {
          const call = calls[j]!
          let args: unknown
          try {
            args = JSON.parse(call.function.arguments)
          } catch {
            throw new InvalidRequestError('Tool call arguments must be valid JSON.', `${param}.tool_calls[${j}].function.arguments`)
          }
          toolNames.set(call.id, call.function.name)
          parts.push({ functionCall: { name: call.function.name, args } })
        }
        break
      }
      case 'tool': {
        role = 'user'
        const name = message.tool_call_id === undefined ? undefined : toolNames.get(message.tool_call_id)
        if (name === undefined) {
          throw new InvalidRequestError('tool_call_id does not match a tool call of an earlier assistant message.', `${param}.tool_call_id`)
        }
        parts.push({ functionResponse: { name, response: { content: toolResult(contentText(message.content)) } } })
        break
      }
      case 'function': {
        // The deprecated function role names the function itself.
        role = 'user'
        if (!message.name) throw new InvalidRequestError('function messages need a name.', `${param}.name`)
        parts.push({ functionResponse: { name: message.name, response: { content: toolResult(contentText(message.content)) } } })
        break
      }
    }

    if (parts.length === 0) continue
    // Gemini wants turns to alternate; parallel tool results and back-to-back messages become one turn.
    if (last !== undefined && last.role === role) {
      for (const part of parts) last.parts.push(part)
    } else {
      last = { role, parts }
      contents.push(last)
    }
  }
  return contents
}

function buildGenerationConfig(request: ChatRequest): Record<string, unknown> {
  const config: Record<string, unknown> = {}
  if (request.temperature != null) config.temperature = request.temperature
  if (request.top_p != null) config.topP = request.top_p
  if (request.stop != null) {
    const stop = typeof request.stop === 'string' ? [request.stop] : request.stop
    if (stop.length > 0) config.stopSequences = stop
  }
  if (request.presence_penalty != null) config.presencePenalty = request.presence_penalty
  if (request.frequency_penalty != null) config.frequencyPenalty = request.frequency_penalty
  if (request.seed != null) config.seed = request.seed
  const format = request.response_format
  if (format !== undefined && format.type !== 'text') {
    if (format.type === 'json_object') {
      config.responseMimeType = 'application/json'
    } else if (format.type === 'json_schema') {
      config.responseMimeType = 'application/json'
      const schema = ((format as OpenObject).json_schema as { schema?: unknown } | undefined)?.schema
      if (schema !== undefined) config.responseJsonSchema = schema
    } else {
      throw new InvalidRequestError(`response_format type '${format.type}' is not supported.`, 'response_format.type')
    }
  }
  return config
}

function buildTools(tools: NonNullable<ChatRequest['tools']>): GeminiRequestBody['tools'] {
  const functionDeclarations: Record<string, unknown>[] = []
  for (let i = 0; i < tools.length; i++) {
    const tool = tools[i]!
    if (tool.type !== 'function') {
      throw new InvalidRequestError(`Tools of type '${tool.type}' are not supported for google models.`, `tools[${i}].type`)
    }
    const declaration: Record<string, unknown> = { name: tool.function.name }
    if (tool.function.description !== undefined) declaration.description = tool.function.description
    const parameters = functionParameters(tool.function.parameters)
    if (parameters !== undefined) declaration.parameters = parameters
    functionDeclarations.push(declaration)
  }
  return [{ functionDeclarations }]
}

const MODES: Record<string, string> = { auto: 'AUTO', required: 'ANY', none: 'NONE' }

function buildToolConfig(choice: NonNullable<ChatRequest['tool_choice']>): NonNullable<GeminiRequestBody['toolConfig']> {
  if (typeof choice === 'string') {
    const mode = MODES[choice]
    if (mode === undefined) throw new InvalidRequestError(`tool_choice '${choice}' is not one of auto, required, none.`, 'tool_choice')
    return { functionCallingConfig: { mode } }
  }
  const name = choice.function?.name
  if (choice.type !== 'function' || typeof name !== 'string') {
    throw new InvalidRequestError('tool_choice must name a function: {"type":"function","function":{"name":…}}.', 'tool_choice')
  }
  return { functionCallingConfig: { mode: 'ANY', allowedFunctionNames: [name] } }
}

/** Everything that depends on the request alone; throws InvalidRequestError for what cannot be translated. */
export function translateRequest(request: ChatRequest): GeminiRequestBody {
  const system: Part[] = []
  const body: GeminiRequestBody = { contents: buildContents(request.messages, system) }
  if (system.length > 0) body.systemInstruction = { parts: system }
  if (request.tools !== undefined && request.tools.length > 0) body.tools = buildTools(request.tools)
  if (request.tool_choice !== undefined) body.toolConfig = buildToolConfig(request.tool_choice)
  const config = buildGenerationConfig(request)
  if (Object.keys(config).length > 0) body.generationConfig = config
  return body
}

/** Adds the output cap: always the one the hold covers (Gemini's own default could be larger). It includes thinking. */
export function withOutputCap(body: GeminiRequestBody, maxTokens: number): GeminiRequestBody {
  return { ...body, generationConfig: { ...body.generationConfig, maxOutputTokens: maxTokens } }
}
