// Money against a hostile client and a provider that bills the most it could: never below zero, never past a cap, Postgres = Redis.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type Redis from 'ioredis'
import type { Sql } from '../../src/lib/db'
import { createRedis } from '../../src/lib/redis'
import { countTextTokens } from '../../src/metering/tokenizer'
import { buildCatalog } from '../../src/pricing/catalog'
import { testDb } from '../helpers/db'
import { startGateway, upstreamEnv, type TestGateway } from '../helpers/gateway'
import { hostileMarker, startHostileUpstream, type HostileUpstream } from '../helpers/hostile-upstream'
import { chat, checkMoney, NANO_PER_USD, registerAgent, sampleMoney, waitForDrain, type Billing, type MoneySeen, type Reply } from '../helpers/money'

let upstream: HostileUpstream
let gateway: TestGateway
let sql: Sql
let redis: Redis

beforeAll(async () => {
  upstream = startHostileUpstream()
  gateway = await startGateway(upstreamEnv(upstream.url))
  sql = await testDb(4)
  redis = createRedis('redis://127.0.0.1:6379')
  await redis.connect()
})
afterAll(async () => {
  await gateway.stop()
  await sql.end()
  redis.disconnect()
  upstream.stop()
})

const catalog = buildCatalog()
const gpt4o = catalog.find('openai/gpt-4o')!
const cents = (n: number) => (BigInt(n) * NANO_PER_USD) / 100n
/**
 * The most OpenAI bills one gpt-4o image at detail "high": fit in 2048×2048, shortest side to 768 px, 170 tokens per
 * 512 px tile plus 85; a 768×2048 image is 2×4 tiles = 1,445 tokens. (The gateway counts 85 today.)
 */
const GPT4O_IMAGE_MAX_TOKENS = 85 + 170 * 8
const IMAGES = 20

const user = (content: unknown) => ({ role: 'user', content })
const filePart = { type: 'file', file: { filename: 'contract.pdf', file_data: 'data:application/pdf;base64,JVBERi0xLjQKJcfsj6IKMSAwIG9iago8PD4+CmVuZG9iagp0cmFpbGVyCjw8Pj4KJSVFT0YK' } }
const audioPart = { type: 'input_audio', input_audio: { data: 'UklGRiQAAABXQVZFZm10IBAAAAABAAEAQB8AAIA+AAACABAAZGF0YQAAAAA=', format: 'wav' } }
const imagePart = { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', detail: 'high' } }
const lookupTool = { type: 'function', function: { name: 'lookup', description: 'Looks a thing up.', parameters: { type: 'object', properties: {} } } }

/** A part the gateway cannot count, read by the provider as a full context window of prompt tokens. */
function unreadablePartRequest(part: unknown, options: { stream?: boolean; thinkMs?: number } = {}) {
  const { stream = false, thinkMs } = options
  const marker = hostileMarker('max', { billInput: gpt4o.contextWindow, thinkMs })
  return { model: 'openai/gpt-4o', stream, max_tokens: 16, messages: [user([part, { type: 'text', text: `Summarise this. ${marker}` }])] }
}

/** Images billed at their maximum, plus the text as OpenAI frames it (3 per message, the role, the text, 3 to prime). */
function imageRequest() {
  const text = 'Describe these. hostile:max'
  const billInput = IMAGES * GPT4O_IMAGE_MAX_TOKENS + 3 + 3 + countTextTokens('user') + countTextTokens(text)
  return { model: 'openai/gpt-4o', max_tokens: 16, messages: [user([...Array.from({ length: IMAGES }, () => imagePart), { type: 'text', text: `${text} bill-input:${billInput}` }])] }
}

interface HostileCase {
  name: string
  prepaidNano: bigint
  capNano: bigint
  /** The request bodies, fired all at once. */
  bodies(): Record<string, unknown>[]
  /**
   * How many the spec admits with this much money (the hold is the worst case: refused when it does not fit, served
   * when it does), so a gateway that refused everything could not pass.
   */
  admitted: { prepaid: number; cap: number }
  /** A prepaid stream without its own cap is cut where its slices stop: finish_reason "length". */
  prepaidFinish?: string
}

const CASES: HostileCase[] = [
  {
    name: 'n: 128 with max_tokens: 100 (gpt-4o, JSON): the hold must cover every choice',
    prepaidNano: cents(1),
    capNano: cents(1),
    bodies: () => [{ model: 'openai/gpt-4o', n: 128, max_tokens: 100, messages: [user(`Write. ${hostileMarker('max')}`)] }],
    admitted: { prepaid: 0, cap: 0 },
  },
  {
    name: 'no max_tokens (gpt-4o, JSON): the default held must be the cap sent upstream',
    prepaidNano: cents(5),
    capNano: cents(5),
    bodies: () => [{ model: 'openai/gpt-4o', messages: [user(`Write. ${hostileMarker('max')}`)] }],
    admitted: { prepaid: 1, cap: 1 },
  },
  {
    name: 'conflicting caps: max_completion_tokens: 10 with max_tokens: 16384 (gpt-4o, JSON)',
    prepaidNano: cents(1),
    capNano: cents(1),
    bodies: () => [{ model: 'openai/gpt-4o', max_completion_tokens: 10, max_tokens: 16_384, messages: [user(`Write. ${hostileMarker('max')}`)] }],
    admitted: { prepaid: 0, cap: 0 },
  },
  {
    name: 'hidden reasoning: o3-mini stream without max_tokens, all but two tokens reasoning',
    prepaidNano: cents(1),
    capNano: cents(5),
    bodies: () => [{ model: 'openai/o3-mini', stream: true, messages: [user(`Think hard. ${hostileMarker('reasoning')}`)] }],
    // Hidden reasoning cannot be cut: the whole default cap (8,192 at $4.40/1M) is held, more than $0.01.
    admitted: { prepaid: 0, cap: 1 },
  },
  {
    name: 'refusal: a stream of delta.refusal pieces without max_tokens (gpt-4o)',
    prepaidNano: cents(1),
    capNano: cents(5),
    bodies: () => [{ model: 'openai/gpt-4o', stream: true, messages: [user(`Do something bad. ${hostileMarker('refusal')}`)] }],
    admitted: { prepaid: 1, cap: 1 },
    prepaidFinish: 'length',
  },
  {
    name: 'tool calls with ~120-token names, stream without max_tokens (gpt-4o)',
    prepaidNano: cents(1),
    capNano: cents(5),
    bodies: () => [{ model: 'openai/gpt-4o', stream: true, tools: [lookupTool], messages: [user(`Look everything up. ${hostileMarker('tools')}`)] }],
    admitted: { prepaid: 1, cap: 1 },
    prepaidFinish: 'length',
  },
  {
    name: 'a file part, read by the provider as a full context window (gpt-4o, JSON)',
    prepaidNano: cents(1),
    capNano: cents(1),
    bodies: () => [unreadablePartRequest(filePart)],
    admitted: { prepaid: 0, cap: 0 },
  },
  {
    name: 'an input_audio part, read by the provider as a full context window (gpt-4o, JSON)',
    prepaidNano: cents(1),
    capNano: cents(1),
    bodies: () => [unreadablePartRequest(audioPart)],
    admitted: { prepaid: 0, cap: 0 },
  },
  {
    name: `${IMAGES} image_url parts at detail high, billed ${GPT4O_IMAGE_MAX_TOKENS} tokens each (gpt-4o, JSON)`,
    prepaidNano: cents(1),
    capNano: cents(1),
    bodies: () => [imageRequest()],
    admitted: { prepaid: 0, cap: 0 },
  },
  {
    name: `the same ${IMAGES} images with money enough for their worst case: served, and billed within the hold`,
    prepaidNano: cents(10),
    capNano: cents(10),
    bodies: () => [imageRequest()],
    admitted: { prepaid: 1, cap: 1 },
  },
  {
    // The provider takes a moment before answering, so all 50 are in flight together.
    name: `50 concurrent requests with file or audio parts, each billed ${gpt4o.contextWindow.toLocaleString('en')} prompt tokens (gpt-4o, half streamed)`,
    prepaidNano: cents(100),
    capNano: cents(100),
    bodies: () => Array.from({ length: 50 }, (_, i) => unreadablePartRequest(i % 2 === 0 ? filePart : audioPart, { stream: i % 4 < 2, thinkMs: 300 })),
    // Each holds a whole context window ($0.32): three fit in $1.00 at once, and the provider bills each that much.
    admitted: { prepaid: 3, cap: 3 },
  },
]

const REFUSAL_CODE = { prepaid: 'insufficient_balance', cap: 'spending_cap_reached' } as const

/** Fires the case's requests at once on a fresh agent, samples Redis until the usage drained, and checks the money. */
async function runCase(hostileCase: HostileCase, billing: Billing) {
  const agent = await registerAgent(gateway.url, sql, billing)
  const sampler = sampleMoney(redis, agent.id)
  let replies: Reply[] = []
  let seen: MoneySeen
  try {
    replies = await Promise.all(hostileCase.bodies().map((body) => chat(gateway.url, agent.apiKey, body)))
    const admitted = replies.filter((reply) => reply.status === 200).map((reply) => reply.requestId!)
    await waitForDrain(sql, redis, agent.id, admitted)
  } finally {
    seen = await sampler.stop()
  }
  const report = await checkMoney(sql, redis, agent, seen)
  const refused = replies.filter((reply) => reply.status === 402)
  const finishes = [...new Set(replies.flatMap((reply) => reply.finishReasons))].join(',') || '-'
  console.log(`[${billing.mode}] ${hostileCase.name}: ${replies.length - refused.length} admitted, ${refused.length} refused, finish ${finishes}; ${report.summary}`)

  // Up front a request is either admitted or refused for money, with the code of its billing mode; nothing else.
  const unexpected = replies.filter((reply) => reply.status !== 200 && !(reply.status === 402 && reply.code === REFUSAL_CODE[billing.mode]))
  expect(unexpected.map((reply) => `${reply.status} ${reply.code}`)).toEqual([])
  expect(report.violations).toEqual([])
  expect(replies.length - refused.length).toBe(hostileCase.admitted[billing.mode])
  if (billing.mode === 'prepaid' && hostileCase.prepaidFinish) {
    for (const reply of replies.filter((r) => r.status === 200)) expect(reply.finishReasons).toContain(hostileCase.prepaidFinish)
  }
}

for (const hostileCase of CASES) {
  describe(hostileCase.name, () => {
    test(`prepaid wallet of $${Number(hostileCase.prepaidNano) / 1e9}: never below zero; ledger = credits − usage = Redis avail`, async () => {
      await runCase(hostileCase, { mode: 'prepaid', creditNano: hostileCase.prepaidNano })
    }, 90_000)
    test(`postpaid cap of $${Number(hostileCase.capNano) / 1e9}: never past it; Redis spent = usage cost`, async () => {
      await runCase(hostileCase, { mode: 'cap', capNano: hostileCase.capNano })
    }, 90_000)
  })
}
