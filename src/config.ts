// The environment, validated once at boot against a TypeBox schema and frozen; nothing else reads process.env.
import { Type, type Static } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { GatewayConfigError, loadGatewayConfigFile } from './lib/gateway-config/load'
import type { GatewayFile } from './lib/gateway-config/types'
import { parseUsdToNano } from './pricing/money'

const HttpUrl = (def: string) => Type.String({ pattern: '^https?://[^\\s]+$', default: def, description: 'an http(s) URL' })
const Millis = (def: number) => Type.Integer({ minimum: 1, maximum: 86_400_000, default: def, description: 'milliseconds' })

export const EnvSchema = Type.Object({
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 8080 }),
  HOST: Type.String({ minLength: 1, default: '0.0.0.0' }),
  LOG_LEVEL: Type.Union([Type.Literal('debug'), Type.Literal('info'), Type.Literal('warn'), Type.Literal('error'), Type.Literal('silent')], { default: 'info' }),
  GATEWAY_API_KEYS: Type.String({ default: '', description: 'comma-separated static API keys' }),
  OPENAI_BASE_URL: HttpUrl('https://api.openai.com/v1'),
  OPENAI_API_KEY: Type.String({ default: '' }),
  ANTHROPIC_BASE_URL: HttpUrl('https://api.anthropic.com'),
  ANTHROPIC_API_KEY: Type.String({ default: '' }),
  GEMINI_BASE_URL: HttpUrl('https://generativelanguage.googleapis.com'),
  GEMINI_API_KEY: Type.String({ default: '' }),
  UPSTREAM_FIRST_BYTE_TIMEOUT_MS: Millis(60_000),
  UPSTREAM_TIMEOUT_MS: Millis(600_000),
  // 65,535 is the most Bun's fetch pool takes (a u16); 256 of it stay for webhooks and Stripe (see src/lib/fetch-pool.ts).
  UPSTREAM_MAX_CONNECTIONS: Type.Integer({ minimum: 1, maximum: 65_279, default: 10_000, description: 'upstream requests in flight at once, 1 to 65279' }),
  UPSTREAM_POOL_WAIT_MS: Type.Integer({ minimum: 0, maximum: 60_000, default: 1_000, description: 'milliseconds a request waits for a free upstream slot' }),
  // Bun's own variable, read here only to know what Bun sized its fetch pool to when this process started.
  BUN_CONFIG_MAX_HTTP_REQUESTS: Type.Integer({ minimum: 1, maximum: 65_535, default: 256, description: "Bun's fetch pool, 1 to 65535" }),
  // Bun's allocator's own variables, read here only to say at boot when they were left at Bun's defaults (see src/lib/allocator.ts).
  MIMALLOC_PURGE_HOLES: Type.String({ default: '', description: "Bun's allocator: 0 keeps the free blocks of pages in use for reuse" }),
  MIMALLOC_PURGE_DELAY: Type.String({ default: '', description: "Bun's allocator: milliseconds a free page is kept before it goes back to the OS" }),
  TOKENIZER_THREADS: Type.Integer({ minimum: 1, maximum: 16, default: 2, description: 'worker threads that count large texts' }),
  MAX_BODY_BYTES: Type.Integer({ minimum: 1024, maximum: 1_073_741_824, default: 10 * 1024 * 1024 }),
  METER_CROSSCHECK_RATE: Type.Number({ minimum: 0, maximum: 1, default: 0.01, description: 'share of requests (0 to 1) whose output is also counted when the provider reports usage' }),
  DATABASE_URL: Type.String({ pattern: '^postgres(ql)?://', default: 'postgres://postgres@127.0.0.1:5432/postgres' }),
  REDIS_URL: Type.String({ pattern: '^(rediss?|redis\\+cluster)://\\S+$', default: 'redis://127.0.0.1:6379', description: 'redis://host:port, rediss://…, or redis+cluster://host:port,host:port for a Redis Cluster' }),
  REDIS_CLUSTER_NODES: Type.String({ pattern: '^([^\\s,]+:\\d+(\\s*,\\s*[^\\s,]+:\\d+)*)?$', default: '', description: 'host:port,host:port: some nodes of a Redis Cluster (the rest are discovered); empty: REDIS_URL' }),
  QUEUE_PREFIX: Type.String({ pattern: '^\\{[A-Za-z0-9_-]{1,32}\\}$', default: '{mw}', description: 'a Redis Cluster hash tag such as {mw}' }),
  SHUTDOWN_GRACE_MS: Millis(30_000),
  ROLE: Type.Union([Type.Literal('all'), Type.Literal('api'), Type.Literal('worker')], { default: 'all', description: 'all, api or worker' }),
  // 32 characters: a token a person types is guessable; the failed-attempt limit below slows guessing, it cannot stop it.
  OTEL_EXPORTER_OTLP_ENDPOINT: Type.String({ pattern: '^(https?://\\S+)?$', default: '', description: 'OTLP/HTTP collector base URL (spans go to <url>/v1/traces as JSON); empty: no tracing' }),
  OTEL_SERVICE_NAME: Type.String({ minLength: 1, default: 'meterway' }),
  USAGE_RETENTION_MONTHS: Type.Integer({ minimum: 0, maximum: 1200, default: 0, description: 'whole months of usage_events kept besides the current one (older month partitions are dropped daily); 0 keeps everything' }),
  METRICS_TOKEN: Type.String({ pattern: '^(\\S{16,})?$', default: '', description: 'at least 16 characters without spaces; empty leaves /metrics open (keep it on a private network)' }),
  ADMIN_TOKEN: Type.String({ pattern: '^(\\S{32,})?$', default: '', description: 'at least 32 characters without spaces; empty disables the admin API' }),
  AUTH_FAILURE_LIMIT: Type.Integer({ minimum: 0, maximum: 1_000_000, default: 20, description: 'wrong keys or admin tokens per address and window; 0: no limit' }),
  AUTH_FAILURE_WINDOW_MS: Millis(60_000),
  TRUST_FORWARDED_FOR: Type.Boolean({ default: false, description: 'count callers by the last X-Forwarded-For hop (behind one proxy)' }),
  PUBLIC_BASE_URL: HttpUrl('http://localhost:8080'),
  REQUIRE_SUBSCRIPTION: Type.Boolean({ default: true }),
  PRINCIPAL_CACHE_TTL_MS: Type.Integer({ minimum: 0, maximum: 3_600_000, default: 30_000 }),
  STRIPE_SECRET_KEY: Type.String({ default: '' }),
  STRIPE_API_BASE: Type.String({ pattern: '^(https?://[^\\s]+)?$', default: '', description: 'an http(s) URL, or empty for the real Stripe' }),
  STRIPE_WEBHOOK_SECRET: Type.String({ default: '' }),
  STRIPE_PRO_PRICE_ID: Type.String({ default: '' }),
  STRIPE_TEST_SECRET_KEY: Type.String({ pattern: '^((sk|rk)_test_\\S+)?$', default: '', description: "Stripe's test-mode secret key (sk_test_… or rk_test_…): test end-user top-ups are created with it; empty: test top-ups answer 503" }),
  STRIPE_TEST_WEBHOOK_SECRET: Type.String({ default: '', description: 'the signing secret (whsec_…) of the Stripe test-mode webhook endpoint; empty: test-mode events are refused' }),
  STRIPE_PUBLISHABLE_KEY: Type.String({ pattern: '^(pk_live_\\S+)?$', default: '', description: "Stripe's live publishable key (pk_live_…), handed to live end-user sessions; empty: none" }),
  STRIPE_TEST_PUBLISHABLE_KEY: Type.String({ pattern: '^(pk_test_\\S+)?$', default: '', description: "Stripe's test publishable key (pk_test_…), handed to test end-user sessions; empty: none" }),
  USAGE_BATCH_SIZE: Type.Integer({ minimum: 1, maximum: 10_000, default: 500 }),
  USAGE_FLUSH_MS: Type.Integer({ minimum: 1, maximum: 60_000, default: 200 }),
  DEFAULT_RPM: Type.Integer({ minimum: 0, maximum: 100_000_000, default: 60, description: 'requests per minute per account or static key; 0: none' }),
  DEFAULT_TPM: Type.Integer({ minimum: 0, maximum: 1_000_000_000, default: 0, description: 'tokens per minute per account or static key; 0: none' }),
  HOLD_TTL_MS: Type.Integer({ minimum: 1_000, maximum: 86_400_000, default: 660_000, description: 'how long a hold outlives a gateway that died' }),
  CHECKPOINT_INTERVAL_MS: Type.Integer({ minimum: 100, maximum: 60_000, default: 1_000, description: 'how often a stream records what it has delivered' }),
  HOLD_SWEEP_INTERVAL_MS: Type.Integer({ minimum: 50, maximum: 600_000, default: 5_000, description: 'how often workers look for holds of gateways that died' }),
  PROGRESSIVE_HOLD_TOKENS: Type.Integer({ minimum: 16, maximum: 100_000, default: 256, description: 'output tokens per slice of a progressive hold' }),
  RATE_LIMIT_ON_REDIS_ERROR: Type.Union([Type.Literal('allow'), Type.Literal('deny')], { default: 'deny', description: 'allow or deny' }),
  STRIPE_REPORT_INTERVAL_MS: Type.Integer({ minimum: 100, maximum: 86_400_000, default: 60_000 }),
  STRIPE_METER_MODE: Type.Union([Type.Literal('spend'), Type.Literal('tokens')], { default: 'spend', description: 'spend or tokens' }),
  STRIPE_METER_EVENT_NAME: Type.String({ minLength: 1, default: 'llm_spend_micro_usd', description: 'the spend meter event name (spend mode)' }),
  STRIPE_MAX_CALLS_PER_SECOND: Type.Integer({ minimum: 1, maximum: 1_000, default: 100 }),
  LOW_BALANCE_THRESHOLD_USD: Type.String({ pattern: '^\\d{1,9}(\\.\\d{1,9})?$', default: '1.00', description: 'a USD amount such as "1.00"' }),
  WEBHOOK_ALLOW_HTTP_LOOPBACK: Type.Boolean({ default: false, description: 'dev/tests only: allow http:// webhook URLs on 127.0.0.1' }),
  GATEWAY_CONFIG: Type.String({ default: '', description: 'path of a gateway config file (YAML)' }),
  X402_MAX_TIMEOUT_SECONDS: Type.Integer({ minimum: 10, maximum: 3_600, default: 300, description: 'seconds an x402 payment stays valid (maxTimeoutSeconds), 10 to 3600' }),
  X402_UNPAID_RPM: Type.Integer({ minimum: 0, maximum: 100_000_000, default: 600, description: 'unpaid x402 requests (402s) per minute per client address; 0: none' }),
  X402_PAYER_RPM: Type.Integer({ minimum: 0, maximum: 100_000_000, default: 60, description: 'x402 requests per minute per payer address (metered routes); 0: none' }),
  X402_FACILITATOR_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 120_000, default: 15_000, description: 'milliseconds a facilitator call (verify, settle) may take, 100 to 120000' }),
  WORKER_LOCK_MS: Type.Integer({ minimum: 1_000, maximum: 600_000, default: 30_000, description: 'how long a crashed worker holds its jobs' }),
})

type Env = Static<typeof EnvSchema>

/** One Redis, or a Redis Cluster reached through some of its nodes (the client discovers the others). */
export type RedisTarget =
  | { kind: 'single'; url: string }
  | { kind: 'cluster'; nodes: readonly { host: string; port: number }[]; username?: string; password?: string }

export interface Config {
  /** PORT if set, else the config file's gateway.port, else 8080. */
  port: number
  host: string
  logLevel: Env['LOG_LEVEL']
  staticApiKeys: readonly string[]
  providers: {
    openai: { baseUrl: string; apiKey: string }
    anthropic: { baseUrl: string; apiKey: string }
    google: { baseUrl: string; apiKey: string }
  }
  upstream: {
    firstByteTimeoutMs: number
    totalTimeoutMs: number
    /** Our upstream pool: requests in flight at once, from the send until the body ends. */
    maxConnections: number
    /** How long a request waits for a slot before a 503 gateway_capacity_exhausted. */
    poolWaitMs: number
    /** BUN_CONFIG_MAX_HTTP_REQUESTS as this process started with it: Bun sizes its fetch pool from it once, at start. */
    bunFetchPool: number
  }
  /** MIMALLOC_PURGE_HOLES as this process started with it ('' when unset): read by Bun's allocator once, at start. */
  allocatorPurgeHoles: string
  /** MIMALLOC_PURGE_DELAY as this process started with it ('' when unset), likewise. */
  allocatorPurgeDelay: string
  /** Worker threads counting texts of OFF_THREAD_MIN_CHARS and more (each holds its own o200k encoder, ~45 MB). */
  tokenizerThreads: number
  maxBodyBytes: number
  /** Share of requests with provider usage whose output we also count, to watch drift (a tiktoken count costs ~20–35 µs). */
  meterCrosscheckRate: number
  databaseUrl: string
  /** Where Redis is: every connection is made from this (src/lib/redis.ts). */
  redis: RedisTarget
  /** REDIS_URL (single) or redis+cluster://host:port,… without credentials (cluster): for messages that name it. */
  redisUrl: string
  /** BullMQ key prefix (a hash tag); processes that share queues share it, and nothing else does. */
  queuePrefix: string
  shutdownGraceMs: number
  role: Env['ROLE']
  /** Empty: the admin API is off. */
  adminToken: string
  metricsToken: string
  tracing: { endpoint: string; serviceName: string }
  /** Wrong keys or admin tokens one address may present per window before it is refused until the window ends (0: no limit). */
  authFailures: { limit: number; windowMs: number }
  /** Callers are told apart by the last X-Forwarded-For hop instead of the socket (only behind a proxy that sets it). */
  trustForwardedFor: boolean
  publicBaseUrl: string
  requireSubscription: boolean
  principalCacheTtlMs: number
  stripe: { secretKey: string; apiBase: string; webhookSecret: string; proPriceId: string }
  /** Stripe's test mode, for test-mode end-user top-ups (empty: not configured). */
  stripeTest: { secretKey: string; webhookSecret: string }
  /** Stripe publishable keys end-user sessions are given, by mode (null: not configured). */
  stripePublishableKeys: { live: string | null; test: string | null }
  usage: { batchSize: number; flushMs: number; retentionMonths: number }
  /** A worker that dies holds its active jobs this long before another worker takes them again. */
  workerLockMs: number
  stripeReport: { intervalMs: number; meterMode: 'spend' | 'tokens'; spendEventName: string; maxCallsPerSecond: number }
  /** A prepaid wallet going below this (unless it has its own) raises wallet.low_balance, once per crossing. */
  webhooks: { allowHttpLoopback: boolean; lowBalanceThresholdNano: bigint }
  admission: {
    defaultRpm: number
    defaultTpm: number
    holdTtlMs: number
    progressiveHoldTokens: number
    onRedisError: 'allow' | 'deny'
    /** Names the hold sweeper's index; the same as the queues'. */
    queuePrefix: string
    /** A stream's open record is checkpointed this often (and at each slice of a progressive hold). */
    checkpointIntervalMs: number
    /** Workers look this often for tracked requests whose hold expired. */
    sweepIntervalMs: number
  }
  /** The gateway config file (--config, GATEWAY_CONFIG or ./meterway.yaml), parsed and checked; null when there is none. */
  gatewayFile: GatewayFile | null
  /** x402 payments on the config file's routes. */
  x402: {
    /** maxTimeoutSeconds of the requirements: the client signs validBefore = now + this. */
    maxTimeoutSeconds: number
    /** Per facilitator call (verify, settle). */
    facilitatorTimeoutMs: number
    /** Requests per minute per payer address on x402 routes (x402 requests carry no key); 0: none. */
    payerRpm: number
    /** Unpaid requests (402s) per minute per client address on x402 routes; 0: none. */
    unpaidRpm: number
  }
}

export interface ConfigOptions {
  /** A path from the command line (--config); it wins over GATEWAY_CONFIG. */
  configFile?: string
  /** Where meterway.yaml is looked for (the working folder by default). */
  cwd?: string
}

export class ConfigError extends Error {}

/** Variables whose value must not reach a log, even a wrong one: the error gives their length instead. */
const SECRET = /(TOKEN|SECRET|_KEY|_KEYS)$/

const trimSlash = (url: string) => url.replace(/\/+$/, '')

/** The config file to read: --config, else GATEWAY_CONFIG, else meterway.yaml in the working folder if it exists; null: none. */
export function findGatewayConfigPath(source: Record<string, string | undefined> = process.env, options: ConfigOptions = {}): string | null {
  if (options.configFile) return options.configFile
  if (source.GATEWAY_CONFIG) return source.GATEWAY_CONFIG
  const local = options.cwd ? join(options.cwd, 'meterway.yaml') : 'meterway.yaml'
  return existsSync(local) ? local : null
}

/** Reads and checks a gateway config file with `source` filling its ${VAR}s; throws ConfigError naming the file and key. */
export function readGatewayConfigFile(path: string, source: Record<string, string | undefined> = process.env): GatewayFile {
  try {
    return loadGatewayConfigFile(path, source)
  } catch (error) {
    if (error instanceof GatewayConfigError) throw new ConfigError(error.message, { cause: error })
    throw error
  }
}

/**
 * Parses an environment (process.env by default) and the gateway config file if there is one into a frozen Config;
 * throws ConfigError naming the first bad variable, or the file and key.
 */
export function loadConfig(source: Record<string, string | undefined> = process.env, options: ConfigOptions = {}): Readonly<Config> {
  const raw: Record<string, unknown> = {}
  for (const key of Object.keys(EnvSchema.properties)) {
    const value = source[key]
    if (value !== undefined && value !== '') raw[key] = value
  }
  const env = Value.Default(EnvSchema, Value.Convert(EnvSchema, raw))
  const firstError = Value.Errors(EnvSchema, env).First()
  if (firstError) {
    const name = firstError.path.replace(/^\//, '')
    const schema = firstError.schema as { description?: string }
    const expected = schema.description ? `${firstError.message} (${schema.description})` : firstError.message
    const value = source[name]
    const got = value !== undefined && SECRET.test(name) ? `${value.length} character${value.length === 1 ? '' : 's'} (not shown)` : JSON.stringify(value ?? null)
    throw new ConfigError(`${name}: ${expected}; got ${got}`)
  }
  const e = env as Env
  const redis = parseRedisTarget(e.REDIS_URL, e.REDIS_CLUSTER_NODES, source.REDIS_URL !== undefined && source.REDIS_URL !== '')
  const filePath = findGatewayConfigPath(source, options)
  const gatewayFile = filePath === null ? null : readGatewayConfigFile(filePath, source)
  const portSet = source.PORT !== undefined && source.PORT !== ''
  return Object.freeze({
    port: portSet ? e.PORT : (gatewayFile?.gateway.port ?? e.PORT),
    host: e.HOST,
    logLevel: e.LOG_LEVEL,
    staticApiKeys: Object.freeze(e.GATEWAY_API_KEYS.split(',').map((k) => k.trim()).filter(Boolean)),
    providers: Object.freeze({
      openai: { baseUrl: trimSlash(e.OPENAI_BASE_URL), apiKey: e.OPENAI_API_KEY },
      anthropic: { baseUrl: trimSlash(e.ANTHROPIC_BASE_URL), apiKey: e.ANTHROPIC_API_KEY },
      google: { baseUrl: trimSlash(e.GEMINI_BASE_URL), apiKey: e.GEMINI_API_KEY },
    }),
    upstream: Object.freeze({
      firstByteTimeoutMs: e.UPSTREAM_FIRST_BYTE_TIMEOUT_MS,
      totalTimeoutMs: e.UPSTREAM_TIMEOUT_MS,
      maxConnections: e.UPSTREAM_MAX_CONNECTIONS,
      poolWaitMs: e.UPSTREAM_POOL_WAIT_MS,
      bunFetchPool: e.BUN_CONFIG_MAX_HTTP_REQUESTS,
    }),
    allocatorPurgeHoles: e.MIMALLOC_PURGE_HOLES,
    allocatorPurgeDelay: e.MIMALLOC_PURGE_DELAY,
    tokenizerThreads: e.TOKENIZER_THREADS,
    maxBodyBytes: e.MAX_BODY_BYTES,
    meterCrosscheckRate: e.METER_CROSSCHECK_RATE,
    databaseUrl: e.DATABASE_URL,
    redis,
    redisUrl: redis.kind === 'single' ? redis.url : `redis+cluster://${redis.nodes.map((n) => `${n.host}:${n.port}`).join(',')}`,
    queuePrefix: e.QUEUE_PREFIX,
    shutdownGraceMs: e.SHUTDOWN_GRACE_MS,
    role: e.ROLE,
    adminToken: e.ADMIN_TOKEN,
    metricsToken: e.METRICS_TOKEN,
    tracing: Object.freeze({ endpoint: e.OTEL_EXPORTER_OTLP_ENDPOINT, serviceName: e.OTEL_SERVICE_NAME }),
    authFailures: Object.freeze({ limit: e.AUTH_FAILURE_LIMIT, windowMs: e.AUTH_FAILURE_WINDOW_MS }),
    trustForwardedFor: e.TRUST_FORWARDED_FOR,
    publicBaseUrl: trimSlash(e.PUBLIC_BASE_URL),
    requireSubscription: e.REQUIRE_SUBSCRIPTION,
    principalCacheTtlMs: e.PRINCIPAL_CACHE_TTL_MS,
    stripe: Object.freeze({ secretKey: e.STRIPE_SECRET_KEY, apiBase: trimSlash(e.STRIPE_API_BASE), webhookSecret: e.STRIPE_WEBHOOK_SECRET, proPriceId: e.STRIPE_PRO_PRICE_ID }),
    stripeTest: Object.freeze({ secretKey: e.STRIPE_TEST_SECRET_KEY, webhookSecret: e.STRIPE_TEST_WEBHOOK_SECRET }),
    stripePublishableKeys: Object.freeze({ live: e.STRIPE_PUBLISHABLE_KEY || null, test: e.STRIPE_TEST_PUBLISHABLE_KEY || null }),
    usage: Object.freeze({ batchSize: e.USAGE_BATCH_SIZE, flushMs: e.USAGE_FLUSH_MS, retentionMonths: e.USAGE_RETENTION_MONTHS }),
    workerLockMs: e.WORKER_LOCK_MS,
    stripeReport: Object.freeze({
      intervalMs: e.STRIPE_REPORT_INTERVAL_MS,
      meterMode: e.STRIPE_METER_MODE,
      spendEventName: e.STRIPE_METER_EVENT_NAME,
      maxCallsPerSecond: e.STRIPE_MAX_CALLS_PER_SECOND,
    }),
    webhooks: Object.freeze({ allowHttpLoopback: e.WEBHOOK_ALLOW_HTTP_LOOPBACK, lowBalanceThresholdNano: parseUsdToNano(e.LOW_BALANCE_THRESHOLD_USD) }),
    admission: Object.freeze({
      defaultRpm: e.DEFAULT_RPM,
      defaultTpm: e.DEFAULT_TPM,
      holdTtlMs: e.HOLD_TTL_MS,
      progressiveHoldTokens: e.PROGRESSIVE_HOLD_TOKENS,
      onRedisError: e.RATE_LIMIT_ON_REDIS_ERROR,
      queuePrefix: e.QUEUE_PREFIX,
      checkpointIntervalMs: e.CHECKPOINT_INTERVAL_MS,
      sweepIntervalMs: e.HOLD_SWEEP_INTERVAL_MS,
    }),
    gatewayFile,
    x402: Object.freeze({ maxTimeoutSeconds: e.X402_MAX_TIMEOUT_SECONDS, facilitatorTimeoutMs: e.X402_FACILITATOR_TIMEOUT_MS, payerRpm: e.X402_PAYER_RPM, unpaidRpm: e.X402_UNPAID_RPM }),
  })
}

const CLUSTER_URL = /^redis\+cluster:\/\/(?:([^:@/]*)(?::([^@/]*))?@)?([^/?#@]+)\/?$/

/** "h1:p1,[::1]:p2" → nodes; throws ConfigError naming the variable on a bad one. */
function parseNodes(list: string, variable: string): { host: string; port: number }[] {
  return list.split(',').map((entry) => {
    const match = /^(\[[0-9a-fA-F:.]+\]|[^:\[\]]+):(\d{1,5})$/.exec(entry.trim())
    const port = Number(match?.[2])
    if (!match || port < 1 || port > 65535) throw new ConfigError(`${variable}: expected host:port for each cluster node, comma-separated; got ${JSON.stringify(entry)}`)
    return { host: match[1]!.replace(/^\[|\]$/g, ''), port }
  })
}

/** REDIS_CLUSTER_NODES or a redis+cluster:// REDIS_URL names a cluster, any other REDIS_URL one Redis; both set is refused, not guessed at. */
function parseRedisTarget(url: string, clusterNodes: string, urlGiven: boolean): RedisTarget {
  if (clusterNodes) {
    if (urlGiven) throw new ConfigError('REDIS_CLUSTER_NODES: set either it or REDIS_URL, not both (a cluster with a password: REDIS_URL=redis+cluster://:password@host:port,host:port)')
    return { kind: 'cluster', nodes: parseNodes(clusterNodes, 'REDIS_CLUSTER_NODES') }
  }
  if (!url.startsWith('redis+cluster://')) return { kind: 'single', url }
  const match = CLUSTER_URL.exec(url)
  if (!match) throw new ConfigError('REDIS_URL: expected redis+cluster://[user:password@]host:port,host:port for a Redis Cluster')
  const [, username, password, hosts] = match
  return {
    kind: 'cluster',
    nodes: parseNodes(hosts!, 'REDIS_URL'),
    ...(username ? { username: decodeURIComponent(username) } : {}),
    ...(password ? { password: decodeURIComponent(password) } : {}),
  }
}
