// Starts a real gateway in process on a free port, with a usage sink the test can read and wait on.
import OpenAI from 'openai'
import { createApp } from '../../src/app'
import { loadConfig } from '../../src/config'
import { serverBodyLimit } from '../../src/lib/framework-errors'
import { createLogger } from '../../src/lib/logger'
import type { UsageRecord } from '../../src/metering/usage-record'
import { createStaticKeyAuthenticator } from '../../src/modules/auth/service'
import { buildCatalog } from '../../src/pricing/catalog'
import { buildProviders } from '../../src/providers/registry'

export const TEST_KEY = 'mw_test_key_0123456789'

export interface TestGateway {
  url: string
  usage: UsageRecord[]
  /** Resolves with the record of that request id once it was emitted. */
  usageFor(requestId: string, timeoutMs?: number): Promise<UsageRecord>
  client(options?: { apiKey?: string; prefix?: '/v1' | '/llm/v1' }): OpenAI
  stop(): Promise<void>
}

export async function startGateway(env: Record<string, string> = {}): Promise<TestGateway> {
  const config = loadConfig({ GATEWAY_API_KEYS: TEST_KEY, LOG_LEVEL: 'silent', ...env })
  const usage: UsageRecord[] = []
  const waiters = new Map<string, (record: UsageRecord) => void>()
  const app = createApp({
    config,
    catalog: buildCatalog(),
    providers: buildProviders(config),
    authenticate: createStaticKeyAuthenticator(config.staticApiKeys),
    recordUsage: (record) => {
      usage.push(record)
      waiters.get(record.requestId)?.(record)
    },
    readiness: { postgres: async () => {}, redis: async () => {} },
    logger: createLogger(config.logLevel),
  }).listen({ port: 0, hostname: '127.0.0.1', maxRequestBodySize: serverBodyLimit(config.maxBodyBytes) })
  const url = `http://127.0.0.1:${app.server!.port}`

  return {
    url,
    usage,
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
    stop: async () => {
      await app.stop(true)
    },
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
