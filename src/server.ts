// Builds a running Meterway from a config: connections, migrations, the API (ROLE all|api), workers (all|worker), and an ordered stop.
import { createApp } from './app'
import type { Config } from './config'
import { migrate } from './db/migrate'
import { postgresBootError, redactUrl } from './lib/boot-errors'
import { createDb } from './lib/db'
import { SERVER_BODY_LIMIT } from './lib/framework-errors'
import { checkFileBudget, requiredBunFetchPool, startFetchThread, upstreamSlots } from './lib/fetch-pool'
import { missingAllocatorSettings } from './lib/allocator'
import { createLogger, type Logger } from './lib/logger'
import { countUsage } from './lib/metrics'
import { elysiaTracing, startTracing, stopTracing } from './lib/tracing'
import { registerScrapedGauges } from './modules/metrics/gauges'
import { createRedis, createSubscriber, type RedisConnection } from './lib/redis'
import { createHotRedis, type HotRedis } from './lib/hot-redis'
import { createClusterHotRedis } from './lib/hot-redis-cluster'
import { startTokenPool, stopTokenPool } from './metering/token-pool'
import { createUsageInboxSink } from './metering/usage-inbox'
import type { QueueSink } from './lib/batch-sink'
import type { UsageRecord } from './metering/usage-record'
import { createX402PaymentQueue, type X402PaymentQueue } from './x402/payment-queue'
import { paymentTerms } from './x402/requirements'
import { routeProviders } from './providers/route'
import { x402Cors } from './x402/cors'
import { createFacilitator } from './x402/facilitator'
import { uptoSigner } from './x402/supported'
import { settleLeaseFor, UptoPending } from './x402/upto-pending'
import { discoveryPlugin } from './modules/discovery'
import type { X402ChatOptions } from './modules/chat/x402'
import type { AnyElysia } from 'elysia'
import type { UsageSink } from './metering/usage-record'
import { PrincipalCache, PRINCIPAL_CHANNEL } from './modules/auth/principal-cache'
import { staticPrincipals } from './modules/auth/service'
import { PlatformCredentials } from './modules/auth/platform-credentials'
import { projectsPlugin } from './modules/projects'
import { sessionsPlugin } from './modules/sessions'
import { cachedOriginLookup } from './modules/chat/cors'
import { sessionCorsPlugin } from './modules/session-cors'
import { isOriginAllowedAnywhere } from './db/queries/projects'
import { endUserWalletsPlugin } from './modules/end-user-wallets'
import { customersPlugin } from './modules/customers'
import { topUpEvents, topUpsPlugin } from './modules/top-ups'
import { connectPlugin } from './modules/connect'
import { FailedAttempts, limitFailedAttempts } from './modules/auth/failed-attempts'
import { billingPlugin } from './modules/billing'
import { paidRoutes } from './modules/paid-routes'
import type { X402PaymentRecorder } from './x402/payment-record'
import { walletPlugin } from './modules/wallet'
import { webhooksPlugin } from './modules/webhooks'
import { createEventEmitter, type EventEmitter } from './modules/webhooks/emitter'
import { findAccount } from './db/queries/accounts'
import { Admission } from './limits/admission'
import { createStripeClient } from './lib/stripe'
import { buildCatalog } from './pricing/catalog'
import { CATALOG_DATA, CATALOG_VERSION } from './pricing/catalog-data'
import { configureUpstreamPool } from './providers/http'
import { buildMediaProviders, buildProviders } from './providers/registry'
import { startWorkers } from '../workers'
import { Checkpoints } from './exchange/checkpoints'
import type { ExchangeDeps } from './exchange/exchange'

export interface ServerOptions {
  logger?: Logger
  /** Sees every usage record as it is emitted (tests read them; production passes nothing). */
  tapUsage?: UsageSink
  /** Sees every call of a request's finish (tests assert one per request). */
  tapFinish?: ExchangeDeps['onFinish']
  /** Stores x402 payment records of the config file's routes (a no-op without it). */
  recordPayment?: X402PaymentRecorder
}

export interface RunningServer {
  /** http://host:port of the API; null for ROLE=worker. */
  url: string | null
  port: number | null
  principals: PrincipalCache
  /** Stops accepting, lets in-flight requests finish (up to the grace time), drains usage, closes workers and connections. */
  stop(): Promise<void>
}

/** Logs a Redis client's outages once each; returns the last connection error while it is down (for /readyz). */
function reportOutages(client: RedisConnection, name: string, logger: Logger): () => string | null {
  let down = false
  let lastError: string | null = null
  client.on('error', (error: Error) => {
    lastError = error.message
    if (down) return
    down = true
    logger.warn(`${name} unreachable`, { error: error.message })
  })
  client.on('ready', () => {
    if (down) logger.info(`${name} reachable again`)
    down = false
    lastError = null
  })
  return () => lastError
}

/** /readyz's Redis check: a PING, or why there is no connection, naming REDIS_URL's address rather than ioredis's state. */
function redisReadiness(client: RedisConnection, config: Readonly<Config>, lastError: () => string | null) {
  return async () => {
    if (client.status === 'ready') return client.ping()
    let address = redactUrl(config.redisUrl)
    if (config.redis.kind === 'cluster') address = config.redis.nodes.map((n) => `${n.host}:${n.port}`).join(',')
    else {
      try {
        const parsed = new URL(config.redisUrl)
        address = `${parsed.hostname}:${parsed.port || '6379'}`
      } catch {
        // keep the redacted URL
      }
    }
    const variable = config.redis.kind === 'cluster' && !config.redisUrl.startsWith('redis+cluster://') ? 'REDIS_CLUSTER_NODES' : 'REDIS_URL'
    throw new Error(`not reachable at ${address} (${variable}): ${lastError() ?? `connection ${client.status}`}; requests that need Redis are refused until it is back`)
  }
}

export async function startServer(config: Readonly<Config>, options: ServerOptions = {}): Promise<RunningServer> {
  const logger = options.logger ?? createLogger(config.logLevel)
  if (config.tracing.endpoint) await startTracing(config.tracing.endpoint, config.tracing.serviceName)
  const sql = createDb(config.databaseUrl)
  try {
    await migrate(sql)
  } catch (error) {
    await sql.end({ timeout: 0 }).catch(() => {})
    throw postgresBootError(error, config.databaseUrl) ?? error
  }

  const redis = createRedis(config.redis)
  // Without listeners ioredis prints every failed reconnect; say it once per outage instead.
  const redisError = reportOutages(redis, 'redis', logger)
  await redis.connect().catch((error: Error) => logger.warn('redis not reachable yet', { error: error.message }))
  // Pub/sub needs a connection of its own; ioredis re-subscribes after a reconnect.
  const subscriber = createSubscriber(config.redis)
  reportOutages(subscriber, 'redis pub/sub', logger)

  const principals = new PrincipalCache({
    sql,
    statics: staticPrincipals(config.staticApiKeys),
    ttlMs: config.principalCacheTtlMs,
    publish: (message) => redis.publish(PRINCIPAL_CHANNEL, message),
    logger,
  })
  // Platform secret keys and session tokens share the channel: one eviction message reaches both caches.
  const platformCredentials = new PlatformCredentials({
    sql,
    ttlMs: config.principalCacheTtlMs,
    publish: (message) => redis.publish(PRINCIPAL_CHANNEL, message),
    logger,
  })
  subscriber.on('message', (_channel: string, message: string) => {
    principals.handleMessage(message)
    platformCredentials.handleMessage(message)
  })
  // Wrong keys and admin tokens, counted per client address; every authenticated route goes through this one.
  const failedAttempts = new FailedAttempts(config.authFailures)
  const authenticate = limitFailedAttempts(principals.authenticate, failedAttempts)
  const connected = await subscriber.connect().then(
    () => true,
    (error: Error) => (logger.warn('principal evictions not subscribed yet', { error: error.message }), false),
  )
  // Down at boot: the subscription waits in the client's queue and goes out once it connects (ioredis then subscribes
  // again after every reconnect), rather than never.
  const subscribed = subscriber.subscribe(PRINCIPAL_CHANNEL).catch((error: Error) => logger.warn('principal evictions not subscribed', { error: error.message }))
  if (connected) await subscribed

  const workers = config.role === 'api' ? null : await startWorkers({ config, sql, logger })

  let server: ReturnType<ReturnType<typeof createApp>['listen']>['server'] = null
  let usageQueue: QueueSink<UsageRecord> | null = null
  let x402Payments: X402PaymentQueue | null = null
  let events: EventEmitter | null = null
  let admission: Admission | null = null
  let hot: HotRedis | null = null
  let closeGauges: (() => Promise<void>) | null = null
  if (config.role !== 'worker') {
    const slots = upstreamSlots(config.upstream)
    if (slots < config.upstream.maxConnections) {
      logger.warn("Bun's fetch pool is smaller than UPSTREAM_MAX_CONNECTIONS; upstream requests capped", {
        upstreamSlots: slots,
        maxConnections: config.upstream.maxConnections,
        fix: `start the process with BUN_CONFIG_MAX_HTTP_REQUESTS=${requiredBunFetchPool(config.upstream.maxConnections)} (\`bun run start\` and the Dockerfile do)`,
      })
    }
    const allocatorSettings = missingAllocatorSettings({ purgeHoles: config.allocatorPurgeHoles, purgeDelay: config.allocatorPurgeDelay })
    if (allocatorSettings.length > 0) {
      logger.warn("Bun's allocator gives freed memory back to the OS as soon as the event loop idles, and requests fault it back in; they cost more CPU", {
        fix: `start the process with ${allocatorSettings.join(' ')} (\`bun run start\` and the Dockerfile do; see src/lib/allocator.ts)`,
      })
    }
    configureUpstreamPool({ maxConnections: slots, waitMs: config.upstream.poolWaitMs })
    checkFileBudget(slots, logger)
    startTokenPool(config.tokenizerThreads)
    // Paid routes hand each x402 payment's record here (workers/x402-payments stores it); only with a config file.
    if (config.gatewayFile) x402Payments = createX402PaymentQueue(config.redis, logger, { prefix: config.queuePrefix })
    closeGauges = registerScrapedGauges({ redis, queuePrefix: config.queuePrefix, sql })
    // Scripts are registered on the hot-path client once, here; they load into Redis on first use.
    // The request path's own client: one pipelined RESP connection (see src/lib/hot-redis.ts), to one Redis only; on a
    // cluster, ioredis's Cluster client behind the same interface. ioredis serves the rest.
    hot = config.redis.kind === 'cluster' ? createClusterHotRedis(config.redis) : createHotRedis(config.redis.url)
    // Usage batches go out on the same connection (an RPUSH a batch); a worker makes each one a BullMQ job.
    usageQueue = createUsageInboxSink(hot, logger, { prefix: config.queuePrefix })
    const tap = options.tapUsage
    const queueSink = usageQueue.record
    const recordUsage: UsageSink = tap ? (record) => (tap(record), countUsage(record), queueSink(record)) : (record) => (countUsage(record), queueSink(record))
    const connected = await Promise.race([hot.ready.then(() => true), Bun.sleep(2_000).then(() => false)]).catch(() => false)
    if (!connected) logger.warn('redis (request path) not reachable yet; money checks answer 503 until it is')
    admission = new Admission(hot, sql, config.admission, logger)
    const onAccountChanged = (accountId: string) => principals.invalidateAccount(accountId)
    events = createEventEmitter(sql, config.redis, logger, config.queuePrefix)
    const emit = events.emit
    // Stripe by mode: live for agents' subscriptions and live top-ups, test for test-mode top-ups.
    const stripeByMode = { live: createStripeClient(config.stripe), test: createStripeClient({ ...config.stripe, secretKey: config.stripeTest.secretKey }) }
    const billing = billingPlugin({
      sql,
      stripe: stripeByMode.live,
      config: {
        proPriceId: config.stripe.proPriceId,
        webhookSecret: config.stripe.webhookSecret,
        testWebhookSecret: config.stripeTest.webhookSecret,
        publicBaseUrl: config.publicBaseUrl,
      },
      platformEvents: topUpEvents({ sql, admission, stripe: stripeByMode, logger, emit }),
      authenticate,
      maxBodyBytes: config.maxBodyBytes,
      // A Stripe event changed the subscription: caches drop the account, and the customer hears about it.
      onAccountChanged: async (accountId) => {
        await onAccountChanged(accountId)
        const account = await findAccount(sql, accountId)
        if (account) emit({ accountId, type: 'subscription.updated', data: { subscription_status: account.subscription_status, source: 'stripe' } })
      },
      logger,
    })
    // Platform mode: projects (account key), end-user sessions, wallets and customers (secret key or session token), Connect payouts.
    const platformAuth = { credentials: platformCredentials, failedAttempts }
    const onProjectChanged = (projectId: string) => platformCredentials.invalidateProject(projectId)
    const onTokenRevoked = (hash: string) => platformCredentials.invalidateHash(hash)
    // The config file's models: section adds or overrides entries (checked when the config was loaded).
    const catalog = buildCatalog(CATALOG_DATA, CATALOG_VERSION, config.gatewayFile?.models ?? [])
    const allowedOrigin = cachedOriginLookup((origin) => isOriginAllowedAnywhere(sql, origin), config.principalCacheTtlMs)
    const platformPlugins = [
      sessionCorsPlugin(allowedOrigin),
      projectsPlugin({ sql, authenticate, onKeyRevoked: onTokenRevoked, onProjectChanged }),
      sessionsPlugin({ sql, auth: platformAuth, catalog, publishableKeys: config.stripePublishableKeys, onTokenRevoked }),
      endUserWalletsPlugin({ sql, auth: platformAuth, admission, logger, onProjectChanged, emit }),
      customersPlugin({ sql, auth: platformAuth }),
      topUpsPlugin({ sql, auth: platformAuth, stripe: stripeByMode, publishableKeys: config.stripePublishableKeys, logger }),
      connectPlugin({ sql, stripe: stripeByMode.live, logger, authenticate, platformAuth }),
    ]
    // Every x402 payment (paid routes, the chat route) goes to the x402-payments queue; a test may watch them too.
    const queued = x402Payments?.record
    const tapped = options.recordPayment
    const recordPayment: X402PaymentRecorder | undefined = queued && tapped ? (r) => (tapped(r), queued(r)) : (queued ?? tapped)
    const paid = config.gatewayFile && config.gatewayFile.routes.length > 0
      ? paidRoutes({
          file: config.gatewayFile,
          catalog,
          redis: hot,
          keyPrefix: config.queuePrefix,
          maxBodyBytes: config.maxBodyBytes,
          defaultTimeoutMs: config.upstream.totalTimeoutMs,
          x402: config.x402,
          trustForwardedFor: config.trustForwardedFor,
          ...(recordPayment ? { recordPayment } : {}),
          logger,
        })
      : null
    if (paid) logger.info('gateway config: paid routes served', { routes: paid.served, facilitator: config.gatewayFile!.facilitator.url })
    // The config file's x402 side beyond its routes: discovery, and x402 on the built-in chat route.
    const file = config.gatewayFile
    const x402Plugins: AnyElysia[] = []
    let x402Chat: X402ChatOptions | undefined
    let x402Messages: X402ChatOptions | undefined
    if (file && file.accepts.length > 0) {
      const terms = paymentTerms(file.accepts, file.wallets, config.x402.maxTimeoutSeconds)
      if (file.gateway.discovery) x402Plugins.push(discoveryPlugin({ file, terms }))
      const settings = { url: file.facilitator.url, headers: file.facilitator.headers, timeoutMs: config.x402.facilitatorTimeoutMs }
      const hotRedis = hot
      // upto payments of every metered route (chat and Messages) are written down before their first byte, for the upto sweeper.
      const pending = new UptoPending({ script: (name, keys, args) => hotRedis.script(name, keys, args), command: (name, args) => hotRedis.send(name, args) }, config.queuePrefix, config.admission.holdTtlMs)
      const shared = recordPayment && { terms, facilitator: createFacilitator(settings), uptoSigner: uptoSigner(settings), redis: hot, keyPrefix: config.queuePrefix, payerRpm: config.x402.payerRpm, unpaidRpm: config.x402.unpaidRpm, cors: x402Cors(file.gateway.corsOrigins), recordPayment, logger, pending, settleLeaseMs: settleLeaseFor(config.x402.facilitatorTimeoutMs) }
      const meteredRoute = (key: string) => file.routes.find((r) => r.key === key && r.pricing.kind === 'metered')
      // A `type: metered` "POST /v1/chat/completions" route turns it on too, answered by the route's upstream.
      const metered = meteredRoute('POST /v1/chat/completions')
      if ((file.gateway.x402Chat || metered) && shared) {
        x402Chat = { ...shared, markupBps: file.gateway.x402ChatMarkupBps }
        if (metered?.pricing.kind === 'metered') Object.assign(x402Chat, { providers: routeProviders(file.upstreams[metered.upstream]!, metered.upstreamPath), markupBps: metered.pricing.markupBps })
      }
      // And a metered "POST /v1/messages" route, answered by its Anthropic-format upstream.
      const messages = meteredRoute('POST /v1/messages')
      if (messages?.pricing.kind === 'metered' && shared) {
        x402Messages = { ...shared, providers: routeProviders(file.upstreams[messages.upstream]!, messages.upstreamPath, 'anthropic'), markupBps: messages.pricing.markupBps }
      }
    }
    const app = createApp({
      config,
      ...(paid ? { paidRoutes: paid } : {}),
      ...(config.tracing.endpoint ? { tracing: await elysiaTracing(config.tracing.serviceName) } : {}),
      catalog,
      providers: buildProviders(config),
      mediaProviders: buildMediaProviders(config),
      authenticate,
      failedAttempts,
      recordUsage,
      readiness: { postgres: () => sql`select 1`, redis: redisReadiness(redis, config, redisError) },
      logger,
      accounts: {
        sql,
        admin: {
          sql,
          onAccountChanged,
          onKeyRevoked: (hash) => principals.invalidateKey(hash),
          admission,
          logger,
          emit,
        },
      },
      admission,
      sessions: { auth: platformAuth, allowedOrigin },
      checkpoints: new Checkpoints(config.admission.checkpointIntervalMs),
      ...(options.tapFinish ? { onFinish: options.tapFinish } : {}),
      ...(x402Chat ? { x402Chat } : {}),
      ...(x402Messages ? { x402Messages } : {}),
      emit,
      plugins: [
        billing,
        walletPlugin({ sql, admission, authenticate }),
        webhooksPlugin({ sql, authenticate, platformAuth, allowHttpLoopback: config.webhooks.allowHttpLoopback }),
        ...platformPlugins,
        ...x402Plugins,
      ],
    })
    server = app.listen({ port: config.port, hostname: config.host, maxRequestBodySize: SERVER_BODY_LIMIT, idleTimeout: 255 }).server
  }

  const url = server ? `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${server.port}` : null
  if (url) await startFetchThread(`${url}/healthz`)
  logger.info('meterway started', { role: config.role, url, staticKeys: config.staticApiKeys.length })

  let stopping: Promise<void> | null = null
  const stop = () => (stopping ??= stopInOrder())

  /**
   * SIGTERM: stop accepting, let in-flight requests finish, send the usage they leave, close the workers and the
   * connections, all within SHUTDOWN_GRACE_MS even when Redis or Postgres does not answer: each step waits only for
   * what is left of the grace time, and what could not be done is logged, not waited for.
   */
  async function stopInOrder(): Promise<void> {
    // A little is kept back for the process to exit once the steps are done.
    const deadline = Date.now() + config.shutdownGraceMs - Math.min(200, config.shutdownGraceMs / 10)
    const left = () => Math.max(0, deadline - Date.now())
    const within = async (what: string, ms: number, work: Promise<unknown>) => {
      let timer: ReturnType<typeof setTimeout> | undefined
      const gaveUp = new Promise<'late'>((resolve) => (timer = setTimeout(resolve, ms, 'late')))
      const result = await Promise.race([work.then(() => 'done' as const, () => 'done' as const), gaveUp])
      clearTimeout(timer)
      if (result === 'late') logger.warn('shutdown: stopped waiting', { step: what, waitedMs: ms })
    }
    if (server) {
      server.stop(false)
      // Streams may use the grace time, less a reserve for sending the usage they leave behind.
      const streamsUntil = deadline - Math.min(1_000, config.shutdownGraceMs / 4)
      while (server.pendingRequests > 0 && Date.now() < streamsUntil) await Bun.sleep(25)
      // Whatever still runs is cut: each one finishes (client_aborted) and leaves its record.
      server.stop(true)
    }
    // Usage emitted by the last requests reaches the queue before the workers stop taking it.
    if (usageQueue) {
      await usageQueue.drain(Math.max(left() - 100, 0))
      const unsent = usageQueue.pendingCount()
      if (unsent > 0) logger.error('shutdown: usage records not sent to the queue (Redis unreachable)', { records: unsent })
    }
    if (x402Payments) {
      await x402Payments.drain(Math.max(left() - 100, 0))
      const unsent = x402Payments.pendingCount()
      if (unsent > 0) logger.error('shutdown: x402 payment records not sent to the queue (Redis unreachable)', { records: unsent })
    }
    // Money floats held and not used go back now, not when their holds expire.
    if (admission) await within('give back money floats', left(), admission.returnFloats())
    const unsettled = admission?.abandonRetries() ?? []
    if (unsettled.length > 0) {
      // Their holds expire and are given back; their records (if sent) bring the cost to Postgres, and the next
      // wallet rebuild charges it.
      logger.error('shutdown: settlements not applied in Redis', { requests: unsettled.length, costNano: unsettled.reduce((sum, u) => sum + u.costNano, 0), requestIds: unsettled.slice(0, 20).map((u) => u.requestId) })
    }
    await within('close queues and workers', left(), Promise.allSettled([usageQueue?.close(), x402Payments?.close(), events?.close(), stopTokenPool(), workers?.close(), closeGauges?.()]))
    subscriber.disconnect()
    await within('close connections', left(), Promise.allSettled([sql.end({ timeout: Math.max(left() / 1000, 0) }), redis.quit()]))
    redis.disconnect()
    hot?.close()
    await within('send the last spans', left(), stopTracing())
  }

  return { url, port: server?.port ?? null, principals, stop }
}
