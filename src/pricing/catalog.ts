// The catalog loaded once: entries with integer nano-USD prices, looked up by id, unambiguous bare name, upstream id or alias.
import { createHash } from 'node:crypto'
import { CATALOG_DATA, CATALOG_VERSION, type CatalogEntryData, type ModelKind, type UsdPer1M } from './catalog-data'
import { assertEntry, assertOverrides, CatalogError } from './catalog-schema'
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
  displayPrices: UsdPer1M
  /** Prompts longer than aboveInputTokens bill every token at these prices instead; null: one price for any prompt. */
  longContext: { aboveInputTokens: number; prices: ModelPrices; displayPrices: UsdPer1M } | null
  free: boolean
  /** Bills reasoning it does not stream: a stream's whole output cap is held up front. */
  hiddenReasoning: boolean
  /** Per-model image maximum, when it differs from the provider's rule. */
  imageMaxTokens: { low: number; high: number } | null
  /** Other names the model answers to (besides its bare name and upstream id, when unambiguous). */
  aliases: readonly string[]
  /** Image models: the sizes and qualities they take, per-image prices or output tokens, limits. Null for the others. */
  images: ImagePricing | null
}

export interface Catalog {
  version: string
  models: readonly CatalogModel[]
  find(id: string): CatalogModel | undefined
}

/** The prices a request with this many prompt tokens (cached ones included) is billed at. */
export function pricesAt(model: CatalogModel, promptTokens: number): ModelPrices {
  const tier = model.longContext
  return tier !== null && promptTokens > tier.aboveInputTokens ? tier.prices : model.prices
}

function toPrices(usd: UsdPer1M): ModelPrices {
  const input = parseUsdToNano(usd.input)
  const output = parseUsdToNano(usd.output)
  return Object.freeze({
    input,
    output,
    cachedInput: usd.cachedInput === undefined ? input : parseUsdToNano(usd.cachedInput),
    cacheWrite: usd.cacheWrite === undefined ? input : parseUsdToNano(usd.cacheWrite),
    imageInput: usd.imageInput === undefined ? input : parseUsdToNano(usd.imageInput),
    imageOutput: usd.imageOutput === undefined ? output : parseUsdToNano(usd.imageOutput),
  })
}

function toModel(entry: CatalogEntryData): CatalogModel {
  assertEntry(entry)
  const provider = entry.id.slice(0, entry.id.indexOf('/')) as ProviderId
  if (!PROVIDERS.includes(provider)) throw new CatalogError(`catalog entry ${entry.id}: unknown provider`)
  const kind = entry.kind ?? 'chat'
  if (!KINDS.includes(kind)) throw new CatalogError(`catalog entry ${entry.id}: unknown kind ${kind}`)
  const prices = toPrices(entry.usdPer1M)
  const tier = entry.longContext
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
    prices,
    displayPrices: entry.usdPer1M,
    longContext: tier ? Object.freeze({ aboveInputTokens: tier.aboveInputTokens, prices: toPrices(tier.usdPer1M), displayPrices: tier.usdPer1M }) : null,
    free: prices.input === 0n && prices.output === 0n && prices.imageInput === 0n && prices.imageOutput === 0n && perImageFree,
    hiddenReasoning: entry.hiddenReasoning === true,
    imageMaxTokens: entry.imageMaxTokens ?? null,
    aliases: Object.freeze([...(entry.aliases ?? [])]),
    images,
  })
}

/** The built-in entries with the overrides applied: an existing id is changed field by field, a new id is added. */
function applyOverrides(data: readonly CatalogEntryData[], overrides: unknown): CatalogEntryData[] {
  assertOverrides(overrides)
  const entries = [...data]
  for (const override of overrides) {
    const at = entries.findIndex((entry) => entry.id === override.id)
    const base = at === -1 ? undefined : entries[at]
    const merged = { ...base, ...override, usdPer1M: { ...base?.usdPer1M, ...override.usdPer1M } }
    // An override of prices does not keep the old source: the numbers now come from the config that set them.
    if (base && override.usdPer1M && override.source === undefined) delete merged.source
    if (at === -1) entries.push(merged as CatalogEntryData)
    else entries[at] = merged as CatalogEntryData
  }
  return entries
}

/**
 * Builds the catalog. `overrides` (a config file's `models:` section, unvalidated) may change or add entries; the
 * version then carries a digest of them, so every usage row names the exact prices it was charged.
 */
export function buildCatalog(data: readonly CatalogEntryData[] = CATALOG_DATA, version = CATALOG_VERSION, overrides: unknown = []): Catalog {
  const hasOverrides = !(Array.isArray(overrides) && overrides.length === 0)
  const models = (hasOverrides ? applyOverrides(data, overrides) : data).map(toModel)
  const byId = new Map<string, CatalogModel>()
  for (const model of models) {
    if (byId.has(model.id)) throw new CatalogError(`catalog: duplicate id ${model.id}`)
    byId.set(model.id, model)
  }
  // Other names: bare name, upstream id, aliases. A name two models claim is ambiguous and resolves to nothing.
  const aliases = new Map<string, CatalogModel | null>()
  for (const model of models) {
    const bare = model.id.slice(model.provider.length + 1)
    const names = new Set([bare, model.upstreamModel, ...model.aliases])
    for (const name of names) {
      if (byId.has(name)) continue
      const seen = aliases.get(name)
      aliases.set(name, seen === undefined || seen === model ? model : null)
    }
  }
  const digest = hasOverrides ? `+${createHash('sha256').update(JSON.stringify(overrides)).digest('hex').slice(0, 8)}` : ''
  return {
    version: `${version}${digest}`,
    models,
    find: (id) => byId.get(id) ?? aliases.get(id) ?? undefined,
  }
}
