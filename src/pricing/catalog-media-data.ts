// The embedding and image models of the catalog, with their prices as the providers publish them and where they were read.
import type { CatalogEntryData } from './catalog-data'

const READ_ON = '2026-12-01'

/**
 * gpt-image-1 bills the output tokens of each image; OpenAI's image generation guide gives them by quality and size.
 * At $40 per 1M they are the per-image prices its model page lists (1,056 × $40/1M = $0.042 for medium 1024x1024).
 */
const GPT_IMAGE_1_OUTPUT_TOKENS = {
  low: { '1024x1024': 272, '1024x1536': 408, '1536x1024': 400 },
  medium: { '1024x1024': 1_056, '1024x1536': 1_584, '1536x1024': 1_568 },
  high: { '1024x1024': 4_160, '1024x1536': 6_240, '1536x1024': 6_208 },
} as const

// Embedding models bill input only (output 0). context_window is the most tokens one input may have.
export const MEDIA_CATALOG_DATA: readonly CatalogEntryData[] = [
  {
    id: 'openai/text-embedding-3-small',
    kind: 'embedding',
    source: `developers.openai.com/api/docs/models/text-embedding-3-small, ${READ_ON}`,
    upstreamModel: 'text-embedding-3-small',
    contextWindow: 8_192,
    maxOutputTokens: 0,
    defaultMaxTokens: 0,
    usdPer1M: { input: '0.02', output: '0' },
  },
  {
    id: 'openai/text-embedding-3-large',
    kind: 'embedding',
    source: `developers.openai.com/api/docs/models/text-embedding-3-large, ${READ_ON}`,
    upstreamModel: 'text-embedding-3-large',
    contextWindow: 8_192,
    maxOutputTokens: 0,
    defaultMaxTokens: 0,
    usdPer1M: { input: '0.13', output: '0' },
  },
  {
    id: 'google/gemini-embedding-001',
    kind: 'embedding',
    source: `ai.google.dev/gemini-api/docs/pricing (Gemini Embedding), ${READ_ON}`,
    upstreamModel: 'gemini-embedding-001',
    contextWindow: 2_048,
    maxOutputTokens: 0,
    defaultMaxTokens: 0,
    usdPer1M: { input: '0.15', output: '0' },
  },
  {
    id: 'openai/gpt-image-1',
    kind: 'image',
    source: `developers.openai.com/api/docs/models/gpt-image-1 and the image generation guide's token table, ${READ_ON}`,
    upstreamModel: 'gpt-image-1',
    contextWindow: 0,
    maxOutputTokens: 0,
    defaultMaxTokens: 0,
    // Text output is not something it produces; its output is image tokens.
    usdPer1M: { input: '5.00', cachedInput: '1.25', output: '0', imageInput: '10.00', imageOutput: '40.00' },
    imageOutputTokens: GPT_IMAGE_1_OUTPUT_TOKENS,
    imageLimits: { maxImages: 10, maxPromptChars: 32_000, defaultQuality: 'auto', defaultSize: 'auto', acceptsAuto: true },
  },
  {
    id: 'openai/dall-e-3',
    kind: 'image',
    source: `developers.openai.com/api/docs/models/dall-e-3, ${READ_ON}`,
    upstreamModel: 'dall-e-3',
    contextWindow: 0,
    maxOutputTokens: 0,
    defaultMaxTokens: 0,
    usdPer1M: { input: '0', output: '0' },
    usdPerImage: {
      standard: { '1024x1024': '0.04', '1024x1792': '0.08', '1792x1024': '0.08' },
      hd: { '1024x1024': '0.08', '1024x1792': '0.12', '1792x1024': '0.12' },
    },
    // dall-e-3 makes one image per request.
    imageLimits: { maxImages: 1, maxPromptChars: 4_000, defaultQuality: 'standard', defaultSize: '1024x1024', acceptsAuto: false },
  },
  // Built in and free: answered by the gateway itself, so a new user can try both endpoints with no provider key.
  { id: 'mock/embed', kind: 'embedding', source: 'Meterway built-in (free), 2026-12-01', upstreamModel: 'embed', contextWindow: 8_192, maxOutputTokens: 0, defaultMaxTokens: 0, usdPer1M: { input: '0', output: '0' } },
  {
    id: 'mock/image',
    kind: 'image',
    source: 'Meterway built-in (free), 2026-12-01',
    upstreamModel: 'image',
    contextWindow: 0,
    maxOutputTokens: 0,
    defaultMaxTokens: 0,
    usdPer1M: { input: '0', output: '0' },
    usdPerImage: { standard: { '256x256': '0', '512x512': '0', '1024x1024': '0' } },
    imageLimits: { maxImages: 10, maxPromptChars: 32_000, defaultQuality: 'standard', defaultSize: '256x256', acceptsAuto: false },
  },
]
