// The model catalog as data: every provider/model id we serve, its upstream id, limits and USD prices per 1M tokens.
// Prices are decimal strings on purpose: they are converted once, exactly, to integer nano-USD in catalog.ts.
// Bump CATALOG_VERSION whenever a price changes: every usage row records the version it was priced at.
import { MEDIA_CATALOG_DATA } from './catalog-media-data'

export const CATALOG_VERSION = '2026-12-01.1'

/** What an endpoint serves: chat (/v1/chat/completions), embedding (/v1/embeddings) or image (/v1/images/generations). */
export type ModelKind = 'chat' | 'embedding' | 'image'

/** A table by image quality, then size ("1024x1024"): what one image of that quality and size costs or bills. */
export type ByQualityAndSize<T> = Readonly<Record<string, Readonly<Record<string, T>>>>

export interface CatalogEntryData {
  id: string
  /** Default chat. */
  kind?: ModelKind
  /** Where the prices and limits were read, and when: "platform.openai.com/docs/pricing, 2026-12-01". */
  source?: string
  upstreamModel: string
  contextWindow: number
  maxOutputTokens: number
  /** Output tokens we ask for (and hold for) when the request gives no max_tokens; capped at maxOutputTokens. */
  defaultMaxTokens: number
  /** USD per 1M tokens. cachedInput: prompt tokens read from the provider's cache; cacheWrite: tokens written to it. */
  usdPer1M: { input: string; output: string; cachedInput?: string; cacheWrite?: string; imageInput?: string; imageOutput?: string }
  /** Image models priced per image (dall-e-3): USD per image by quality and size. Also the sizes and qualities it takes. */
  usdPerImage?: ByQualityAndSize<string>
  /**
   * Image models billed by tokens (gpt-image-1): the output tokens one image bills by quality and size, from the
   * provider's table; the hold takes the largest the request allows. Also the sizes and qualities it takes.
   */
  imageOutputTokens?: ByQualityAndSize<number>
  /** Image models: how many images one request may ask for, and the longest prompt (characters) the provider takes. */
  imageLimits?: { maxImages: number; maxPromptChars: number; defaultQuality: string; defaultSize: string; acceptsAuto: boolean }
  /**
   * The model thinks in tokens it bills as output but never streams (OpenAI o-series, Gemini 2.5): a stream cannot be
   * cut before them, so its whole output cap is held up front instead of slice by slice.
   */
  hiddenReasoning?: true
  /** The most one image can bill, by detail, where the model differs from its provider's rule (OpenAI's mini models). */
  imageMaxTokens?: { low: number; high: number }
}

// Image maxima (OpenAI's vision guide): gpt-4o-mini bills 2,833 tokens a low-detail image and 2,833 + 5,667 per
// 512-px tile at high detail (8 tiles at most: 48,169); the gpt-4.1 mini and nano models bill 32-px patches, at most
// 1,536, times 1.62 and 2.46. The others follow their provider's rule (see PromptProfile in each provider).
export const CATALOG_DATA: readonly CatalogEntryData[] = [
  { id: 'openai/gpt-4o', upstreamModel: 'gpt-4o', contextWindow: 128_000, maxOutputTokens: 16_384, defaultMaxTokens: 4_096, usdPer1M: { input: '2.50', output: '10.00', cachedInput: '1.25' } },
  { id: 'openai/gpt-4o-mini', upstreamModel: 'gpt-4o-mini', contextWindow: 128_000, maxOutputTokens: 16_384, defaultMaxTokens: 4_096, usdPer1M: { input: '0.15', output: '0.60', cachedInput: '0.075' }, imageMaxTokens: { low: 2_833, high: 48_169 } },
  { id: 'openai/gpt-4.1', upstreamModel: 'gpt-4.1', contextWindow: 1_047_576, maxOutputTokens: 32_768, defaultMaxTokens: 4_096, usdPer1M: { input: '2.00', output: '8.00', cachedInput: '0.50' } },
  { id: 'openai/gpt-4.1-mini', upstreamModel: 'gpt-4.1-mini', contextWindow: 1_047_576, maxOutputTokens: 32_768, defaultMaxTokens: 4_096, usdPer1M: { input: '0.40', output: '1.60', cachedInput: '0.10' }, imageMaxTokens: { low: 2_489, high: 2_489 } },
  { id: 'openai/gpt-4.1-nano', upstreamModel: 'gpt-4.1-nano', contextWindow: 1_047_576, maxOutputTokens: 32_768, defaultMaxTokens: 4_096, usdPer1M: { input: '0.10', output: '0.40', cachedInput: '0.025' }, imageMaxTokens: { low: 3_779, high: 3_779 } },
  { id: 'openai/o3-mini', upstreamModel: 'o3-mini', contextWindow: 200_000, maxOutputTokens: 100_000, defaultMaxTokens: 8_192, usdPer1M: { input: '1.10', output: '4.40', cachedInput: '0.55' }, hiddenReasoning: true },
  { id: 'anthropic/claude-sonnet-4', upstreamModel: 'claude-sonnet-4-20250514', contextWindow: 200_000, maxOutputTokens: 64_000, defaultMaxTokens: 8_192, usdPer1M: { input: '3.00', output: '15.00', cachedInput: '0.30', cacheWrite: '3.75' } },
  { id: 'anthropic/claude-sonnet-4.5', upstreamModel: 'claude-sonnet-4-5-20250929', contextWindow: 200_000, maxOutputTokens: 64_000, defaultMaxTokens: 8_192, usdPer1M: { input: '3.00', output: '15.00', cachedInput: '0.30', cacheWrite: '3.75' } },
  { id: 'anthropic/claude-haiku-4.5', upstreamModel: 'claude-haiku-4-5-20251001', contextWindow: 200_000, maxOutputTokens: 64_000, defaultMaxTokens: 8_192, usdPer1M: { input: '0.80', output: '4.00', cachedInput: '0.08', cacheWrite: '1.00' } },
  { id: 'google/gemini-2.0-flash', upstreamModel: 'gemini-2.0-flash', contextWindow: 1_048_576, maxOutputTokens: 8_192, defaultMaxTokens: 8_192, usdPer1M: { input: '0.10', output: '0.40', cachedInput: '0.025' } },
  { id: 'google/gemini-2.5-flash', upstreamModel: 'gemini-2.5-flash', contextWindow: 1_048_576, maxOutputTokens: 65_536, defaultMaxTokens: 8_192, usdPer1M: { input: '0.15', output: '0.60', cachedInput: '0.0375' }, hiddenReasoning: true },
  { id: 'google/gemini-2.5-pro', upstreamModel: 'gemini-2.5-pro', contextWindow: 1_048_576, maxOutputTokens: 65_536, defaultMaxTokens: 8_192, usdPer1M: { input: '1.25', output: '10.00', cachedInput: '0.3125' }, hiddenReasoning: true },
  // Built in and free: answered by the gateway itself, so a new user can stream with no provider key.
  { id: 'mock/echo', upstreamModel: 'echo', contextWindow: 1_000_000, maxOutputTokens: 100_000, defaultMaxTokens: 4_096, usdPer1M: { input: '0', output: '0' } },
  ...MEDIA_CATALOG_DATA,
]
