// Every request ends exactly once: finish() runs once per request in every outcome (answered, client gone, upstream
// error, timeout, budget cut, failure after partial output, never sent), and writes exactly one usage record.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { insertCredit } from '../../src/db/queries/ledger'
import type { Outcome } from '../../src/exchange/outcome'
import type { Sql } from '../../src/lib/db'
import { upstreamPool } from '../../src/providers/http'
import { testDb, uniqueId } from '../helpers/db'
import { closedPortUrl, startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream'
import { startGateway, TEST_KEY, upstreamEnv, type TestGateway } from '../helpers/gateway'

let upstream: FakeUpstream
let gateway: TestGateway
let unreachable: TestGateway
let sql: Sql

/** Slots other test files may have left taken (provider tests send without ending their calls). */
let slotsTakenBefore = 0

beforeAll(async () => {
  slotsTakenBefore = upstreamPool.stats().active
  upstream = startFakeUpstream()
  const timeouts = { UPSTREAM_FIRST_BYTE_TIMEOUT_MS: '500', UPSTREAM_TIMEOUT_MS: '2000', PROGRESSIVE_HOLD_TOKENS: '32' }
  gateway = await startGateway({ ...upstreamEnv(upstream.url), ...timeouts })
  unreachable = await startGateway(upstreamEnv(await closedPortUrl()))
  sql = await testDb(2)
})
afterAll(async () => {
  await gateway.stop()
  await unreachable.stop()
  await sql.end()
  upstream.stop()
})

async function until<T>(what: string, check: () => T | null | undefined, limitMs = 10_000): Promise<T> {
  const stopAt = performance.now() + limitMs
  for (;;) {
    const value = check()
    if (value !== null && value !== undefined) return value
    if (performance.now() > stopAt) throw new Error(`timed out waiting for ${what}`)
    await Bun.sleep(10)
  }
}

/** Sends one request; `read` decides how much of the answer the client takes before it leaves. */
async function send(on: TestGateway, body: Record<string, unknown>, options: { apiKey?: string; leaveAfterChunks?: number; leaveAfterMs?: number } = {}) {
  const controller = new AbortController()
  const before = new Set(on.finishes.keys())
  if (options.leaveAfterMs !== undefined) setTimeout(() => controller.abort(), options.leaveAfterMs)
  let status = 0
  try {
    const response = await fetch(`${on.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${options.apiKey ?? TEST_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: controller.signal,
    })
    status = response.status
    let chunks = 0
    for await (const _ of response.body!) {
      if (options.leaveAfterChunks !== undefined && ++chunks >= options.leaveAfterChunks) {
        controller.abort()
        break
      }
    }
  } catch {
    // the client's own abort
  }
  // The request this call made is the one new id in the finish log.
  const requestId = await until('the request to finish', () => [...on.finishes.keys()].find((id) => !before.has(id)))
  return { status, requestId }
}

/** Waits a moment past the finish for any second call, then checks: one finish, the first, one usage record. */
async function expectOneFinish(on: TestGateway, requestId: string, status: Outcome['status']) {
  const record = await on.usageFor(requestId, 10_000)
  expect(record.status).toBe(status)
  const calls = on.finishes.get(requestId)!
  expect(calls).toHaveLength(1)
  expect(calls[0]!.first).toBe(true)
  expect(calls[0]!.outcome.status).toBe(status)
  expect(on.usage.filter((r) => r.requestId === requestId)).toHaveLength(1)
  return { record, outcome: calls[0]!.outcome }
}

const ask = (content: string, extra: Record<string, unknown> = {}) => ({ model: 'openai/gpt-4o', messages: [{ role: 'user', content }], ...extra })

describe('finish runs exactly once', () => {
  test('answered, not streamed', async () => {
    const { status, requestId } = await send(gateway, ask('Hello!'))
    expect(status).toBe(200)
    await expectOneFinish(gateway, requestId, 'ok')
  })

  test('answered, streamed', async () => {
    const { status, requestId } = await send(gateway, ask('Hello!', { stream: true }))
    expect(status).toBe(200)
    await expectOneFinish(gateway, requestId, 'ok')
  })

  test('the client leaves mid-stream', async () => {
    const { requestId } = await send(gateway, ask('Hello! scenario:slow', { stream: true }), { leaveAfterChunks: 1 })
    await expectOneFinish(gateway, requestId, 'client_aborted')
  })

  test('the client leaves before the upstream said anything', async () => {
    const { requestId } = await send(gateway, ask('Hello! scenario:stall', { stream: true }), { leaveAfterMs: 100 })
    await expectOneFinish(gateway, requestId, 'client_aborted')
  })

  test('the upstream refuses (429), not streamed and streamed', async () => {
    for (const stream of [false, true]) {
      const { status, requestId } = await send(gateway, ask('Hello! scenario:error-429', { stream }))
      expect(status).toBe(429)
      await expectOneFinish(gateway, requestId, 'upstream_error')
    }
  })

  test('the upstream fails after partial output (Anthropic error event mid-stream)', async () => {
    const { status, requestId } = await send(gateway, { ...ask('Hello! scenario:midstream-error', { stream: true }), model: 'anthropic/claude-sonnet-4' })
    expect(status).toBe(200)
    const { record } = await expectOneFinish(gateway, requestId, 'upstream_error')
    expect(record.outputTokens).toBeGreaterThan(0)
  })

  test('the upstream breaks off mid-stream without its end marker', async () => {
    const { requestId } = await send(gateway, ask('Hello! scenario:break', { stream: true }))
    await expectOneFinish(gateway, requestId, 'upstream_error')
  })

  test('the upstream answers garbage before its first event', async () => {
    const { status, requestId } = await send(gateway, ask('Hello! scenario:garbage', { stream: true }))
    expect(status).toBe(502)
    await expectOneFinish(gateway, requestId, 'upstream_error')
  })

  test('first-byte timeout, not streamed and streamed', async () => {
    for (const stream of [false, true]) {
      const { status, requestId } = await send(gateway, ask('Hello! scenario:stall', { stream }))
      expect(status).toBe(504)
      await expectOneFinish(gateway, requestId, 'timeout')
    }
  })

  test('total timeout mid-stream', async () => {
    const { status, requestId } = await send(gateway, ask('Hello! scenario:stall-mid', { stream: true }))
    expect(status).toBe(200)
    await expectOneFinish(gateway, requestId, 'timeout')
  })

  test('a prepaid stream cut where its budget stops', async () => {
    const id = uniqueId('finish')
    const registered = await fetch(`${gateway.url}/agents/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ agent_id: id, name: 'Finish' }) })
    const { api_key: apiKey } = (await registered.json()) as { api_key: string }
    await sql`UPDATE accounts SET subscription_status = 'active', billing_mode = 'prepaid' WHERE id = ${id}`
    // A prompt and about 100 output tokens of gpt-4o.
    await insertCredit(sql, id, 1_100_000n, `credit:${id}`, 'test')
    const { status, requestId } = await send(gateway, ask('Write a lot. scenario:long', { stream: true }), { apiKey })
    expect(status).toBe(200)
    const { record, outcome } = await expectOneFinish(gateway, requestId, 'ok')
    expect(outcome.complete).toBe(false)
    expect(record.outputTokens).toBeGreaterThan(0)
    expect(record.outputTokens).toBeLessThan(1_000)
  })

  test('never sent: the upstream refuses the connection, and nothing is billed', async () => {
    for (const stream of [false, true]) {
      const { status, requestId } = await send(unreachable, ask('Hello!', { stream }))
      expect(status).toBe(502)
      const { record } = await expectOneFinish(unreachable, requestId, 'upstream_error')
      expect(record.costNano).toBe(0)
      expect(record.inputTokens).toBe(0)
    }
  })

  test('across every request of this file, no finish ran twice, and every upstream pool slot was given back', () => {
    for (const on of [gateway, unreachable]) {
      for (const [requestId, calls] of on.finishes) expect({ requestId, calls: calls.length }).toEqual({ requestId, calls: 1 })
    }
    // A finished request ends its upstream call, which frees its slot: however it ended, none is left taken.
    expect(upstreamPool.stats().active).toBe(slotsTakenBefore)
  })
})
