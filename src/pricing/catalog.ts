// The catalog loaded once: entries with integer nano-USD prices, looked up by id (or an unambiguous bare model name).
import { CATALOG_DATA, CATALOG_VERSION, type CatalogEntryData, type ModelKind } from './catalog-data'
import { buildImagePricing, type ImagePricing } from './images'
import { parseUsdToNano } from './money'

export type { ModelKind } from './catalog-data'
const KINDS: readonly ModelKind[] = ['chat', 'embedding', 'image']

export type ProviderId = 'openai' | 'anthropic' | 'google' | 'mock'
const PROVIDERS: readonly ProviderId[] = ['openai', 'anthropic', 'google', 'mock']

/** Integer nano-USD per 1M tokens. */
export interface ModelPrices {
  input: bigint
  cachedInput: bigint
  cacheWrite: bigint
  output: bigint
  /** Image tokens read (image models; the input price elsewhere). */
  imageInput: bigint
  /** Image tokens generated (image models; the output price elsewhere). */
  imageOutput: bigint
}

export interface CatalogModel {
  id: string
  kind: ModelKind
  provider: ProviderId
  /** Where the prices were read, and when; null where the catalog does not say. */
  source: string | null
  upstreamModel: string
  contextWindow: number
  maxOutputTokens: number
  defaultMaxTokens: number
  prices: ModelPrices
  /** USD per 1M tokens as written in the catalog, for display. */
  displayPrices: CatalogEntryData['usdPer1M']
  free: boolean
  /** Bills reasoning it does not stream: a stream's whole output cap is held up front. */
  hiddenReasoning: boolean
  /** Per-model image maximum, when it differs from the provider's rule. */
  imageMaxTokens: { low: number; high: number } | null
  /** Image models: the sizes and qualities they take, per-image prices or output tokens, limits. Null for the others. */
  images: ImagePricing | null
}

export interface Catalog {
  version: string
  models: readonly CatalogModel[]
  find(id: string): CatalogModel | undefined
}

function toModel(entry: CatalogEntryData): CatalogModel {
  const provider = entry.id.slice(0, entry.id.indexOf('/')) as ProviderId
  if (!PROVIDERS.includes(provider)) throw new Error(`catalog entry ${entry.id}: unknown provider`)
  const kind = entry.kind ?? 'chat'
  if (!KINDS.includes(kind)) throw new Error(`catalog entry ${entry.id}: unknown kind ${kind}`)
  const input = parseUsdToNano(entry.usdPer1M.input)
  const output = parseUsdToNano(entry.usdPer1M.output)
  const prices: ModelPrices = {
    input,
    output,
    cachedInput: entry.usdPer1M.cachedInput === undefined ? input : parseUsdToNano(entry.usdPer1M.cachedInput),
    cacheWrite: entry.usdPer1M.cacheWrite === undefined ? input : parseUsdToNano(entry.usdPer1M.cacheWrite),
    imageInput: entry.usdPer1M.imageInput === undefined ? input : parseUsdToNano(entry.usdPer1M.imageInput),
    imageOutput: entry.usdPer1M.imageOutput === undefined ? output : parseUsdToNano(entry.usdPer1M.imageOutput),
  }
  const images = kind === 'image' ? buildImagePricing(entry) : null
  const perImageFree = images?.perImageNano ? [...images.perImageNano.values()].every((nano) => nano === 0n) : true
  return Object.freeze({
    id: entry.id,
    kind,
    provider,
    source: entry.source ?? null,
    upstreamModel: entry.upstreamModel,
    contextWindow: entry.contextWindow,
    maxOutputTokens: entry.maxOutputTokens,
    defaultMaxTokens: Math.min(entry.defaultMaxTokens, entry.maxOutputTokens),
    prices: Object.freeze(prices),
    displayPrices: entry.usdPer1M,
    free: prices.input === 0n && prices.output === 0n && prices.imageInput === 0n && prices.imageOutput === 0n && perImageFree,
    hiddenReasoning: entry.hiddenReasoning === true,
    imageMaxTokens: entry.imageMaxTokens ?? null,
    images,
  })
}

export function buildCatalog(data: readonly CatalogEntryData[] = CATALOG_DATA, version = CATALOG_VERSION): Catalog {
  const models = data.map(toModel)
  const byId = new Map<string, CatalogModel>()
  const bareNames = new Map<string, CatalogModel | null>()
  for (const model of models) {
    if (byId.has(model.id)) throw new Error(`catalog: duplicate id ${model.id}`)
    byId.set(model.id, model)
    const bare = model.id.slice(model.provider.length + 1)
    // A bare name that two providers share is ambiguous and resolves to nothing.
    bareNames.set(bare, bareNames.has(bare) ? null : model)
  }
  return {
    version,
    models,
    find: (id) => byId.get(id) ?? bareNames.get(id) ?? undefined,
  }
}
