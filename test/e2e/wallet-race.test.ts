// Money under concurrency: a prepaid wallet and a postpaid cap raced by 200 streams, and a progressive hold running dry.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type Redis from 'ioredis'
import { insertCredit } from '../../src/db/queries/ledger'
import type { Sql } from '../../src/lib/db'
import { createRedis } from '../../src/lib/redis'
import { subjectKeys } from '../../src/limits/keys'
import { estimateChat } from '../../src/exchange/estimate'
import { measurePrompt } from '../../src/metering/prompt'
import type { ChatRequest } from '../../src/openai/chat-request'
import { OPENAI_PROMPT } from '../../src/providers/openai'
import { buildCatalog } from '../../src/pricing/catalog'
import { tokenClassCost } from '../../src/pricing/money'
import { testDb, uniqueId } from '../helpers/db'
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream'
import { startGateway, upstreamEnv, type TestGateway } from '../helpers/gateway'

let upstream: FakeUpstream
let gateway: TestGateway
let sql: Sql
let redis: Redis
const gpt4o = buildCatalog().find('openai/gpt-4o')!

beforeAll(async () => {
  HOLD = (await holdOf({ model: 'openai/gpt-4o', stream: true, max_tokens: MAX_TOKENS, messages: MESSAGES })).holdNano
  upstream = startFakeUpstream()
  gateway = await startGateway({ ...upstreamEnv(upstream.url), PROGRESSIVE_HOLD_TOKENS: '64' })
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

/** A subscribed agent with a key, in the given billing mode; prepaid ones get a ledger credit. */
async function agent(options: { prepaidNano?: bigint; capNano?: bigint }) {
  const id = uniqueId('race')
  const response = await fetch(`${gateway.url}/agents/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ agent_id: id, name: 'Race' }),
  })
  const { api_key } = (await response.json()) as { api_key: string }
  await sql`UPDATE accounts SET subscription_status = 'active',
    billing_mode = ${options.prepaidNano === undefined ? 'postpaid' : 'prepaid'},
    spend_cap_nano = ${options.capNano === undefined ? null : options.capNano.toString()} WHERE id = ${id}`
  if (options.prepaidNano !== undefined) await insertCredit(sql, id, options.prepaidNano, `credit:${id}`, 'test')
  return { id, apiKey: api_key }
}

const MESSAGES = [
  { role: 'system' as const, content: 'You are a helpful assistant.' },
  { role: 'user' as const, content: 'Hello! scenario:slow' },
]
const MAX_TOKENS = 16
/** The worst case each request holds: prompt estimate × input price + max_tokens × output price. */
let HOLD: bigint

/** What the gateway holds for a request (its own estimate, so these tests follow any change to it). */
async function holdOf(request: ChatRequest): Promise<{ holdNano: bigint; inputNano: bigint }> {
  const estimate = estimateChat({ request, model: gpt4o, measure: await measurePrompt(request), profile: OPENAI_PROMPT, progressiveSliceTokens: null })
  return { holdNano: estimate.holdNano, inputNano: tokenClassCost(estimate.inputHoldTokens, gpt4o.prices.input) }
}

/** Samples a wallet until stopped: the lowest available balance and the most holds open at once. */
function sampleWallet(subject: string) {
  const keys = subjectKeys(subject)
  let running = true
  let minAvailable: bigint | null = null
  let maxHolds = 0
  let maxSpentOrHeld = 0n
  const done = (async () => {
    while (running) {
      const [[, avail], [, holds], [, spent], [, held]] = (await redis
        .pipeline()
        .hget(keys.wallet, 'avail')
        .hlen(keys.holds)
        .hget(keys.wallet, 'spent')
        .hget(keys.wallet, 'held')
        .exec()) as [[unknown, string | null], [unknown, number], [unknown, string | null], [unknown, string | null]]
      if (avail !== null) minAvailable = minAvailable === null || BigInt(avail) < minAvailable ? BigInt(avail) : minAvailable
      maxHolds = Math.max(maxHolds, holds)
      const committed = BigInt(spent ?? '0') + BigInt(held ?? '0')
      if (committed > maxSpentOrHeld) maxSpentOrHeld = committed
    }
  })()
  return {
    stop: async () => {
      running = false
      await done
      return { minAvailable, maxHolds, maxSpentOrHeld }
    },
  }
}

/** Fires n streams at once; a third of the clients leave after the first chunk, a tenth of the upstreams break. */
async function race(apiKey: string, n: number) {
  const outcome = { admitted: 0, refused402: 0, other: [] as number[] }
  await Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const messages = i % 10 === 0 ? [MESSAGES[0], { role: 'user', content: 'Hello! scenario:break' }] : MESSAGES
      const controller = new AbortController()
      const response = await fetch(`${gateway.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'openai/gpt-4o', stream: true, max_tokens: MAX_TOKENS, messages }),
        signal: controller.signal,
      })
      if (response.status === 402) {
        outcome.refused402++
        await response.text()
        return
      }
      if (response.status !== 200) {
        outcome.other.push(response.status)
        return
      }
      outcome.admitted++
      const reader = response.body!.getReader()
      try {
        await reader.read()
        if (i % 3 === 1) {
          controller.abort()
          return
        }
        while (!(await reader.read()).done) {}
      } catch {
        // the client's own abort
      }
    }),
  )
  return outcome
}

async function settled(accountId: string, expectedRows: number) {
  const subject = subjectKeys(accountId)
  for (let i = 0; i < 400; i++) {
    const [row] = await sql<{ rows: string }[]>`SELECT count(*) AS rows FROM usage_events WHERE account_id = ${accountId}`
    const rows = row!.rows
    const unposted = await redis.hlen(subject.unposted)
    if (Number(rows) >= expectedRows && unposted === 0) return
    await Bun.sleep(25)
  }
  throw new Error('usage did not drain')
}

describe('prepaid wallet', () => {
  test('200 concurrent streams against 10 holds of money: ≤ 10 at once, never below zero, Postgres = credits − usage = Redis, no hold left', async () => {
    const credit = 10n * HOLD
    const { id, apiKey } = await agent({ prepaidNano: credit })
    const sampler = sampleWallet(id)
    const outcome = await race(apiKey, 200)
    const seen = await sampler.stop()

    expect(outcome.other).toEqual([])
    expect(outcome.admitted + outcome.refused402).toBe(200)
    expect(outcome.admitted).toBeGreaterThanOrEqual(10)
    expect(seen.maxHolds).toBeLessThanOrEqual(10)
    expect(seen.minAvailable).not.toBeNull()
    expect(seen.minAvailable! >= 0n).toBe(true)

    await settled(id, outcome.admitted)
    const [usage] = await sql<{ rows: string; cost: string }[]>`SELECT count(*) AS rows, coalesce(sum(cost_nano), 0) AS cost FROM usage_events WHERE account_id = ${id}`
    const [ledger] = await sql<{ balance: string; debits: string }[]>`
      SELECT sum(amount_nano) AS balance, count(*) FILTER (WHERE kind = 'usage') AS debits FROM ledger WHERE account_id = ${id}`
    expect(Number(usage!.rows)).toBe(outcome.admitted)
    expect(BigInt(ledger!.balance)).toBe(credit - BigInt(usage!.cost))
    expect(Number(ledger!.debits)).toBe(Number(usage!.rows))
    const keys = subjectKeys(id)
    const [avail, held] = await redis.hmget(keys.wallet, 'avail', 'held')
    expect(BigInt(avail!)).toBe(BigInt(ledger!.balance))
    expect(held).toBe('0')
    expect(await redis.hlen(keys.holds)).toBe(0)
    expect(BigInt(avail!) >= 0n).toBe(true)

    // The statuses the race produced: completed, client_aborted and upstream_error streams all paid.
    const statuses = await sql<{ status: string }[]>`SELECT DISTINCT status FROM usage_events WHERE account_id = ${id} ORDER BY status`
    console.log(`prepaid race: ${outcome.admitted} admitted, ${outcome.refused402} refused; statuses ${statuses.map((s) => s.status).join(', ')}`)
  }, 60_000)

  test('a wallet wiped from Redis is rebuilt from Postgres and agrees with it', async () => {
    const { id, apiKey } = await agent({ prepaidNano: 5n * HOLD })
    await race(apiKey, 3)
    await settled(id, 3)
    await redis.del(subjectKeys(id).wallet)
    const reply = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'openai/gpt-4o', max_tokens: MAX_TOKENS, messages: [MESSAGES[0], { role: 'user', content: 'Hello!' }] }),
    })
    expect(reply.status).toBe(200)
    await reply.text()
    await settled(id, 4)
    const [ledger] = await sql<{ balance: string }[]>`SELECT sum(amount_nano) AS balance FROM ledger WHERE account_id = ${id}`
    expect(await redis.hget(subjectKeys(id).wallet, 'avail')).toBe(ledger!.balance)
  }, 30_000)
})

describe('postpaid spending cap', () => {
  test('the same race never takes the month spend above the cap', async () => {
    const cap = 10n * HOLD
    const { id, apiKey } = await agent({ capNano: cap })
    const sampler = sampleWallet(id)
    const outcome = await race(apiKey, 200)
    const seen = await sampler.stop()
    expect(outcome.other).toEqual([])
    expect(outcome.admitted).toBeGreaterThanOrEqual(10)
    // Spend plus open holds never passed the cap at any moment; each request's cost stays within its hold.
    expect(seen.maxSpentOrHeld <= cap).toBe(true)
    await settled(id, outcome.admitted)
    const [usage] = await sql<{ cost: string }[]>`SELECT coalesce(sum(cost_nano), 0) AS cost FROM usage_events WHERE account_id = ${id}`
    expect(BigInt(usage!.cost) <= cap).toBe(true)
    expect(await redis.hget(subjectKeys(id).wallet, 'spent')).toBe(usage!.cost)
  }, 60_000)
})

describe('progressive holds', () => {
  test('a stream without max_tokens from a wallet that affords ~300 output tokens stops cleanly there, billed for what was delivered', async () => {
    const prompt = [{ role: 'user' as const, content: 'Write a lot. scenario:long' }]
    // The input part of the hold (the prompt at its worst case), and 300 output tokens.
    const promptCost = (await holdOf({ model: 'openai/gpt-4o', messages: prompt })).inputNano
    const credit = promptCost + tokenClassCost(300, gpt4o.prices.output)
    const { id, apiKey } = await agent({ prepaidNano: credit })

    const client = gateway.client({ apiKey })
    const stream = await client.chat.completions.create({ model: 'openai/gpt-4o', stream: true, stream_options: { include_usage: true }, messages: prompt })
    let words = 0
    let finish: string | null = null
    let usage: { prompt_tokens: number; completion_tokens: number } | undefined
    for await (const chunk of stream) {
      if (chunk.usage) usage = chunk.usage
      for (const choice of chunk.choices) {
        if (choice.delta.content) words++
        if (choice.finish_reason) finish = choice.finish_reason
      }
    }
    console.log(`progressive hold: stream stopped after ${words} one-token words`)
    expect(finish).toBe('length')
    expect(words).toBeGreaterThanOrEqual(290)
    expect(words).toBeLessThanOrEqual(300)
    expect(usage?.completion_tokens).toBe(words)

    await settled(id, 1)
    const [row] = await sql<{ output_tokens: number; cost_nano: string }[]>`SELECT output_tokens, cost_nano FROM usage_events WHERE account_id = ${id}`
    expect(row!.output_tokens).toBe(words)
    const [ledger] = await sql<{ balance: string }[]>`SELECT sum(amount_nano) AS balance FROM ledger WHERE account_id = ${id}`
    expect(BigInt(ledger!.balance) >= 0n).toBe(true)
    expect(BigInt(ledger!.balance)).toBe(credit - BigInt(row!.cost_nano))
    expect(await redis.hget(subjectKeys(id).wallet, 'avail')).toBe(ledger!.balance)
  }, 30_000)
})
