// Starts the real server (Postgres, Redis, usage queue and workers) in process on a free port; usage records are tapped for assertions.
import OpenAI from 'openai'
import { loadConfig, type Config } from '../../src/config'
import { createLogger } from '../../src/lib/logger'
import type { UsageRecord } from '../../src/metering/usage-record'
import type { Outcome } from '../../src/exchange/outcome'
import { startServer, type RunningServer, type ServerOptions } from '../../src/server'
import { prepareTestDatabase, TEST_DATABASE_URL, TEST_QUEUE_PREFIX } from './db'

export const TEST_KEY = 'mw_test_key_0123456789'
export const ADMIN_TOKEN = 'admin-token-for-tests-0123456789'

export interface TestGateway {
  url: string
  config: Readonly<Config>
  server: RunningServer
  usage: UsageRecord[]
  /** Every call of every request's finish, by request id (`first` false: a call that did nothing). */
  finishes: Map<string, { outcome: Outcome; first: boolean }[]>
  /** Resolves with the record of that request id once it was emitted. */
  usageFor(requestId: string, timeoutMs?: number): Promise<UsageRecord>
  client(options?: { apiKey?: string; prefix?: '/v1' | '/llm/v1' }): OpenAI
  stop(): Promise<void>
}

export async function startGateway(env: Record<string, string> = {}, options: Pick<ServerOptions, 'recordPayment'> = {}): Promise<TestGateway> {
  await prepareTestDatabase()
  const config = loadConfig({
    GATEWAY_API_KEYS: TEST_KEY,
    ADMIN_TOKEN,
    LOG_LEVEL: 'silent',
    PORT: '0',
    HOST: '127.0.0.1',
    DATABASE_URL: TEST_DATABASE_URL,
    QUEUE_PREFIX: TEST_QUEUE_PREFIX,
    SHUTDOWN_GRACE_MS: '2000',
    // Tests check our count beside the provider's on every request.
    METER_CROSSCHECK_RATE: '1',
    // Suites send thousands of requests with one key; the rate-limit tests set their own limits.
    DEFAULT_RPM: '100000000',
    // Every test file runs in one process from 127.0.0.1: the x402 limits per address and per payer would be shared by
    // unrelated files; the tests of those limits set their own.
    X402_UNPAID_RPM: '0',
    X402_PAYER_RPM: '0',
    ...env,
  })
  const usage: UsageRecord[] = []
  const finishes = new Map<string, { outcome: Outcome; first: boolean }[]>()
  const waiters = new Map<string, (record: UsageRecord) => void>()
  const server = await startServer(config, {
    ...options,
    logger: createLogger(config.logLevel),
    tapUsage: (record) => {
      usage.push(record)
      waiters.get(record.requestId)?.(record)
    },
    tapFinish: (requestId, outcome, first) => {
      const calls = finishes.get(requestId) ?? []
      calls.push({ outcome, first })
      finishes.set(requestId, calls)
    },
  })
  const url = server.url!

  return {
    url,
    config,
    server,
    usage,
    finishes,
    usageFor(requestId, timeoutMs = 2_000) {
      const existing = usage.find((r) => r.requestId === requestId)
      if (existing) return Promise.resolve(existing)
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no usage record for ${requestId} within ${timeoutMs} ms`)), timeoutMs)
        waiters.set(requestId, (record) => {
          clearTimeout(timer)
          resolve(record)
        })
      })
    },
    client: ({ apiKey = TEST_KEY, prefix = '/v1' } = {}) => new OpenAI({ apiKey, baseURL: `${url}${prefix}`, maxRetries: 0, timeout: 10_000 }),
    stop: () => server.stop(),
  }
}

/** Provider base URLs pointing at a fake upstream. */
export function upstreamEnv(baseUrl: string): Record<string, string> {
  return {
    OPENAI_BASE_URL: `${baseUrl}/v1`,
    OPENAI_API_KEY: 'sk-upstream-openai-secret-123456',
    ANTHROPIC_BASE_URL: baseUrl,
    ANTHROPIC_API_KEY: 'sk-ant-upstream-secret-123456',
    GEMINI_BASE_URL: baseUrl,
    GEMINI_API_KEY: 'AIzaUpstreamGeminiSecret123456',
  }
}
