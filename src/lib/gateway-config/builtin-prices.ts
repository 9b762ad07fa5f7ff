// The built-in per-request price table of `type: token-based` routes: one typical request of each catalog chat model, at catalog prices, in USDC atomic units.
import { buildCatalog, type Catalog, type CatalogModel } from '../../pricing/catalog'
import { CATALOG_DATA, CATALOG_VERSION } from '../../pricing/catalog-data'
import { USDC_DECIMALS, type Price } from './price'

/** The typical request a built-in price stands for: this many prompt tokens and this many output tokens. */
export const TYPICAL_INPUT_TOKENS = 1_000
export const TYPICAL_OUTPUT_TOKENS = 500
const NANO_PER_ATOMIC = 1_000n
const PER_MILLION = 1_000_000n

const ceilDiv = (a: bigint, b: bigint) => (a + b - 1n) / b

/** "0.0035" from 3500 atomic units. */
function usdOf(atomic: bigint): string {
  const whole = atomic / 10n ** BigInt(USDC_DECIMALS)
  const fraction = (atomic % 10n ** BigInt(USDC_DECIMALS)).toString().padStart(USDC_DECIMALS, '0').replace(/0+$/, '')
  return fraction === '' ? whole.toString() : `${whole}.${fraction}`
}

/**
 * A model's built-in price: TYPICAL_INPUT_TOKENS at its input price plus TYPICAL_OUTPUT_TOKENS at its output price
 * (nano-USD per 1M tokens, exact), rounded up to a whole USDC atomic unit ($0.000001). Null for a free model or one
 * that is not a chat model (nothing to charge by this rule).
 */
export function builtinPriceOf(model: CatalogModel): Price | null {
  if (model.kind !== 'chat' || model.free) return null
  const nano = ceilDiv(model.prices.input * BigInt(TYPICAL_INPUT_TOKENS) + model.prices.output * BigInt(TYPICAL_OUTPUT_TOKENS), PER_MILLION)
  if (nano === 0n) return null
  const atomic = ceilDiv(nano, NANO_PER_ATOMIC)
  return Object.freeze({ usd: usdOf(atomic), atomic, nano: atomic * NANO_PER_ATOMIC })
}

let defaultCatalog: Catalog | null = null

/**
 * The built-in price of a model as a request names it ("claude-haiku-4-5-20251001", "claude-haiku-4-5",
 * "anthropic/claude-haiku-4.5": whatever the catalog resolves), or null when the catalog has no priced chat model by
 * that name. `catalog` is the running one (config overrides included); the shipped catalog otherwise.
 */
export function builtinPrice(model: string, catalog?: Catalog): Price | null {
  const source = catalog ?? (defaultCatalog ??= buildCatalog(CATALOG_DATA, CATALOG_VERSION))
  const found = source.find(model)
  return found ? builtinPriceOf(found) : null
}

/** Every priced chat model of a catalog with its built-in price (the README's table is this). */
export function builtinPriceTable(catalog?: Catalog): { id: string; upstreamModel: string; price: Price }[] {
  const source = catalog ?? (defaultCatalog ??= buildCatalog(CATALOG_DATA, CATALOG_VERSION))
  return source.models.flatMap((m) => {
    const price = builtinPriceOf(m)
    return price ? [{ id: m.id, upstreamModel: m.upstreamModel, price }] : []
  })
}
