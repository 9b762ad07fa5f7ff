// The model list in OpenAI's format, with our kind, limits, prices and their source as extra fields; built once from the catalog.
import type { UsdPer1M } from '../../pricing/catalog-data'
import type { Catalog, CatalogModel } from '../../pricing/catalog'
import type { CatalogEntryData } from '../../pricing/catalog-data'
import { formatNanoAsUsd } from '../../pricing/money'

// The catalog's publication date, so `created` is stable across restarts.
const CATALOG_CREATED = 1_763_769_600

/** USD per 1M tokens as decimal strings; cached input and cache writes show the price they bill at (the input price when the provider gives no discount). */
function pricesJson(usd: UsdPer1M) {
  return {
    input: usd.input,
    output: usd.output,
    cached_input: usd.cachedInput ?? usd.input,
    cache_write: usd.cacheWrite ?? usd.input,
  }
}

/** "hd/1024x1792" → { hd: { "1024x1792": value } }. */
function byQualityAndSize<T, U>(table: ReadonlyMap<string, T>, convert: (value: T) => U): Record<string, Record<string, U>> {
  const out: Record<string, Record<string, U>> = {}
  for (const [tier, value] of table) {
    const [quality, size] = tier.split('/') as [string, string]
    ;(out[quality] ??= {})[size] = convert(value)
  }
  return out
}

function imagePricing(model: CatalogModel, display: CatalogEntryData['usdPer1M']) {
  const images = model.images
  if (!images) return {}
  return {
    ...(display.imageInput ? { image_input: display.imageInput } : {}),
    ...(display.imageOutput ? { image_output: display.imageOutput } : {}),
    ...(images.perImageNano ? { per_image: byQualityAndSize(images.perImageNano, formatNanoAsUsd) } : {}),
    ...(images.outputTokens ? { image_output_tokens: byQualityAndSize(images.outputTokens, (tokens: number) => tokens) } : {}),
  }
}

export function modelEntry(model: CatalogModel, catalogVersion: string) {
  const tier = model.longContext
  return {
    id: model.id,
    object: 'model' as const,
    created: CATALOG_CREATED,
    owned_by: model.provider,
    kind: model.kind,
    upstream_model: model.upstreamModel,
    context_window: model.contextWindow,
    max_output_tokens: model.maxOutputTokens,
    pricing: {
      currency: 'USD',
      unit: '1M tokens',
      ...pricesJson(model.displayPrices),
      // Prompts longer than the threshold bill every token of the request at these prices.
      long_context: tier ? { above_input_tokens: tier.aboveInputTokens, ...pricesJson(tier.displayPrices) } : null,
      ...imagePricing(model, model.displayPrices),
    },
    ...(model.images
      ? { images: { sizes: model.images.sizes, qualities: model.images.qualities, accepts_auto: model.images.acceptsAuto, max_images: model.images.maxImages } }
      : {}),
    hidden_reasoning: model.hiddenReasoning,
    free: model.free,
    source: model.source,
    catalog_version: catalogVersion,
  }
}

export function modelListJson(catalog: Catalog): string {
  return JSON.stringify({ object: 'list', catalog_version: catalog.version, data: catalog.models.map((model) => modelEntry(model, catalog.version)) })
}
