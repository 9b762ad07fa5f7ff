// What one request to a configured route costs: a static price, the first match rule whose globs hold, or token-based by the model it names.
import type { Catalog } from '../../pricing/catalog'
import { builtinPrice } from './builtin-prices'
import type { MatchSource, Price, RoutePricing } from './types'

/** What a request offers the match rules: its parsed JSON body (or null), query, headers and path parameters. */
export interface PricedRequest {
  body: unknown
  query: URLSearchParams
  headers: Headers
  params: Readonly<Record<string, string | undefined>>
}

export type PriceAnswer = { price: Price; source: string } | { problem: string; param: string | null }

const globCache = new Map<string, RegExp>()

/** A glob as tollbooth reads it: `*` any run of characters (slashes too), `?` one character, the rest literal; whole value, case-sensitive. */
export function globMatches(glob: string, value: string): boolean {
  let regex = globCache.get(glob)
  if (!regex) {
    const body = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')
    regex = new RegExp(`^${body}$`, 's')
    if (globCache.size < 10_000) globCache.set(glob, regex)
  }
  return regex.test(value)
}

/** A scalar at a dotted path of a JSON body ("model", "metadata.tier"), as text; undefined when absent or not a scalar. */
function bodyField(body: unknown, field: string): string | undefined {
  let node: unknown = body
  for (const key of field.split('.')) {
    if (node === null || typeof node !== 'object' || Array.isArray(node) || !Object.hasOwn(node, key)) return undefined
    node = (node as Record<string, unknown>)[key]
  }
  return typeof node === 'string' || typeof node === 'number' || typeof node === 'boolean' ? String(node) : undefined
}

function fieldOf(request: PricedRequest, source: MatchSource, field: string): string | undefined {
  switch (source) {
    case 'body':
      return bodyField(request.body, field)
    case 'query':
      return request.query.get(field) ?? undefined
    case 'headers':
      return request.headers.get(field) ?? undefined
    case 'params':
      return request.params[field]
  }
}

/** The price of one request to a route (metered routes are priced elsewhere: they answer a problem here). */
export function priceRequest(pricing: RoutePricing, request: PricedRequest, catalog?: Catalog): PriceAnswer {
  switch (pricing.kind) {
    case 'static':
      return { price: pricing.price, source: 'price' }
    case 'match': {
      const index = pricing.rules.findIndex((rule) => rule.where.every((c) => {
        const value = fieldOf(request, c.source, c.field)
        return value !== undefined && globMatches(c.glob, value)
      }))
      return index >= 0 ? { price: pricing.rules[index]!.price, source: `match[${index}]` } : { price: pricing.fallback, source: 'fallback' }
    }
    case 'token-based': {
      const model = bodyField(request.body, 'model')
      if (model !== undefined) {
        const listed = Object.hasOwn(pricing.models, model) ? pricing.models[model] : undefined
        if (listed) return { price: listed, source: 'models' }
        const builtin = builtinPrice(model, catalog)
        if (builtin) return { price: builtin, source: 'built-in' }
      }
      if (pricing.fallback) return { price: pricing.fallback, source: 'fallback' }
      return model === undefined
        ? { problem: 'This route is priced by model: send a JSON body with a "model" field.', param: 'model' }
        : { problem: `The model '${model}' has no price on this route (not in its models, not in the built-in table, and it has no fallback).`, param: 'model' }
    }
    case 'metered':
      return { problem: 'type: metered routes are not served by this build.', param: null }
  }
}
