// Rate limits on the real Redis: the 61st request of a minute, headers counting down, limits shared by two processes.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { uniqueId } from '../helpers/db'
import { ADMIN_TOKEN, startGateway, type TestGateway } from '../helpers/gateway'

// A key of its own per run: its bucket in Redis starts full.
const KEY = `mw_rl_${crypto.randomUUID().replaceAll('-', '')}`
let first: TestGateway
let second: TestGateway

beforeAll(async () => {
  // Two gateway processes on one Redis, the product's default of 60 requests per minute.
  first = await startGateway({ GATEWAY_API_KEYS: KEY, DEFAULT_RPM: '60' })
  second = await startGateway({ GATEWAY_API_KEYS: KEY, DEFAULT_RPM: '60' })
})
afterAll(async () => {
  await Promise.all([first.stop(), second.stop()])
})

const chat = (base: string, apiKey: string, body: Record<string, unknown> = {}) =>
  fetch(`${base}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'mock/echo', messages: [{ role: 'user', content: 'hi' }], ...body }),
  })

describe('requests per minute', () => {
  test('60 pass with X-RateLimit-Remaining counting down across both processes; then a 429 with Retry-After', async () => {
    const remaining: number[] = []
    const started = Date.now()
    // The bucket refills one request per second: on a loaded machine the 60 requests can take longer than that, so a
    // refill may let a request through without a step down, and one more in. Each is bounded by the time taken.
    let refused: Response | null = null
    for (let i = 0; i < 200 && !refused; i++) {
      const response = await chat(i % 2 === 0 ? first.url : second.url, KEY)
      if (response.status === 429) {
        refused = response
        break
      }
      expect(response.status).toBe(200)
      await response.text()
      expect(response.headers.get('x-ratelimit-limit')).toBe('60')
      expect(response.headers.get('x-ratelimit-limit-requests')).toBe('60')
      expect(response.headers.get('x-ratelimit-remaining-requests')).toBe(response.headers.get('x-ratelimit-remaining'))
      const reset = Number(response.headers.get('x-ratelimit-reset'))
      expect(reset).toBeGreaterThanOrEqual(Math.floor(Date.now() / 1000))
      remaining.push(Number(response.headers.get('x-ratelimit-remaining')))
    }
    const refills = Math.ceil((Date.now() - started) / 1000)
    // A full bucket of 60: the first admitted leaves 59, and every admitted request takes one (a refill may give it back).
    expect(remaining[0]).toBe(59)
    for (let i = 1; i < remaining.length; i++) expect(remaining[i]!).toBeLessThanOrEqual(remaining[i - 1]!)
    expect(remaining.length).toBeGreaterThanOrEqual(60)
    expect(remaining.length).toBeLessThanOrEqual(60 + refills)
    expect(remaining.at(-1)).toBe(0)

    expect(refused).not.toBeNull()
    expect(Number(refused!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
    expect(refused!.headers.get('x-ratelimit-remaining')).toBe('0')
    const body = (await refused!.json()) as { error: { code: string; type: string; message: string } }
    expect(body.error.code).toBe('rate_limit_exceeded')
    expect(body.error.message).toContain('60 requests per minute')
  })
})

describe('per-agent limits', () => {
  async function agentWithLimits(limits: { rpm: number | null; tpm: number | null }) {
    const id = uniqueId('limited')
    const { api_key } = (await (
      await fetch(`${first.url}/agents/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ agent_id: id, name: 'Limited' }) })
    ).json()) as { api_key: string }
    const admin = (path: string, method: string, body: unknown) =>
      fetch(`${first.url}/admin/agents/${id}${path}`, { method, headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })
    expect((await admin('/subscription', 'POST', { status: 'active' })).status).toBe(200)
    expect((await admin('/limits', 'PUT', limits)).status).toBe(200)
    return api_key
  }

  test('an rpm override applies to the agent on every process', async () => {
    const apiKey = await agentWithLimits({ rpm: 3, tpm: null })
    for (const base of [first.url, second.url, first.url]) expect((await chat(base, apiKey)).status).toBe(200)
    const refused = await chat(second.url, apiKey)
    expect(refused.status).toBe(429)
    expect(refused.headers.get('x-ratelimit-limit')).toBe('3')
  })

  test('a token limit charges the prompt plus max_tokens; a request that can never fit is a 400', async () => {
    const apiKey = await agentWithLimits({ rpm: 1_000, tpm: 100 })
    const tooLarge = await chat(first.url, apiKey, { max_tokens: 500 })
    expect(tooLarge.status).toBe(400)
    expect(((await tooLarge.json()) as { error: { code: string } }).error.code).toBe('request_too_large_for_tpm')
    // Each request charges ~10 prompt tokens + the 30 it may generate; settlement refunds what it did not use.
    const ok = await chat(first.url, apiKey, { max_tokens: 30 })
    expect(ok.status).toBe(200)
    expect(ok.headers.get('x-ratelimit-limit-tokens')).toBe('100')
    const remainingAfterOne = Number(ok.headers.get('x-ratelimit-remaining-tokens'))
    expect(remainingAfterOne).toBeLessThanOrEqual(100 - 30)
    // Four at once need ~160 tokens before any settles: some must wait, with a token-limit message.
    const responses = await Promise.all(Array.from({ length: 4 }, (_, i) => chat(i % 2 ? first.url : second.url, apiKey, { max_tokens: 30 })))
    const statuses = responses.map((r) => r.status)
    expect(statuses).toContain(200)
    expect(statuses).toContain(429)
    const refused = responses.find((r) => r.status === 429)!
    expect(((await refused.json()) as { error: { message: string } }).error.message).toContain('100 tokens per minute')
  })
})
