// insertUsageEvents on real Postgres: every column stored, replays skipped and not counted, batches beyond the parameter limit.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { insertUsageEvents } from '../../src/db/queries/usage'
import type { Sql } from '../../src/lib/db'
import { testDb, uniqueId } from '../helpers/db'
import { usageRecord } from './usage-records'

let sql: Sql
beforeAll(async () => {
  sql = await testDb()
})
afterAll(async () => {
  await sql.end()
})

describe('insertUsageEvents', () => {
  test('stores every field of the record and counts only new rows', async () => {
    const accountId = uniqueId('acct')
    const a = usageRecord({ accountId, costNano: 2 ** 40, ttfbMs: null, errorCode: 'upstream_timeout', status: 'timeout', stream: false })
    const b = usageRecord({ accountId })
    expect(await insertUsageEvents(sql, [a, b])).toBe(2)
    expect(await insertUsageEvents(sql, [a, b, usageRecord({ accountId })])).toBe(1)

    const [row] = await sql`SELECT * FROM usage_events WHERE request_id = ${a.requestId}`
    expect(row).toMatchObject({
      request_id: a.requestId, account_id: accountId, key_id: a.keyId, model: a.model, provider: a.provider,
      upstream_model: a.upstreamModel, stream: false, status: 'timeout', http_status: a.httpStatus,
      input_tokens: a.inputTokens, output_tokens: a.outputTokens, cached_input_tokens: a.cachedInputTokens,
      cache_write_tokens: a.cacheWriteTokens, reasoning_tokens: a.reasoningTokens, source: a.source,
      counted_input_tokens: a.countedInputTokens, counted_output_tokens: a.countedOutputTokens,
      cost_nano: String(2 ** 40), catalog_version: a.catalogVersion, ttfb_ms: null, total_ms: a.totalMs,
      error_code: 'upstream_timeout',
    })
    expect((row!.started_at as Date).toISOString()).toBe(a.startedAt)
  })

  test('a batch above the 65,535-parameter limit of one statement is still written whole', async () => {
    const accountId = uniqueId('acct')
    const records = Array.from({ length: 3_000 }, () => usageRecord({ accountId }))
    expect(await insertUsageEvents(sql, records)).toBe(3_000)
    const [count] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM usage_events WHERE account_id = ${accountId}`
    expect(count!.n).toBe(3_000)
  })

  test('a record Postgres refuses fails with a class 23 SQLSTATE (what the worker splits batches on)', async () => {
    const error = await insertUsageEvents(sql, [usageRecord({ costNano: -1 })]).catch((e: unknown) => e)
    expect((error as { code?: string }).code).toMatch(/^23/)
  })
})
