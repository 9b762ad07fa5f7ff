// The shapes the gateway answers on the routes the client calls (snake_case, as on the wire; amounts are decimal USD strings).

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant' | 'tool' | 'developer'
  content: string
}

export interface ChatRequest {
  model: string
  messages: ChatMessage[]
  max_tokens?: number
  temperature?: number
  signal?: AbortSignal
  [field: string]: unknown
}

export interface ChatResponse {
  id: string
  model: string
  choices: { index: number; message: { role: string; content: string | null }; finish_reason: string | null }[]
  usage?: { prompt_tokens: number; completion_tokens: number; total_tokens: number }
}

export interface ImageRequest {
  model: string
  prompt: string
  n?: number
  size?: string
  quality?: string
  response_format?: 'url' | 'b64_json'
  signal?: AbortSignal
  [field: string]: unknown
}

/** OpenAI's image answer: one entry per image, a URL or base64 PNG as asked (token-billed models add `usage`). */
export interface ImageResponse {
  created: number
  data: { url?: string; b64_json?: string; revised_prompt?: string }[]
  usage?: { input_tokens: number; output_tokens: number; total_tokens: number; [field: string]: unknown }
  [field: string]: unknown
}

export interface EmbeddingsRequest {
  model: string
  input: string | string[] | number[] | number[][]
  encoding_format?: 'float' | 'base64'
  dimensions?: number
  signal?: AbortSignal
  [field: string]: unknown
}

/** OpenAI's embeddings answer: a vector per input, in order (a base64 string with encoding_format "base64"). */
export interface EmbeddingsResponse {
  object: 'list'
  data: { object: 'embedding'; index: number; embedding: number[] | string }[]
  model: string
  usage: { prompt_tokens: number; total_tokens: number }
}

export interface LedgerEntry {
  kind: string
  amount_usd: string
  [field: string]: unknown
}

export interface Balance {
  balance_usd: string
  held_usd: string
  available_usd: string
  currency: string
  status: string
  recent_ledger: LedgerEntry[]
}

export interface TopUp {
  client_secret: string
  payment_intent_id: string
  amount_usd: string
  net_credited_usd: string
  publishable_key: string | null
}

export interface GatewayConfig {
  publishable_key: string | null
  mode: 'live' | 'test'
  models: string[]
}
