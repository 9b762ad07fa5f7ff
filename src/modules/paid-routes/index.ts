// The paid-routes plugin: every `routes."METHOD /path"` of the config file, priced, paid with x402 and proxied; also as Bun route-table entries that win over the built-in routes.
import { Elysia } from 'elysia'
import type { GatewayFile } from '../../lib/gateway-config/types'
import type { HotRedis } from '../../lib/hot-redis'
import type { Logger } from '../../lib/logger'
import { countRequest } from '../../lib/metrics'
import type { Catalog } from '../../pricing/catalog'
import { clientAddressOf, resolveClientAddress } from '../../lib/client-address'
import { carriesPayment } from '../../x402/address-limit'
import { withGrant, x402Cors, x402Preflight } from '../../x402/cors'
import { createFacilitator } from '../../x402/facilitator'
import type { X402PaymentRecorder } from '../../x402/payment-record'
import { paymentTerms } from '../../x402/requirements'
import { paidRouteDetail } from './model'
import { createPaidRouteHandler, type PaidRouteHandler } from './service'

export interface PaidRoutesOptions {
  file: GatewayFile
  catalog: Catalog
  /** Nonce claims and payers' request limits; null: paid requests are answered 503. */
  redis: Pick<HotRedis, 'send' | 'script'> | null
  /** Prefixes the nonce keys (QUEUE_PREFIX: deployments and test runs sharing a Redis stay apart). */
  keyPrefix: string
  maxBodyBytes: number
  defaultTimeoutMs: number
  /** payerRpm: requests per minute per payer address (0: none). */
  x402: { maxTimeoutSeconds: number; facilitatorTimeoutMs: number; payerRpm?: number; unpaidRpm?: number }
  /** Reads the client address from X-Forwarded-For's last hop (TRUST_FORWARDED_FOR). */
  trustForwardedFor?: boolean
  /** Sees every payment that reached the facilitator; a no-op by default (the usage queue stores them when wired). */
  recordPayment?: X402PaymentRecorder
  logger: Logger
}

type BunRouteHandler = (request: Request & { params?: Record<string, string> }, server?: { requestIP(request: Request): { address: string } | null } | null) => Promise<Response>

export interface PaidRoutes {
  /** For Swagger and app.handle; mounted after the built-in plugins, so a configured METHOD + path replaces theirs. */
  plugin: Elysia
  /** path → method → handler, merged over the built-in entries of Bun's route table (src/app.ts). */
  serveRoutes: Record<string, Record<string, BunRouteHandler>>
  /** The route keys served ("POST /v1/messages"). */
  served: string[]
}

export function paidRoutes(options: PaidRoutesOptions): PaidRoutes {
  const { file } = options
  const gate = {
    terms: paymentTerms(file.accepts, file.wallets, options.x402.maxTimeoutSeconds),
    facilitator: createFacilitator({ url: file.facilitator.url, headers: file.facilitator.headers, timeoutMs: options.x402.facilitatorTimeoutMs }),
    redis: options.redis,
    keyPrefix: options.keyPrefix,
    payerRpm: options.x402.payerRpm ?? 0,
    unpaidRpm: options.x402.unpaidRpm ?? 0,
    recordPayment: options.recordPayment ?? (() => {}),
    logger: options.logger,
  }
  const deps = { gate, catalog: options.catalog, maxBodyBytes: options.maxBodyBytes, defaultTimeoutMs: options.defaultTimeoutMs, logger: options.logger }
  const cors = x402Cors(file.gateway.corsOrigins)
  const limitsAddresses = (options.x402.unpaidRpm ?? 0) > 0
  let plugin = new Elysia({ name: 'paid-routes' })
  const serveRoutes: PaidRoutes['serveRoutes'] = {}
  const served: string[] = []
  for (const route of file.routes) {
    // Billed by tokens with the upto scheme (issue 11 item 4): the built-in chat and Messages routes serve a metered
    // "POST /v1/chat/completions" and "POST /v1/messages" (src/modules/chat/x402.ts, src/modules/messages/x402.ts).
    if (route.pricing.kind === 'metered') continue
    const upstream = file.upstreams[route.upstream]!
    const proxied: PaidRouteHandler = createPaidRouteHandler(route, upstream, deps)
    // Browsers paying from an allowed page read the 402's requirements and the settlement (gateway.cors_origins).
    const handler: PaidRouteHandler = cors ? async (request, params, address) => withGrant(cors, request, await proxied(request, params, address)) : proxied
    plugin = plugin.route(route.method, route.path, ({ request, params }) => handler(request, params as Record<string, string>, clientAddressOf(request)), { parse: 'none', detail: paidRouteDetail(route.key, route.upstream) }) as unknown as Elysia
    // Served from Bun's table, a request is counted here (Elysia's hook in src/app.ts counts the ones it routes).
    const countedHandler: BunRouteHandler = async (request, server) => {
      const address = limitsAddresses && !carriesPayment(request.headers) ? resolveClientAddress(request, server, options.trustForwardedFor ?? false) : null
      const response = await handler(request, request.params ?? {}, address)
      countRequest(route.path, 'none', response.status)
      return response
    }
    serveRoutes[route.path] = { ...serveRoutes[route.path], [route.method]: countedHandler }
    served.push(route.key)
  }
  // Their preflights, one per path, naming the methods the file configures there (unless the file configures OPTIONS itself).
  if (cors) {
    for (const [path, methods] of Object.entries(serveRoutes)) {
      if (methods.OPTIONS) continue
      const allowed = [...Object.keys(methods), 'OPTIONS'].join(', ')
      const preflight = async (request: Request) => x402Preflight(cors, allowed, request)
      serveRoutes[path] = { ...methods, OPTIONS: preflight }
      plugin = plugin.options(path, ({ request }) => preflight(request), { parse: 'none', detail: { hide: true } }) as unknown as Elysia
    }
  }
  return { plugin, serveRoutes, served }
}
