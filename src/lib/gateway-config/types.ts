// The parsed, checked gateway config file as the rest of Meterway sees it (prices exact, URLs vetted, names resolved).
import type { Price } from './price'

export type { Price } from './price'

export interface UpstreamConfig {
  name: string
  /** Base URL without a trailing slash. */
  url: string
  headers: Readonly<Record<string, string>>
  /** Null: the gateway's UPSTREAM_TIMEOUT_MS. */
  timeoutMs: number | null
}

export type MatchSource = 'body' | 'query' | 'headers' | 'params'

export interface MatchRule {
  /** Every condition must hold (a field's value against a glob). */
  where: readonly { source: MatchSource; field: string; glob: string }[]
  price: Price
}

export type RoutePricing =
  | { kind: 'static'; price: Price }
  /** The first rule that matches sets the price; otherwise the fallback. */
  | { kind: 'match'; rules: readonly MatchRule[]; fallback: Price }
  /** The route's models map, then the built-in table, then the fallback (null: a model found nowhere is refused). */
  | { kind: 'token-based'; models: Readonly<Record<string, Price>>; fallback: Price | null }
  /** Billed by the tokens used at the catalog's prices (issue 11, item 4), plus the markup (basis points, 0: none). */
  | { kind: 'metered'; markupBps: number }

export interface RouteConfig {
  /** As written: "POST /v1/messages". */
  key: string
  method: string
  path: string
  upstream: string
  /** The path on the upstream (the route's own path unless `path:` says otherwise). */
  upstreamPath: string
  pricing: RoutePricing
}

export interface WalletConfig {
  network: string
  caip2: string
  address: string
}

export interface GatewayFile {
  /** The file as it was named (flag, GATEWAY_CONFIG or meterway.yaml). */
  path: string
  /** x402Chat: the built-in POST /v1/chat/completions also takes x402 payments (upto, exact) from requests without a key. */
  /** x402ChatMarkupBps: the built-in chat route's markup on x402 (basis points, 0: none). */
  /** corsOrigins: pages allowed to call the x402 routes from a browser ("*": any); empty: no CORS. */
  gateway: { port: number | null; discovery: boolean; x402Chat: boolean; x402ChatMarkupBps: number; corsOrigins: readonly string[] }
  wallets: readonly WalletConfig[]
  accepts: readonly { asset: string; network: string; caip2: string }[]
  facilitator: { url: string; headers: Readonly<Record<string, string>> }
  upstreams: Readonly<Record<string, UpstreamConfig>>
  routes: readonly RouteConfig[]
  defaultPrice: Price | null
  /** The `models:` section, passed to buildCatalog as overrides (already checked by it at load). */
  models: readonly unknown[]
  /** Things that load but look wrong (a placeholder wallet address, an upstream no route uses). */
  warnings: readonly string[]
}
