// Composes the feature plugins into one app, with request ids, the body-size limit and the single error shape.
import { Elysia, type AnyElysia } from 'elysia'
import type { Config } from './config'
import { PayloadTooLargeError, errorResponse, InternalError } from './errors'
import { rememberClientAddress, resolveClientAddress } from './lib/client-address'
import type { Sql } from './lib/db'
import { frameworkError } from './lib/framework-errors'
import type { Logger } from './lib/logger'
import type { UsageSink } from './metering/usage-record'
import type { Catalog } from './pricing/catalog'
import type { ProviderRegistry } from './providers/registry'
import type { MediaProviders } from './providers/media'
import type { Authenticator } from './modules/auth/service'
import { adminGuard } from './modules/auth/admin-guard'
import type { FailedAttempts } from './modules/auth/failed-attempts'
import { adminPlugin } from './modules/admin'
import { reconciliationPlugin } from './modules/reconciliation'
import { paymentsPlugin } from './modules/payments'
import type { AdminDeps } from './modules/admin/service'
import { agentsPlugin } from './modules/agents'
import { chatPlugin, chatRoutes } from './modules/chat'
import { createChatHandler, newRequestId } from './modules/chat/handler'
import type { X402ChatOptions } from './modules/chat/x402'
import { messagesPlugin, messagesRoutes } from './modules/messages'
import { createMessagesHandlers } from './modules/messages/handler'
import type { Admission } from './limits/admission'
import type { Checkpoints } from './exchange/checkpoints'
import type { ExchangeDeps } from './exchange/exchange'
import type { EmitEvent } from './modules/webhooks/emitter'
import type { PlatformAuth } from './modules/auth/platform'
import type { OriginLookup } from './modules/chat/cors'
import { dashboardPlugin } from './modules/dashboard'
import { docsPlugin } from './modules/docs'
import { healthPlugin, type ReadinessCheck } from './modules/health'
import { metricsPlugin } from './modules/metrics'
import { countRequest } from './lib/metrics'
import { modelsPlugin } from './modules/models'
import { embeddingsPlugin } from './modules/embeddings'
import { imagesPlugin } from './modules/images'
import { usagePlugin } from './modules/usage'
import type { PaidRoutes } from './modules/paid-routes'

export interface AppDeps {
  config: Pick<Config, 'maxBodyBytes' | 'upstream' | 'meterCrosscheckRate' | 'requireSubscription' | 'adminToken' | 'metricsToken' | 'admission' | 'trustForwardedFor'>
  catalog: Catalog
  providers: ProviderRegistry
  /** Embedding and image upstreams; without them /v1/embeddings and /v1/images/generations are not served. */
  mediaProviders?: MediaProviders
  /** Already limited by failedAttempts (limitFailedAttempts) when the caller wants API-key guessing limited. */
  authenticate: Authenticator
  /** Wrong admin tokens are counted here too; without it they are not limited. */
  failedAttempts?: FailedAttempts
  recordUsage: UsageSink
  readiness: Record<string, ReadinessCheck>
  logger: Logger
  /** Accounts, usage and admin routes need Postgres; without it only the proxy is served. */
  accounts: { sql: Sql; admin: AdminDeps } | null
  /** Rate limits and money checks (Redis); null serves the bare proxy. */
  admission: Admission | null
  /** Webhook events raised on the request path. */
  emit?: EmitEvent
  /** Live streams' checkpoints into their holds (with admission). */
  checkpoints?: Checkpoints
  /** Sees every finish of every request (tests). */
  onFinish?: ExchangeDeps['onFinish']
  /** Elysia's OpenTelemetry plugin when tracing is on (elysiaTracing). */
  tracing?: AnyElysia
  /** Platform mode on the model routes (chat, Messages, embeddings, images): session tokens paid from end users' wallets, and CORS for their browsers. */
  sessions?: { auth: PlatformAuth; allowedOrigin: OriginLookup }
  /** gateway.x402_chat: the chat route also takes x402 payments from requests without a key. */
  x402Chat?: X402ChatOptions
  /** A `type: metered` "POST /v1/messages" route: the Messages route also takes x402 payments, answered by its upstream. */
  x402Messages?: X402ChatOptions
  /** The config file's routes, paid with x402 (src/modules/paid-routes): they win over a built-in route on the same method and path. */
  paidRoutes?: PaidRoutes
  /** Extra feature plugins (billing), composed after the core ones. */
  plugins?: AnyElysia[]
}

export function createApp(deps: AppDeps): AnyElysia {
  const { config, logger, accounts } = deps
  // What every billable endpoint shares: the catalog, the exchange's lifecycle, admission and events.
  const billable = {
    catalog: deps.catalog,
    exchange: {
      catalogVersion: deps.catalog.version,
      recordUsage: deps.recordUsage,
      upstream: config.upstream,
      meterCrosscheckRate: config.meterCrosscheckRate,
      checkpoints: deps.checkpoints ?? null,
      ...(deps.onFinish ? { onFinish: deps.onFinish } : {}),
    },
    logger,
    requireSubscription: config.requireSubscription,
    admission: deps.admission,
    ...(deps.emit ? { emit: deps.emit } : {}),
  }
  const chatOptions = {
    deps: { ...billable, providers: deps.providers, progressiveHoldTokens: config.admission.progressiveHoldTokens },
    authenticate: deps.authenticate,
    maxBodyBytes: config.maxBodyBytes,
    trustForwardedFor: config.trustForwardedFor,
    logger,
  }
  const chatHandler = createChatHandler({
    ...chatOptions,
    ...(deps.sessions ? { sessions: deps.sessions.auth, allowedOrigin: deps.sessions.allowedOrigin } : {}),
    ...(deps.x402Chat ? { x402: deps.x402Chat } : {}),
  })
  // The Messages API runs on the same deps: one exchange, one way of paying (session wallets too), the same providers.
  const messagesHandlers = createMessagesHandlers({
    ...chatOptions,
    ...(deps.sessions ? { sessions: deps.sessions.auth } : {}),
    ...(deps.x402Messages ? { x402: deps.x402Messages } : {}),
  })
  // Typed loosely: features are added conditionally, and nothing consumes the route types. The chat paths are also
  // served straight from Bun's route table (Elysia merges serve.routes over its own when it listens), and so are the
  // Messages API's.
  // Pages paying the metered routes with x402 from a browser (gateway.cors_origins) get their preflights answered too.
  const routes: Record<string, Record<string, unknown>> = {
    ...chatRoutes(chatHandler, deps.sessions?.allowedOrigin, deps.x402Chat?.cors),
    ...messagesRoutes(messagesHandlers, deps.sessions?.allowedOrigin, deps.x402Messages?.cors),
  }
  // A configured route replaces the built-in handler of its method on its path; the path's other methods stay.
  for (const [path, methods] of Object.entries(deps.paidRoutes?.serveRoutes ?? {})) routes[path] = { ...routes[path], ...methods }
  let app: AnyElysia = new Elysia({ name: 'meterway', serve: { routes } })
  // Spans for the Elysia routes (the chat route, served from Bun's table, makes its own: src/lib/tracing.ts).
  if (deps.tracing) app = app.use(deps.tracing)
  app = app
    .onRequest(({ request, server, set }) => {
      set.headers['x-request-id'] = newRequestId()
      rememberClientAddress(request, resolveClientAddress(request, server, config.trustForwardedFor))
      // Content-Length over the limit is refused here, unread and in our shape. Bun's own limit sits out of reach
      // (SERVER_BODY_LIMIT) since its 413 has no body; chunked bodies are counted by the parsers (src/lib/request-body.ts).
      // Headers over 16 KiB get Bun's bare 431 before any of this runs (bun --max-http-header-size changes the size).
      const length = request.headers.get('content-length')
      if (length !== null && Number(length) > config.maxBodyBytes) {
        set.status = 413
        return errorResponse(new PayloadTooLargeError(config.maxBodyBytes), { 'x-request-id': set.headers['x-request-id'] as string })
      }
    })
    .onError(({ code, error, request, path, set }) => {
      const gatewayError = frameworkError(code, error, request.method, path)
      if (gatewayError instanceof InternalError) {
        logger.error('unhandled error', { requestId: set.headers['x-request-id'], path, code: String(code), error: String((error as Error)?.stack ?? error) })
      }
      // Said for the metrics hook as well: it reads the status from here.
      set.status = gatewayError.status
      return errorResponse(gatewayError, { 'x-request-id': set.headers['x-request-id'] as string })
    })
    // Requests Elysia serves, in meterway_requests_total (the chat and Messages routes count their own): by route
    // template, the catalog model a body named, and the status sent.
    .onAfterResponse({ as: 'global' }, ({ route, body, set, responseValue }) => {
      const named = (body as { model?: unknown } | null | undefined)?.model
      const model = typeof named === 'string' ? (deps.catalog.find(named)?.id ?? 'none') : 'none'
      const status = responseValue instanceof Response ? responseValue.status : typeof set.status === 'number' ? set.status : 200
      countRequest(route || 'unmatched', model, status)
    })
    .use(docsPlugin())
    .use(dashboardPlugin())
    .use(healthPlugin(deps.readiness))
    .use(metricsPlugin({ token: config.metricsToken, ...(deps.failedAttempts ? { failedAttempts: deps.failedAttempts } : {}) }))
    .use(modelsPlugin(deps.catalog))
    .use(chatPlugin(chatHandler, deps.sessions?.allowedOrigin, deps.x402Chat?.cors))
    .use(messagesPlugin(messagesHandlers))
  // After the built-in routes: Elysia keeps the last handler registered for a method and path.
  if (deps.paidRoutes) app = app.use(deps.paidRoutes.plugin)
  if (deps.mediaProviders) {
    // Session tokens too in platform mode: embeddings and images paid from end users' wallets, as chat is.
    const sessions = deps.sessions ? { sessions: { ...deps.sessions, trustForwardedFor: config.trustForwardedFor } } : {}
    const media = { authenticate: deps.authenticate, maxBodyBytes: config.maxBodyBytes, ...sessions }
    app = app
      .use(embeddingsPlugin({ ...media, deps: { ...billable, providers: deps.mediaProviders.embeddings } }))
      .use(imagesPlugin({ ...media, deps: { ...billable, providers: deps.mediaProviders.images } }))
  }
  if (accounts) {
    app = app.use(agentsPlugin(accounts.sql)).use(usagePlugin(accounts.sql, deps.authenticate))
    if (config.adminToken) {
      const guard = adminGuard(config.adminToken, deps.failedAttempts)
      app = app
        .use(adminPlugin(guard, accounts.admin))
        .use(reconciliationPlugin({ sql: accounts.sql, guard }))
        .use(paymentsPlugin({ sql: accounts.sql, guard }))
    }
  }
  for (const plugin of deps.plugins ?? []) app = app.use(plugin)
  return app
}

