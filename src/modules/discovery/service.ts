// The discovery document of /.well-known/x402: every paid route of the config file with its pricing, the accepted payments and the facilitator.
import { formatMarkup } from '../../lib/gateway-config/markup'
import type { GatewayFile, Price, RouteConfig, RoutePricing } from '../../lib/gateway-config/types'

/**
 * Where payments go and in what (the x402 branch's PaymentTerms has this shape): one option per accepted network,
 * with that network's USDC contract and EIP-712 domain.
 */
export interface DiscoveryTerms {
  options: readonly { asset: { caip2: string; address: string; domain: { name: string; version: string } }; payTo: string }[]
  maxTimeoutSeconds: number
}

export interface DiscoveryInput {
  file: GatewayFile
  terms: DiscoveryTerms
}

/** Prices as both forms a client may want: the USD decimal and the x402 amount (USDC atomic units). */
const price = (p: Price) => ({ usd: p.usd, amount: p.atomic.toString() })

/** A sentence about the built-in per-request table, so a reader knows a model missing from `models` may still be priced. */
export const BUILT_IN_TABLE_NOTE =
  "A model not in `models` is looked up in Meterway's built-in per-request table (derived from its catalog, see the README), then priced at `fallback`."

export const METERED_NOTE =
  'Paid by the tokens used: the 402 quotes the worst case (prompt estimate plus output cap at the catalog prices, plus the markup) with scheme upto; after the answer the actual cost is settled (nano-USD rounded up to atomic units), never more than the signed maximum, nothing when it is zero. A client that speaks only exact pays the quoted worst case.'

function pricing(p: RoutePricing) {
  switch (p.kind) {
    case 'static':
      return { type: 'static', price: price(p.price) }
    case 'match':
      return {
        type: 'match',
        // Globs as written: `*` any run of characters, `?` one.
        rules: p.rules.map((rule) => ({ where: Object.fromEntries(rule.where.map((w) => [`${w.source}.${w.field}`, w.glob])), price: price(rule.price) })),
        fallback: price(p.fallback),
      }
    case 'token-based':
      return {
        type: 'token-based',
        model_field: 'body.model',
        models: Object.fromEntries(Object.entries(p.models).map(([model, each]) => [model, price(each)])),
        fallback: p.fallback ? price(p.fallback) : null,
        built_in_table: BUILT_IN_TABLE_NOTE,
      }
    case 'metered':
      // The markup as written ("20%") and in basis points; "0%" when the route has none.
      return { type: 'metered', schemes: ['upto', 'exact'], prices: '/v1/models', markup: formatMarkup(p.markupBps), markup_bps: p.markupBps, note: METERED_NOTE }
  }
}

function schemesOf(route: Pick<RouteConfig, 'pricing'>): string[] {
  return route.pricing.kind === 'metered' ? ['upto', 'exact'] : ['exact']
}

/**
 * The document without the request's origin (added per request). The facilitator's URL is shown, never its headers
 * (they carry its credentials). Built once: the config file does not change while the gateway runs.
 */
export function discoveryDocument({ file, terms }: DiscoveryInput) {
  return {
    x402Version: 2,
    accepts: terms.options.map(({ asset, payTo }) => ({
      network: asset.caip2,
      asset: asset.address,
      asset_name: 'USDC',
      decimals: 6,
      extra: { name: asset.domain.name, version: asset.domain.version },
      payTo,
      maxTimeoutSeconds: terms.maxTimeoutSeconds,
    })),
    facilitator: { url: file.facilitator.url },
    routes: routesOf(file).map((route) => ({
      route: route.key,
      method: route.method,
      path: route.path,
      schemes: schemesOf(route),
      pricing: pricing(route.pricing),
    })),
  }
}

/** The file's routes, and the built-in chat route when gateway.x402_chat makes it payable over x402 (metered). */
function routesOf(file: GatewayFile): readonly Pick<RouteConfig, 'key' | 'method' | 'path' | 'pricing'>[] {
  const chat = 'POST /v1/chat/completions'
  if (!file.gateway.x402Chat || file.routes.some((r) => r.key === chat)) return file.routes
  return [...file.routes, { key: chat, method: 'POST', path: '/v1/chat/completions', pricing: { kind: 'metered', markupBps: file.gateway.x402ChatMarkupBps } }]
}

export type DiscoveryDocument = ReturnType<typeof discoveryDocument>

/** The document with each route's absolute `resource` URL on this origin (what a 402 names as the resource). */
export function withOrigin(document: DiscoveryDocument, origin: string) {
  return { ...document, routes: document.routes.map((r) => ({ ...r, resource: `${origin}${r.path}` })) }
}
