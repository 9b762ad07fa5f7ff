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
  [field: string]: unknown
}

export interface EmbeddingsRequest {
  model: string
  input: string | string[]
  [field: string]: unknown
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
