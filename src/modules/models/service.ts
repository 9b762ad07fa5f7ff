// The model list in OpenAI's format, with our limits, prices and their source as extra fields; built once from the catalog.
import type { UsdPer1M } from '../../pricing/catalog-data'
import type { Catalog, CatalogModel } from '../../pricing/catalog'

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

export function modelEntry(model: CatalogModel, catalogVersion: string) {
  const tier = model.longContext
  return {
    id: model.id,
    object: 'model' as const,
    created: CATALOG_CREATED,
    owned_by: model.provider,
    upstream_model: model.upstreamModel,
    context_window: model.contextWindow,
    max_output_tokens: model.maxOutputTokens,
    pricing: {
      currency: 'USD',
      unit: '1M tokens',
      ...pricesJson(model.displayPrices),
      // Prompts longer than the threshold bill every token of the request at these prices.
      long_context: tier ? { above_input_tokens: tier.aboveInputTokens, ...pricesJson(tier.displayPrices) } : null,
    },
    hidden_reasoning: model.hiddenReasoning,
    free: model.free,
    source: model.source,
    catalog_version: catalogVersion,
  }
}

export function modelListJson(catalog: Catalog): string {
  return JSON.stringify({ object: 'list', catalog_version: catalog.version, data: catalog.models.map((model) => modelEntry(model, catalog.version)) })
}
