// Shapes of the Anthropic Messages API as we send and read it; read-side fields are optional because upstream JSON is untrusted.

export interface AnthropicTextBlock {
  type: 'text'
  text: string
}

export interface AnthropicImageBlock {
  type: 'image'
  source: { type: 'base64'; media_type: string; data: string } | { type: 'url'; url: string }
}

export interface AnthropicToolUseBlock {
  type: 'tool_use'
  id: string
  name: string
  input: Record<string, unknown>
}

export interface AnthropicToolResultBlock {
  type: 'tool_result'
  tool_use_id: string
  content: string | AnthropicTextBlock[]
}

export type AnthropicContentBlock = AnthropicTextBlock | AnthropicImageBlock | AnthropicToolUseBlock | AnthropicToolResultBlock

export interface AnthropicMessage {
  role: 'user' | 'assistant'
  content: AnthropicContentBlock[]
}

export interface AnthropicTool {
  name: string
  description?: string
  input_schema: Record<string, unknown>
}

export type AnthropicToolChoice =
  | { type: 'auto' | 'any'; disable_parallel_tool_use?: boolean }
  | { type: 'tool'; name: string; disable_parallel_tool_use?: boolean }
  | { type: 'none' }

export interface AnthropicRequestBody {
  model: string
  max_tokens: number
  messages: AnthropicMessage[]
  system?: string
  temperature?: number
  top_p?: number
  stop_sequences?: string[]
  tools?: AnthropicTool[]
  tool_choice?: AnthropicToolChoice
  metadata?: { user_id: string }
  stream?: true
}

/** Usage as Anthropic reports it: input_tokens excludes the cache reads and writes. */
export interface AnthropicUsage {
  input_tokens?: number | null
  output_tokens?: number | null
  cache_creation_input_tokens?: number | null
  cache_read_input_tokens?: number | null
}

export interface AnthropicResponseBlock {
  type?: string
  text?: unknown
  id?: unknown
  name?: unknown
  input?: unknown
  thinking?: unknown
}

export interface AnthropicResponse {
  model?: unknown
  content?: unknown
  stop_reason?: string | null
  usage?: AnthropicUsage | null
}

export interface AnthropicErrorDetail {
  type?: unknown
  message?: unknown
}

/** Every streaming event's data, flattened: each event type fills in its own fields. */
export interface AnthropicStreamEvent {
  type?: string
  index?: number
  message?: { model?: unknown; usage?: AnthropicUsage | null }
  content_block?: { type?: string; id?: string; name?: string }
  delta?: { type?: string; text?: string; partial_json?: string; thinking?: string; stop_reason?: string | null }
  usage?: AnthropicUsage | null
  error?: AnthropicErrorDetail
}
