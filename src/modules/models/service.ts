// The model list in OpenAI's format, with our limits and prices as extra fields; built once from the catalog.
import type { Catalog, CatalogModel } from '../../pricing/catalog'

// The catalog's publication date, so `created` is stable across restarts.
const CATALOG_CREATED = 1_763_769_600

export function modelEntry(model: CatalogModel) {
  return {
    id: model.id,
    object: 'model' as const,
    created: CATALOG_CREATED,
    owned_by: model.provider,
    context_window: model.contextWindow,
    max_output_tokens: model.maxOutputTokens,
    pricing: {
      currency: 'USD',
      unit: '1M tokens',
      input: model.displayPrices.input,
      output: model.displayPrices.output,
      cached_input: model.displayPrices.cachedInput ?? model.displayPrices.input,
    },
    free: model.free,
  }
}

export function modelListJson(catalog: Catalog): string {
  return JSON.stringify({ object: 'list', data: catalog.models.map(modelEntry) })
}
