// Synthetic usage records for the usage pipeline's tests.
import type { UsageRecord } from '../../src/metering/usage-record'

export function usageRecord(overrides: Partial<UsageRecord> = {}): UsageRecord {
  return {
    requestId: `req_${crypto.randomUUID().replaceAll('-', '')}`,
    keyId: 'key_test',
    accountId: 'acct_test',
    model: 'openai/gpt-4o-mini',
    provider: 'openai',
    upstreamModel: 'gpt-4o-mini',
    stream: true,
    status: 'ok',
    httpStatus: 200,
    inputTokens: 120,
    outputTokens: 48,
    cachedInputTokens: 0,
    cacheWriteTokens: 0,
    reasoningTokens: 0,
    costNano: 46_800,
    overHoldNano: 0,
    moneyMode: 'none',
    subject: 'acct_test',
    catalogVersion: 'test-1',
    source: 'both',
    countedInputTokens: 121,
    countedOutputTokens: 48,
    inputTokensDiff: -1,
    outputTokensDiff: 0,
    ttfbMs: 12.5,
    totalMs: 340.25,
    startedAt: new Date().toISOString(),
    errorCode: null,
    ...overrides,
  }
}

/** Polling with a deadline lives in one place; re-exported for the tests that import it from here. */
export { waitFor } from '../helpers/poll'
