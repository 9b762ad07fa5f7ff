// Turns a Gemini functionCall into an OpenAI tool call, minting the call id Gemini does not give.
import type { OpenAiToolCall } from '../openai-format'
import type { GeminiFunctionCall } from './wire'

const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'
const ID_LENGTH = 24

/** OpenAI clients echo the id back on the tool message; the request translator maps it to the function name again. */
export function newToolCallId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(ID_LENGTH))
  let id = 'call_'
  // The modulo bias over 62 symbols is irrelevant: ids need to be unique, not uniform.
  for (const byte of bytes) id += ID_ALPHABET[byte % ID_ALPHABET.length]
  return id
}

export function toOpenAiToolCall(call: GeminiFunctionCall): OpenAiToolCall {
  return {
    id: newToolCallId(),
    type: 'function',
    function: { name: call.name ?? '', arguments: JSON.stringify(call.args ?? {}) },
  }
}
