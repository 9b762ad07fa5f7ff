// From a file that has the right shape to a GatewayFile: prices parsed, names resolved, URLs vetted; every problem named by key.
import { formatKeyPath, type KeySegment } from './key-path'
import { ASSETS, findNetwork, NETWORK_NAMES } from './networks'
import { parseMarkup } from './markup'
import { parsePrice, type Price } from './price'
import type { GatewayFileData } from './schema'
import type { GatewayFile, MatchRule, MatchSource, RouteConfig, RoutePricing, UpstreamConfig, WalletConfig } from './types'
import { checkServiceUrl } from './upstream-url'

export interface Problem {
  at: KeySegment[]
  message: string
}

export const DEFAULT_FACILITATOR_URL = 'https://x402.org/facilitator'
const ROUTE_KEY = /^(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) (\/\S*)$/
const WHERE_KEY = /^(body|query|headers|params)\.(\S+)$/
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/
const TOKEN_BASED = new Set(['token-based', 'openai-compatible'])
const METERED_PATHS = new Set(['POST /v1/chat/completions', 'POST /v1/messages'])
const FULL_ADDRESS = /^0x[0-9a-fA-F]{40}$/

type RouteData = NonNullable<GatewayFileData['routes']>[string]

class Checker {
  readonly problems: Problem[] = []
  readonly warnings: string[] = []

  fail(at: KeySegment[], message: string): void {
    this.problems.push({ at, message })
  }

  price(value: unknown, at: KeySegment[]): Price | null {
    const parsed = parsePrice(value)
    if (typeof parsed === 'string') {
      this.fail(at, parsed)
      return null
    }
    return parsed
  }

  markup(value: unknown, at: KeySegment[]): number {
    if (value === undefined) return 0
    const parsed = parseMarkup(value)
    if (typeof parsed === 'string') {
      this.fail(at, parsed)
      return 0
    }
    return parsed
  }

  headers(value: Record<string, string> | undefined, at: KeySegment[]): Readonly<Record<string, string>> {
    const headers: Record<string, string> = {}
    for (const [name, text] of Object.entries(value ?? {})) {
      if (!HEADER_NAME.test(name)) this.fail([...at, name], 'expected a valid HTTP header name')
      else if (/[\r\n\0]/.test(text)) this.fail([...at, name], 'expected a header value without line breaks')
      else headers[name.toLowerCase()] = text
    }
    return Object.freeze(headers)
  }

  url(raw: string, at: KeySegment[]): string {
    const checked = checkServiceUrl(raw)
    if ('problem' in checked) {
      this.fail(at, checked.problem)
      return raw
    }
    return checked.url
  }
}

function buildWallets(data: GatewayFileData, check: Checker): WalletConfig[] {
  return Object.entries(data.wallets ?? {}).flatMap(([name, address]) => {
    const network = findNetwork(name)
    if (!network) {
      check.fail(['wallets', name], `expected a network: ${NETWORK_NAMES.join(' or ')}`)
      return []
    }
    if (!/^0x\S+$/.test(address)) {
      check.fail(['wallets', name], `expected a wallet address starting with 0x; got ${JSON.stringify(address)}`)
      return []
    }
    if (!FULL_ADDRESS.test(address)) check.warnings.push(`${formatKeyPath(['wallets', name])}: ${JSON.stringify(address)} is not a 20-byte hex address; payments to it cannot be settled`)
    return [{ network: network.name, caip2: network.caip2, address }]
  })
}

function buildAccepts(data: GatewayFileData, wallets: WalletConfig[], check: Checker): GatewayFile['accepts'] {
  const accepts = (data.accepts ?? []).flatMap((accept, index) => {
    const asset = accept.asset.toUpperCase()
    if (!ASSETS.includes(asset)) check.fail(['accepts', index, 'asset'], `expected ${ASSETS.join(' or ')}; got ${JSON.stringify(accept.asset)}`)
    const network = findNetwork(accept.network)
    if (!network) check.fail(['accepts', index, 'network'], `expected a network: ${NETWORK_NAMES.join(' or ')}; got ${JSON.stringify(accept.network)}`)
    else if (!wallets.some((w) => w.network === network.name)) check.fail(['accepts', index, 'network'], `expected a wallet for ${network.name} under wallets (where payments go)`)
    return network && ASSETS.includes(asset) ? [{ asset, network: network.name, caip2: network.caip2 }] : []
  })
  if (Object.keys(data.routes ?? {}).length > 0 && (data.accepts ?? []).length === 0) check.fail(['accepts'], 'expected at least one {asset, network} when routes are defined')
  return accepts
}

function buildUpstreams(data: GatewayFileData, check: Checker): Record<string, UpstreamConfig> {
  const upstreams: Record<string, UpstreamConfig> = {}
  for (const [name, upstream] of Object.entries(data.upstreams ?? {})) {
    const at = ['upstreams', name]
    upstreams[name] = Object.freeze({
      name,
      url: check.url(upstream.url, [...at, 'url']),
      headers: check.headers(upstream.headers, [...at, 'headers']),
      timeoutMs: upstream.timeout === undefined ? null : Math.round(upstream.timeout * 1000),
    })
  }
  return upstreams
}

function buildMatchRules(route: RouteData, at: KeySegment[], check: Checker): MatchRule[] {
  return (route.match ?? []).map((rule, index) => {
    const where = Object.entries(rule.where).flatMap(([key, glob]) => {
      const parsed = WHERE_KEY.exec(key)
      if (!parsed) check.fail([...at, 'match', index, 'where', key], 'expected body.x, query.x, headers.x or params.x')
      else if (glob === '') check.fail([...at, 'match', index, 'where', key], 'expected a non-empty glob')
      return parsed ? [{ source: parsed[1] as MatchSource, field: parsed[2]!, glob }] : []
    })
    if (Object.keys(rule.where).length === 0) check.fail([...at, 'match', index, 'where'], 'expected at least one condition')
    return { where: Object.freeze(where), price: check.price(rule.price, [...at, 'match', index, 'price'])! }
  })
}

/** Which keys each pricing takes: anything else on the route is a mistake worth naming. */
function refuseKeys(route: RouteData, keys: readonly (keyof RouteData)[], at: KeySegment[], why: string, check: Checker): void {
  for (const key of keys) if (route[key] !== undefined) check.fail([...at, key], why)
}

function buildPricing(key: string, route: RouteData, defaultPrice: Price | null, check: Checker): RoutePricing | null {
  const at = ['routes', key]
  const type = route.type
  if (type === 'metered') {
    refuseKeys(route, ['price', 'match', 'fallback', 'models'], at, 'not used by type: metered (it bills the tokens used at the catalog prices)', check)
    if (!METERED_PATHS.has(key)) check.fail([...at, 'type'], `expected metered only on ${[...METERED_PATHS].join(' or ')}`)
    return { kind: 'metered', markupBps: check.markup(route.markup, [...at, 'markup']) }
  }
  refuseKeys(route, ['markup'], at, 'expected only with type: metered (a fixed price carries its own margin)', check)
  if (type !== undefined && TOKEN_BASED.has(type)) {
    refuseKeys(route, ['price', 'match'], at, 'not used by type: token-based (it prices by the models map and fallback)', check)
    const models: Record<string, Price> = {}
    for (const [model, price] of Object.entries(route.models ?? {})) models[model] = check.price(price, [...at, 'models', model])!
    const fallback = route.fallback === undefined ? defaultPrice : check.price(route.fallback, [...at, 'fallback'])
    return { kind: 'token-based', models: Object.freeze(models), fallback }
  }
  if (type !== undefined) {
    check.fail([...at, 'type'], `expected token-based, openai-compatible or metered; got ${JSON.stringify(type)}`)
    return null
  }
  refuseKeys(route, ['models'], at, 'expected only with type: token-based', check)
  const price = route.price === undefined ? null : check.price(route.price, [...at, 'price'])
  if (route.match) {
    const rules = buildMatchRules(route, at, check)
    const fallback = route.fallback === undefined ? (price ?? defaultPrice) : check.price(route.fallback, [...at, 'fallback'])
    if (!fallback && route.fallback === undefined && route.price === undefined) check.fail([...at, 'fallback'], 'expected a fallback price (or price, or defaults.price) for requests no match rule covers')
    return fallback ? { kind: 'match', rules: Object.freeze(rules), fallback } : null
  }
  refuseKeys(route, ['fallback'], at, 'expected only with match rules or type: token-based', check)
  const flat = price ?? (route.price === undefined ? defaultPrice : null)
  if (!flat && route.price === undefined) check.fail([...at, 'price'], 'expected a price, match rules, type: token-based or metered (or defaults.price)')
  return flat ? { kind: 'static', price: flat } : null
}

function buildRoutes(data: GatewayFileData, upstreams: Record<string, UpstreamConfig>, defaultPrice: Price | null, check: Checker): RouteConfig[] {
  const names = Object.keys(upstreams)
  return Object.entries(data.routes ?? {}).flatMap(([key, route]) => {
    const parsed = ROUTE_KEY.exec(key)
    if (!parsed) check.fail(['routes', key], 'expected a route key "METHOD /path" such as "POST /v1/messages"')
    if (!upstreams[route.upstream]) {
      const known = names.length ? `one of the upstreams (${names.join(', ')})` : 'an upstream defined under upstreams'
      check.fail(['routes', key, 'upstream'], `expected ${known}; got ${JSON.stringify(route.upstream)}`)
    }
    const pricing = buildPricing(key, route, defaultPrice, check)
    if (!parsed || !pricing) return []
    return [Object.freeze({ key, method: parsed[1]!, path: parsed[2]!, upstream: route.upstream, upstreamPath: route.path ?? parsed[2]!, pricing })]
  })
}

/** "https://App.example.com" → "https://app.example.com", as a browser sends it in Origin; null when it is not an origin. */
function normalOrigin(raw: string): string | null {
  try {
    const url = new URL(raw)
    if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.origin !== raw.toLowerCase().replace(/\/$/, '')) return null
    return url.origin
  } catch {
    return null
  }
}

/** Checks a well-shaped file; returns the config or every problem found. */
export function buildGatewayFile(path: string, data: GatewayFileData): { file: GatewayFile } | { problems: Problem[] } {
  const check = new Checker()
  const wallets = buildWallets(data, check)
  const accepts = buildAccepts(data, wallets, check)
  const upstreams = buildUpstreams(data, check)
  const defaultPrice = data.defaults?.price === undefined ? null : check.price(data.defaults.price, ['defaults', 'price'])
  const routes = buildRoutes(data, upstreams, defaultPrice, check)
  const facilitator = {
    url: data.facilitator ? check.url(data.facilitator.url, ['facilitator', 'url']) : DEFAULT_FACILITATOR_URL,
    headers: check.headers(data.facilitator?.headers, ['facilitator', 'headers']),
  }
  for (const name of Object.keys(upstreams)) {
    if (!routes.some((r) => r.upstream === name)) check.warnings.push(`${formatKeyPath(['upstreams', name])}: no route uses it`)
  }
  const x402ChatMarkupBps = check.markup(data.gateway?.x402_chat_markup, ['gateway', 'x402_chat_markup'])
  const corsOrigins = (data.gateway?.cors_origins ?? []).map((origin, index) => {
    const normal = origin === '*' ? origin : normalOrigin(origin)
    if (normal === null) check.fail(['gateway', 'cors_origins', index], `expected "*" or an origin such as "https://app.example.com" (scheme and host, no path); got ${JSON.stringify(origin)}`)
    return normal ?? origin
  })
  if (data.gateway?.x402_chat && accepts.length === 0) check.fail(['gateway', 'x402_chat'], 'expected accepts (and a wallet) to take x402 payments on the chat route')
  if (check.problems.length > 0) return { problems: check.problems }
  return {
    file: Object.freeze({
      path,
      gateway: Object.freeze({ port: data.gateway?.port ?? null, discovery: data.gateway?.discovery ?? false, x402Chat: data.gateway?.x402_chat ?? false, x402ChatMarkupBps, corsOrigins: Object.freeze(corsOrigins) }),
      wallets: Object.freeze(wallets),
      accepts: Object.freeze(accepts),
      facilitator: Object.freeze(facilitator),
      upstreams: Object.freeze(upstreams),
      routes: Object.freeze(routes),
      defaultPrice,
      models: Object.freeze([...(data.models ?? [])]),
      warnings: Object.freeze(check.warnings),
    }),
  }
}
