// @meterway/client: the browser-safe (fetch and ReadableStream only) client of an end user's Meterway session.
export { MeterwayClient, type MeterwayClientOptions } from './client'
export { MeterwayClientError } from './errors'
export { normaliseSession, type ClientSession, type SessionInput } from './session'
export { chatDeltas, sseData } from './sse'
export type {
  Balance,
  ChatMessage,
  ChatRequest,
  ChatResponse,
  EmbeddingsRequest,
  EmbeddingsResponse,
  GatewayConfig,
  ImageRequest,
  ImageResponse,
  LedgerEntry,
  TopUp,
} from './types'
