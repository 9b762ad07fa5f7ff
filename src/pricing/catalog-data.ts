// The model catalog as data: every provider/model id we serve, its upstream id, limits and USD prices per 1M tokens.
// Prices are decimal strings on purpose: they are converted once, exactly, to integer nano-USD in catalog.ts.
// Bump CATALOG_VERSION whenever a price changes: every usage row records the version it was priced at.
import { MEDIA_CATALOG_DATA } from './catalog-media-data'

export const CATALOG_VERSION = '2026-12-01.1'

export interface UsdPer1M {
  input: string
  output: string
  /** Prompt tokens read from the provider's cache; the input price when absent (no discount). */
  cachedInput?: string
  /** Prompt tokens written to the provider's cache (Anthropic's 5-minute write); the input price when absent. */
  cacheWrite?: string
  /** Image models: image tokens read; the input price when absent. */
  imageInput?: string
  /** Image models: image tokens generated; the output price when absent. */
  imageOutput?: string
}

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
  /** USD per 1M tokens. */
  usdPer1M: UsdPer1M
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
   * A price tier by prompt length: a request whose prompt (every input token, cached ones included) is longer than
   * aboveInputTokens is billed at these prices for all its tokens, output included (Gemini's >200k-token prices).
   */
  longContext?: { aboveInputTokens: number; usdPer1M: UsdPer1M }
  /**
   * The model thinks in tokens it bills as output but never streams (OpenAI o-series and gpt-5, Gemini 2.5+, Claude
   * models that think by default): a stream cannot be cut before them, so its whole output cap is held up front.
   */
  hiddenReasoning?: true
  /** The most one image can bill, by detail, where the model differs from its provider's rule (OpenAI's mini models). */
  imageMaxTokens?: { low: number; high: number }
  /** Other names the model answers to (the provider's own aliases, e.g. Anthropic's `claude-sonnet-4-5`). */
  aliases?: string[]
}

// Where each group's numbers were read (2026-12-01). OpenAI's and Google's pricing pages are rendered client-side and
// not in our search index; their numbers were read from tables that quote them, cross-checked against each other.
const OPENAI_PRICING = 'developers.openai.com/api/docs/pricing + model pages, as tabled by deploybase.ai/articles/openai-pricing (2026-03) and github/docs copilot models-and-pricing.yml; read 2026-12-01'
const OPENAI_LEGACY = 'platform.openai.com/docs/pricing (legacy models), as tabled by aimodelcalc.pages.dev (2026-05) and llmcalc.app; read 2026-12-01'
const ANTHROPIC = 'platform.claude.com/docs/en/about-claude/pricing (model pricing table) + platform.claude.com/docs/en/models/* overview pages; read 2026-12-01'
const GOOGLE = 'ai.google.dev/gemini-api/docs/pricing, as quoted by deploybase.ai (2026-03) and discuss.ai.google.dev/t/107349 (cache prices) + ai.google.dev/gemini-api/docs/models; read 2026-12-01'
const GOOGLE_3 = 'ai.google.dev/gemini-api/docs/pricing, as quoted by factquire.com (accessed 2026-07-04) + modelpedia.dev limits; read 2026-12-01'

// Image maxima (OpenAI's vision guide): gpt-4o-mini bills 2,833 tokens a low-detail image and 2,833 + 5,667 per
// 512-px tile at high detail (8 tiles at most: 48,169); the gpt-4.1 mini and nano models bill 32-px patches, at most
// 1,536, times 1.62 and 2.46. The others follow their provider's rule (see PromptProfile in each provider).
//
// Price tiers: only Gemini 2.5 Pro has one among these models (prompts over 200k tokens: every token at the higher
// prices). It is modelled exactly: the hold uses the higher tier whenever the most the prompt can bill passes the
// threshold, and the usage is billed at the tier its reported prompt falls in. Anthropic's long-context prices apply
// only with the 1M-context beta on Sonnet 4/4.5, whose window here is 200k; the 4.6+ models bill their 1M window flat.
export const CATALOG_DATA: readonly CatalogEntryData[] = [
  // OpenAI: gpt-5 family and the o-series bill hidden reasoning as output.
  { id: 'openai/gpt-5.2', upstreamModel: 'gpt-5.2', contextWindow: 400_000, maxOutputTokens: 128_000, defaultMaxTokens: 8_192, usdPer1M: { input: '1.75', output: '14.00', cachedInput: '0.175' }, hiddenReasoning: true, source: OPENAI_PRICING },
  { id: 'openai/gpt-5.1', upstreamModel: 'gpt-5.1', contextWindow: 400_000, maxOutputTokens: 128_000, defaultMaxTokens: 8_192, usdPer1M: { input: '1.25', output: '10.00', cachedInput: '0.125' }, hiddenReasoning: true, source: OPENAI_PRICING },
  { id: 'openai/gpt-5', upstreamModel: 'gpt-5', contextWindow: 400_000, maxOutputTokens: 128_000, defaultMaxTokens: 8_192, usdPer1M: { input: '1.25', output: '10.00', cachedInput: '0.125' }, hiddenReasoning: true, source: OPENAI_PRICING },
  { id: 'openai/gpt-5-mini', upstreamModel: 'gpt-5-mini', contextWindow: 400_000, maxOutputTokens: 128_000, defaultMaxTokens: 8_192, usdPer1M: { input: '0.25', output: '2.00', cachedInput: '0.025' }, hiddenReasoning: true, source: OPENAI_PRICING },
  { id: 'openai/gpt-5-nano', upstreamModel: 'gpt-5-nano', contextWindow: 400_000, maxOutputTokens: 128_000, defaultMaxTokens: 8_192, usdPer1M: { input: '0.05', output: '0.40', cachedInput: '0.005' }, hiddenReasoning: true, source: OPENAI_PRICING },
  { id: 'openai/gpt-4.1', upstreamModel: 'gpt-4.1', contextWindow: 1_047_576, maxOutputTokens: 32_768, defaultMaxTokens: 4_096, usdPer1M: { input: '2.00', output: '8.00', cachedInput: '0.50' }, source: OPENAI_PRICING },
  { id: 'openai/gpt-4.1-mini', upstreamModel: 'gpt-4.1-mini', contextWindow: 1_047_576, maxOutputTokens: 32_768, defaultMaxTokens: 4_096, usdPer1M: { input: '0.40', output: '1.60', cachedInput: '0.10' }, imageMaxTokens: { low: 2_489, high: 2_489 }, source: OPENAI_PRICING },
  { id: 'openai/gpt-4.1-nano', upstreamModel: 'gpt-4.1-nano', contextWindow: 1_047_576, maxOutputTokens: 32_768, defaultMaxTokens: 4_096, usdPer1M: { input: '0.10', output: '0.40', cachedInput: '0.025' }, imageMaxTokens: { low: 3_779, high: 3_779 }, source: OPENAI_PRICING },
  { id: 'openai/gpt-4o', upstreamModel: 'gpt-4o', contextWindow: 128_000, maxOutputTokens: 16_384, defaultMaxTokens: 4_096, usdPer1M: { input: '2.50', output: '10.00', cachedInput: '1.25' }, source: OPENAI_PRICING },
  { id: 'openai/gpt-4o-mini', upstreamModel: 'gpt-4o-mini', contextWindow: 128_000, maxOutputTokens: 16_384, defaultMaxTokens: 4_096, usdPer1M: { input: '0.15', output: '0.60', cachedInput: '0.075' }, imageMaxTokens: { low: 2_833, high: 48_169 }, source: OPENAI_PRICING },
  { id: 'openai/o3', upstreamModel: 'o3', contextWindow: 200_000, maxOutputTokens: 100_000, defaultMaxTokens: 8_192, usdPer1M: { input: '2.00', output: '8.00', cachedInput: '0.50' }, hiddenReasoning: true, source: OPENAI_PRICING },
  { id: 'openai/o4-mini', upstreamModel: 'o4-mini', contextWindow: 200_000, maxOutputTokens: 100_000, defaultMaxTokens: 8_192, usdPer1M: { input: '1.10', output: '4.40', cachedInput: '0.275' }, hiddenReasoning: true, source: OPENAI_PRICING },
  { id: 'openai/o3-mini', upstreamModel: 'o3-mini', contextWindow: 200_000, maxOutputTokens: 100_000, defaultMaxTokens: 8_192, usdPer1M: { input: '1.10', output: '4.40', cachedInput: '0.55' }, hiddenReasoning: true, source: OPENAI_LEGACY },
  { id: 'openai/o1', upstreamModel: 'o1', contextWindow: 200_000, maxOutputTokens: 100_000, defaultMaxTokens: 8_192, usdPer1M: { input: '15.00', output: '60.00', cachedInput: '7.50' }, hiddenReasoning: true, source: OPENAI_LEGACY },
  // Older models without prompt caching: cached input bills at the input price.
  { id: 'openai/gpt-4-turbo', upstreamModel: 'gpt-4-turbo', contextWindow: 128_000, maxOutputTokens: 4_096, defaultMaxTokens: 4_096, usdPer1M: { input: '10.00', output: '30.00' }, source: OPENAI_LEGACY },
  { id: 'openai/gpt-3.5-turbo', upstreamModel: 'gpt-3.5-turbo', contextWindow: 16_385, maxOutputTokens: 4_096, defaultMaxTokens: 4_096, usdPer1M: { input: '0.50', output: '1.50' }, source: OPENAI_LEGACY },

  // Anthropic: cacheWrite is the 5-minute write (1.25 × input), cachedInput the cache hit (0.1 × input). Opus 5 and
  // Sonnet 5 think by default and stream only a summary of what they bill.
  { id: 'anthropic/claude-opus-5', upstreamModel: 'claude-opus-5', contextWindow: 1_000_000, maxOutputTokens: 128_000, defaultMaxTokens: 8_192, usdPer1M: { input: '5.00', output: '25.00', cachedInput: '0.50', cacheWrite: '6.25' }, hiddenReasoning: true, source: ANTHROPIC },
  { id: 'anthropic/claude-sonnet-5', upstreamModel: 'claude-sonnet-5', contextWindow: 1_000_000, maxOutputTokens: 128_000, defaultMaxTokens: 8_192, usdPer1M: { input: '2.00', output: '10.00', cachedInput: '0.20', cacheWrite: '2.50' }, hiddenReasoning: true, source: ANTHROPIC },
  { id: 'anthropic/claude-opus-4.8', upstreamModel: 'claude-opus-4-8', contextWindow: 1_000_000, maxOutputTokens: 128_000, defaultMaxTokens: 8_192, usdPer1M: { input: '5.00', output: '25.00', cachedInput: '0.50', cacheWrite: '6.25' }, source: ANTHROPIC },
  { id: 'anthropic/claude-opus-4.6', upstreamModel: 'claude-opus-4-6', contextWindow: 1_000_000, maxOutputTokens: 128_000, defaultMaxTokens: 8_192, usdPer1M: { input: '5.00', output: '25.00', cachedInput: '0.50', cacheWrite: '6.25' }, source: ANTHROPIC },
  { id: 'anthropic/claude-sonnet-4.6', upstreamModel: 'claude-sonnet-4-6', contextWindow: 1_000_000, maxOutputTokens: 128_000, defaultMaxTokens: 8_192, usdPer1M: { input: '3.00', output: '15.00', cachedInput: '0.30', cacheWrite: '3.75' }, source: ANTHROPIC },
  { id: 'anthropic/claude-opus-4.5', upstreamModel: 'claude-opus-4-5-20251101', contextWindow: 200_000, maxOutputTokens: 64_000, defaultMaxTokens: 8_192, usdPer1M: { input: '5.00', output: '25.00', cachedInput: '0.50', cacheWrite: '6.25' }, aliases: ['claude-opus-4-5'], source: ANTHROPIC },
  { id: 'anthropic/claude-sonnet-4.5', upstreamModel: 'claude-sonnet-4-5-20250929', contextWindow: 200_000, maxOutputTokens: 64_000, defaultMaxTokens: 8_192, usdPer1M: { input: '3.00', output: '15.00', cachedInput: '0.30', cacheWrite: '3.75' }, aliases: ['claude-sonnet-4-5'], source: ANTHROPIC },
  { id: 'anthropic/claude-haiku-4.5', upstreamModel: 'claude-haiku-4-5-20251001', contextWindow: 200_000, maxOutputTokens: 64_000, defaultMaxTokens: 8_192, usdPer1M: { input: '1.00', output: '5.00', cachedInput: '0.10', cacheWrite: '1.25' }, aliases: ['claude-haiku-4-5'], source: ANTHROPIC },
  { id: 'anthropic/claude-opus-4.1', upstreamModel: 'claude-opus-4-1-20250805', contextWindow: 200_000, maxOutputTokens: 32_000, defaultMaxTokens: 8_192, usdPer1M: { input: '15.00', output: '75.00', cachedInput: '1.50', cacheWrite: '18.75' }, aliases: ['claude-opus-4-1'], source: ANTHROPIC },
  { id: 'anthropic/claude-opus-4', upstreamModel: 'claude-opus-4-20250514', contextWindow: 200_000, maxOutputTokens: 32_000, defaultMaxTokens: 8_192, usdPer1M: { input: '15.00', output: '75.00', cachedInput: '1.50', cacheWrite: '18.75' }, aliases: ['claude-opus-4-0'], source: ANTHROPIC },
  { id: 'anthropic/claude-sonnet-4', upstreamModel: 'claude-sonnet-4-20250514', contextWindow: 200_000, maxOutputTokens: 64_000, defaultMaxTokens: 8_192, usdPer1M: { input: '3.00', output: '15.00', cachedInput: '0.30', cacheWrite: '3.75' }, aliases: ['claude-sonnet-4-0'], source: ANTHROPIC },
  { id: 'anthropic/claude-3.7-sonnet', upstreamModel: 'claude-3-7-sonnet-20250219', contextWindow: 200_000, maxOutputTokens: 64_000, defaultMaxTokens: 8_192, usdPer1M: { input: '3.00', output: '15.00', cachedInput: '0.30', cacheWrite: '3.75' }, aliases: ['claude-3-7-sonnet-latest'], source: ANTHROPIC },
  { id: 'anthropic/claude-3.5-haiku', upstreamModel: 'claude-3-5-haiku-20241022', contextWindow: 200_000, maxOutputTokens: 8_192, defaultMaxTokens: 8_192, usdPer1M: { input: '0.80', output: '4.00', cachedInput: '0.08', cacheWrite: '1.00' }, aliases: ['claude-3-5-haiku-latest'], source: ANTHROPIC },
  { id: 'anthropic/claude-3-haiku', upstreamModel: 'claude-3-haiku-20240307', contextWindow: 200_000, maxOutputTokens: 4_096, defaultMaxTokens: 4_096, usdPer1M: { input: '0.25', output: '1.25', cachedInput: '0.03', cacheWrite: '0.30' }, source: ANTHROPIC },

  // Google: output prices include thinking tokens; 2.5+ models think (2.5 Flash-Lite only when asked).
  { id: 'google/gemini-3-flash-preview', upstreamModel: 'gemini-3-flash-preview', contextWindow: 1_048_576, maxOutputTokens: 65_536, defaultMaxTokens: 8_192, usdPer1M: { input: '0.50', output: '3.00', cachedInput: '0.05' }, hiddenReasoning: true, source: GOOGLE_3 },
  { id: 'google/gemini-2.5-pro', upstreamModel: 'gemini-2.5-pro', contextWindow: 1_048_576, maxOutputTokens: 65_536, defaultMaxTokens: 8_192, usdPer1M: { input: '1.25', output: '10.00', cachedInput: '0.125' }, longContext: { aboveInputTokens: 200_000, usdPer1M: { input: '2.50', output: '15.00', cachedInput: '0.25' } }, hiddenReasoning: true, source: GOOGLE },
  { id: 'google/gemini-2.5-flash', upstreamModel: 'gemini-2.5-flash', contextWindow: 1_048_576, maxOutputTokens: 65_536, defaultMaxTokens: 8_192, usdPer1M: { input: '0.30', output: '2.50', cachedInput: '0.03' }, hiddenReasoning: true, source: GOOGLE },
  { id: 'google/gemini-2.5-flash-lite', upstreamModel: 'gemini-2.5-flash-lite', contextWindow: 1_048_576, maxOutputTokens: 65_536, defaultMaxTokens: 8_192, usdPer1M: { input: '0.10', output: '0.40', cachedInput: '0.01' }, hiddenReasoning: true, source: GOOGLE },
  { id: 'google/gemini-2.0-flash', upstreamModel: 'gemini-2.0-flash', contextWindow: 1_048_576, maxOutputTokens: 8_192, defaultMaxTokens: 8_192, usdPer1M: { input: '0.10', output: '0.40', cachedInput: '0.025' }, source: GOOGLE },
  { id: 'google/gemini-2.0-flash-lite', upstreamModel: 'gemini-2.0-flash-lite', contextWindow: 1_048_576, maxOutputTokens: 8_192, defaultMaxTokens: 8_192, usdPer1M: { input: '0.075', output: '0.30' }, source: GOOGLE },

  // Built in and free: answered by the gateway itself, so a new user can stream with no provider key.
  { id: 'mock/echo', upstreamModel: 'echo', contextWindow: 1_000_000, maxOutputTokens: 100_000, defaultMaxTokens: 4_096, usdPer1M: { input: '0', output: '0' }, source: 'Meterway built-in (free), 2026-11-22' },
  ...MEDIA_CATALOG_DATA,
]
