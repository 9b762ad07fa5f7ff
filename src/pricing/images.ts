// Image models' price tables, loaded once: what one image of a quality and size costs (per-image models) or bills in
// output tokens (token models), and the most it can cost when the request leaves either to the provider ("auto").
import type { ByQualityAndSize, CatalogEntryData } from './catalog-data'
import { parseUsdToNano } from './money'

/** The value that lets the provider pick the quality or the size. */
export const AUTO = 'auto'

export interface ImagePricing {
  /** Qualities and sizes the model takes (without "auto"). */
  qualities: readonly string[]
  sizes: readonly string[]
  /** The provider picks the quality or size when asked "auto" (gpt-image-1); the hold then takes the largest. */
  acceptsAuto: boolean
  defaultQuality: string
  defaultSize: string
  maxImages: number
  maxPromptChars: number
  /** nano-USD per image by tier (imageTier): per-image models only. */
  perImageNano: ReadonlyMap<string, bigint> | null
  /** Output tokens one image bills, by tier: token-billed models only. */
  outputTokens: ReadonlyMap<string, number> | null
}

/** The key of one quality and size in the tables, and in usage records: "hd/1024x1792". */
export const imageTier = (quality: string, size: string) => `${quality}/${size}`

function flatten<T, U>(table: ByQualityAndSize<T>, convert: (value: T) => U): Map<string, U> {
  const out = new Map<string, U>()
  for (const [quality, bySize] of Object.entries(table)) for (const [size, value] of Object.entries(bySize)) out.set(imageTier(quality, size), convert(value))
  return out
}

export function buildImagePricing(entry: CatalogEntryData): ImagePricing {
  const limits = entry.imageLimits
  const table = entry.usdPerImage ?? entry.imageOutputTokens
  if (!limits || !table || (entry.usdPerImage && entry.imageOutputTokens)) {
    throw new Error(`catalog entry ${entry.id}: an image model needs imageLimits and exactly one of usdPerImage or imageOutputTokens`)
  }
  // A per-image price is settled at the tier asked for: "auto" would leave it to the provider, so only token models take it.
  if (entry.usdPerImage && limits.acceptsAuto) throw new Error(`catalog entry ${entry.id}: a model priced per image cannot take "auto"`)
  const qualities = Object.keys(table)
  const sizes = [...new Set(qualities.flatMap((quality) => Object.keys(table[quality]!)))]
  const pricing: ImagePricing = {
    qualities,
    sizes,
    acceptsAuto: limits.acceptsAuto,
    defaultQuality: limits.defaultQuality,
    defaultSize: limits.defaultSize,
    maxImages: limits.maxImages,
    maxPromptChars: limits.maxPromptChars,
    perImageNano: entry.usdPerImage ? flatten(entry.usdPerImage, parseUsdToNano) : null,
    outputTokens: entry.imageOutputTokens ? flatten(entry.imageOutputTokens, (tokens: number) => tokens) : null,
  }
  const takes = (value: string, list: readonly string[]) => list.includes(value) || (limits.acceptsAuto && value === AUTO)
  if (!takes(limits.defaultQuality, qualities) || !takes(limits.defaultSize, sizes)) {
    throw new Error(`catalog entry ${entry.id}: the default quality and size must be in its table`)
  }
  return Object.freeze(pricing)
}

/** The tiers a quality and size may turn out to be: one, or several where either is "auto". */
function tiersOf(pricing: ImagePricing, quality: string, size: string): string[] {
  const qualities = quality === AUTO ? pricing.qualities : [quality]
  const sizes = size === AUTO ? pricing.sizes : [size]
  return qualities.flatMap((q) => sizes.map((s) => imageTier(q, s)))
}

/** The most one image of this quality and size can cost (per-image models), in nano-USD; undefined if not in the table. */
export function mostPerImageNano(pricing: ImagePricing, quality: string, size: string): bigint | undefined {
  let most: bigint | undefined
  for (const tier of tiersOf(pricing, quality, size)) {
    const nano = pricing.perImageNano?.get(tier)
    if (nano !== undefined && (most === undefined || nano > most)) most = nano
  }
  return most
}

/** The most output tokens one image of this quality and size can bill (token models); undefined if not in the table. */
export function mostOutputTokens(pricing: ImagePricing, quality: string, size: string): number | undefined {
  let most: number | undefined
  for (const tier of tiersOf(pricing, quality, size)) {
    const tokens = pricing.outputTokens?.get(tier)
    if (tokens !== undefined && (most === undefined || tokens > most)) most = tokens
  }
  return most
}
