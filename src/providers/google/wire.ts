// The shapes of Gemini's generateContent answers (non-streaming and each SSE event), as far as the gateway reads them.

export interface GeminiFunctionCall {
  name?: string
  args?: Record<string, unknown>
}

export interface GeminiPart {
  text?: string
  /** Thought summaries are not part of the answer the client asked for. */
  thought?: boolean
  functionCall?: GeminiFunctionCall
}

export interface GeminiCandidate {
  content?: { parts?: GeminiPart[]; role?: string }
  finishReason?: string
  index?: number
}

export interface GeminiUsageMetadata {
  promptTokenCount?: number
  candidatesTokenCount?: number
  cachedContentTokenCount?: number
  thoughtsTokenCount?: number
  totalTokenCount?: number
}

export interface GeminiErrorObject {
  code?: number
  message?: string
  status?: string
  details?: { reason?: string }[]
}

export interface GeminiResponse {
  candidates?: GeminiCandidate[]
  promptFeedback?: { blockReason?: string }
  usageMetadata?: GeminiUsageMetadata
  modelVersion?: string
  responseId?: string
  /** Only in a stream: Gemini reports a failure after the 200 status as an event. */
  error?: GeminiErrorObject
}
