// /v1/messages pays like chat: the worst case held from a prepaid wallet, a 402 in Anthropic's shape when it cannot be, the wallet never below zero.
import Anthropic from '@anthropic-ai/sdk'
import { afterAll, beforeAll, expect, test } from 'bun:test'
import type Redis from 'ioredis'
import type { Sql } from '../../src/lib/db'
import { createRedis } from '../../src/lib/redis'
import { countTextTokens } from '../../src/metering/tokenizer'
import { buildCatalog } from '../../src/pricing/catalog'
import { formatNanoAsUsd, tokenClassCost } from '../../src/pricing/money'
import { usageCost } from '../../src/pricing/cost'
import { testDb } from '../helpers/db'
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream'
import { readFixture } from '../helpers/fixtures'
import { startGateway, upstreamEnv, type TestGateway } from '../helpers/gateway'
import { checkMoney, NANO_PER_USD, registerAgent, sampleMoney, waitForDrain } from '../helpers/money'

let upstream: FakeUpstream
let gateway: TestGateway
let sql: Sql
let redis: Redis

beforeAll(async () => {
  upstream = startFakeUpstream()
  gateway = await startGateway(upstreamEnv(upstream.url))
  sql = await testDb(5)
  redis = createRedis('redis://127.0.0.1:6379')
  await redis.connect()
})
afterAll(async () => {
  await gateway.stop()
  await sql.end()
  redis.disconnect()
  upstream.stop()
})

const MODEL = 'anthropic/claude-sonnet-4'
const claude = buildCatalog().find(MODEL)!
const ONE_CENT = NANO_PER_USD / 100n

/** What the stream fixture bills: input from message_start, output from message_delta, at catalog prices. */
function streamFixtureCost(): bigint {
  const events = readFixture('anthropic.messages.stream.sse')
    .split('\n')
    .filter((line) => line.startsWith('data: '))
    .map((line) => JSON.parse(line.slice(6)))
  const input = events.find((event) => event.type === 'message_start').message.usage.input_tokens
  const output = events.find((event) => event.type === 'message_delta').usage.output_tokens
  return usageCost({ inputTokens: input, outputTokens: output, cachedInputTokens: 0, cacheWriteTokens: 0 }, claude.prices)
}

test('a max_tokens the wallet cannot hold is a 402 billing_error; one it can is billed exactly', async () => {
  const agent = await registerAgent(gateway.url, sql, { mode: 'prepaid', creditNano: ONE_CENT })
  const client = new Anthropic({ apiKey: agent.apiKey, baseURL: gateway.url, maxRetries: 0, timeout: 10_000 })

  // 64,000 output tokens at $15 per 1M is $0.96: far past a cent. Refused before anything goes upstream.
  const sentBefore = upstream.requests.length
  const refused = await client.messages.create({ model: MODEL, max_tokens: claude.maxOutputTokens, messages: [{ role: 'user', content: 'Hello' }] }).catch((e) => e)
  expect(refused).toBeInstanceOf(Anthropic.APIError)
  expect(refused.status).toBe(402)
  expect(refused.error).toMatchObject({ type: 'error', error: { type: 'billing_error' } })
  expect(refused.headers.get('x-ratelimit-limit-requests')).not.toBeNull()
  expect(upstream.requests.length).toBe(sentBefore)

  // An Anthropic-defined tool brings a prompt we cannot count: the whole context window is held, and a cent cannot.
  const editor = await client.messages
    .create({ model: MODEL, max_tokens: 100, tools: [{ type: 'text_editor_20250728', name: 'str_replace_based_edit_tool' }], messages: [{ role: 'user', content: 'Fix it' }] })
    .catch((e) => e)
  expect(editor.status).toBe(402)
  expect(upstream.requests.length).toBe(sentBefore)

  const { data: stream, response } = await client.messages
    .create({ model: MODEL, max_tokens: 300, stream: true, messages: [{ role: 'user', content: 'Hello' }] })
    .withResponse()
  for await (const _ of stream) void _
  const requestId = response.headers.get('x-request-id')!
  await waitForDrain(sql, redis, agent.id, [requestId])
  const [row] = await sql<{ cost_nano: string }[]>`SELECT cost_nano FROM usage_events WHERE request_id = ${requestId}`
  expect(BigInt(row!.cost_nano)).toBe(streamFixtureCost())
  const report = await checkMoney(sql, redis, agent, { minAvailable: null, maxCommitted: 0n, samples: 0 })
  expect(report.violations).toEqual([])
  // The agent's own usage report shows it under the catalog model, at that cost.
  const usage = (await (await fetch(`${gateway.url}/llm/usage`, { headers: { 'x-api-key': agent.apiKey } })).json()) as {
    by_model: Record<string, { input: number; output: number; cost_usd: string }>
  }
  expect(usage.by_model[MODEL]!.cost_usd).toBe(formatNanoAsUsd(streamFixtureCost()))
})

// Each provider's text margin over our o200k count (its PromptProfile), and the dearest price a prompt token can bill there.
const holdCases = [
  { model: MODEL, margin: 1.35, inputPrice: claude.prices.cacheWrite },
  { model: 'openai/gpt-4o', margin: 1.05, inputPrice: buildCatalog().find('openai/gpt-4o')!.prices.input },
  { model: 'google/gemini-2.0-flash', margin: 1.2, inputPrice: buildCatalog().find('google/gemini-2.0-flash')!.prices.input },
]

test.each(holdCases)('$model: the hold is the prompt with its provider margin plus max_tokens, to the nano-USD; a wallet one short is refused', async ({ model, margin, inputPrice }) => {
  const text = 'What is the capital of France?'
  const maxTokens = 1_000
  // Our framing (3 to prime the reply, 3 per message, its role and text) × the provider's margin, at the dearest
  // price a prompt token can bill, plus every output token max_tokens allows.
  const inputHold = Math.ceil((3 + 3 + countTextTokens('user') + countTextTokens(text)) * margin)
  const hold = tokenClassCost(inputHold, inputPrice) + tokenClassCost(maxTokens, buildCatalog().find(model)!.prices.output)
  const body = { model, max_tokens: maxTokens, messages: [{ role: 'user' as const, content: text }] }

  const short = await registerAgent(gateway.url, sql, { mode: 'prepaid', creditNano: hold - 1n })
  const refused = await new Anthropic({ apiKey: short.apiKey, baseURL: gateway.url, maxRetries: 0, timeout: 10_000 }).messages.create(body).catch((e) => e)
  expect(refused.status).toBe(402)

  const exact = await registerAgent(gateway.url, sql, { mode: 'prepaid', creditNano: hold })
  const { response } = await new Anthropic({ apiKey: exact.apiKey, baseURL: gateway.url, maxRetries: 0, timeout: 10_000 }).messages.create(body).withResponse()
  expect(response.status).toBe(200)
  await waitForDrain(sql, redis, exact.id, [response.headers.get('x-request-id')!])
  const report = await checkMoney(sql, redis, exact, { minAvailable: null, maxCommitted: 0n, samples: 0 })
  expect(report.violations).toEqual([])
})

test('messages raced on one small wallet never take it below zero, and the ledger agrees with Redis', async () => {
  // About two holds of max_tokens 300 fit in a cent; twenty race for them.
  const agent = await registerAgent(gateway.url, sql, { mode: 'prepaid', creditNano: ONE_CENT })
  const client = new Anthropic({ apiKey: agent.apiKey, baseURL: gateway.url, maxRetries: 0, timeout: 10_000 })
  const sampler = sampleMoney(redis, agent.id)
  const replies = await Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      client.messages
        .create({ model: MODEL, max_tokens: 300, stream: i % 2 === 0, messages: [{ role: 'user', content: `Hello ${i} scenario:slow` }] })
        .withResponse()
        .then(async ({ data, response }) => {
          if (Symbol.asyncIterator in (data as object)) for await (const _ of data as AsyncIterable<unknown>) void _
          return { status: 200, requestId: response.headers.get('x-request-id')! }
        })
        .catch((error) => ({ status: (error as { status?: number }).status ?? 0, requestId: null })),
    ),
  )
  const seen = await sampler.stop()
  const admitted = replies.filter((reply) => reply.status === 200)
  expect(admitted.length).toBeGreaterThan(0)
  expect(replies.filter((reply) => reply.status === 402).length).toBeGreaterThan(0)
  expect(replies.every((reply) => reply.status === 200 || reply.status === 402)).toBe(true)
  await waitForDrain(sql, redis, agent.id, admitted.map((reply) => reply.requestId!))
  const report = await checkMoney(sql, redis, agent, seen)
  expect(report.violations).toEqual([])
})
