// Token counting with tiktoken: one o200k encoder built at boot, used to measure prompts and count streamed output.
import { get_encoding } from 'tiktoken'

// o200k_base is OpenAI's current encoding; for Anthropic and Gemini it is an estimate that provider usage later replaces.
const encoder = get_encoding('o200k_base')

export function countTextTokens(text: string): number {
  // encode_ordinary: user text containing "<|endoftext|>" is text, not a special token, and this path is 4× faster.
  return text.length === 0 ? 0 : encoder.encode_ordinary(text).length
}

/**
 * Counts of message texts by a 64-bit hash of the text. A call into tiktoken's WASM costs microseconds even for a word,
 * and agents re-send the same system prompt and the whole history on every turn: each text is tokenized once.
 */
const countsByHash = new Map<bigint | number, number>()
const MAX_CACHED_TEXTS = 50_000

/** A count remembered for this text, if any. */
export function knownCount(text: string): number | undefined {
  return countsByHash.get(Bun.hash(text))
}

export function rememberCount(text: string, tokens: number): void {
  // Cleared whole when full: simpler than LRU, and a refill costs one tokenization per text.
  if (countsByHash.size >= MAX_CACHED_TEXTS) countsByHash.clear()
  countsByHash.set(Bun.hash(text), tokens)
}

/** countTextTokens, remembered by a hash of the text: prompts repeat the same system prompt and history every turn. */
export function countCachedText(text: string): number {
  if (text.length === 0) return 0
  const cached = knownCount(text)
  if (cached !== undefined) return cached
  const tokens = countTextTokens(text)
  rememberCount(text, tokens)
  return tokens
}
