// The model list in OpenAI's format, with our kind, limits, prices and their source as extra fields; built once from the catalog.
import type { Catalog, CatalogModel } from '../../pricing/catalog'
import type { CatalogEntryData } from '../../pricing/catalog-data'
import { formatNanoAsUsd } from '../../pricing/money'

// The catalog's publication date, so `created` is stable across restarts.
const CATALOG_CREATED = 1_763_769_600

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

export function modelEntry(model: CatalogModel) {
  return {
    id: model.id,
    object: 'model' as const,
    created: CATALOG_CREATED,
    owned_by: model.provider,
    kind: model.kind,
    context_window: model.contextWindow,
    max_output_tokens: model.maxOutputTokens,
    pricing: {
      currency: 'USD',
      unit: '1M tokens',
      input: model.displayPrices.input,
      output: model.displayPrices.output,
      cached_input: model.displayPrices.cachedInput ?? model.displayPrices.input,
      ...imagePricing(model, model.displayPrices),
    },
    ...(model.images
      ? { images: { sizes: model.images.sizes, qualities: model.images.qualities, accepts_auto: model.images.acceptsAuto, max_images: model.images.maxImages } }
      : {}),
    free: model.free,
    source: model.source,
  }
}

export function modelListJson(catalog: Catalog): string {
  return JSON.stringify({ object: 'list', data: catalog.models.map(modelEntry) })
}
