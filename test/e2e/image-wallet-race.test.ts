// Money under concurrency for images: ~50 image requests race on a prepaid wallet that affords only a few; it never goes
// below zero, and after the drain Postgres = credits − usage = Redis.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type Redis from 'ioredis'
import type { Sql } from '../../src/lib/db'
import { createRedis } from '../../src/lib/redis'
import { estimateImages } from '../../src/exchange/estimate-media'
import { countTextTokens } from '../../src/metering/tokenizer'
import { buildCatalog } from '../../src/pricing/catalog'
import { OPENAI_PROMPT } from '../../src/providers/openai'
import { testDb } from '../helpers/db'
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream'
import { startGateway, upstreamEnv, type TestGateway } from '../helpers/gateway'
import { checkMoney, registerAgent, sampleMoney, usd, waitForDrain } from '../helpers/money'

let upstream: FakeUpstream
let gateway: TestGateway
let sql: Sql
let redis: Redis
const dalle = buildCatalog().find('openai/dall-e-3')!
const gptImage = buildCatalog().find('openai/gpt-image-1')!

beforeAll(async () => {
  upstream = startFakeUpstream()
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

const REQUESTS = 50

/** Every other request is dall-e-3 (held and billed $0.04), the rest gpt-image-1 at "auto" (held at its high-quality worst case, billed its usage). */
function ask(i: number): Record<string, unknown> {
  // scenario:slow keeps each answer in flight for a while, so the requests overlap.
  const prompt = `A lighthouse at dusk, request ${i} scenario:slow`
  return i % 2 === 0 ? { model: 'openai/dall-e-3', prompt, size: '1024x1024', quality: 'standard' } : { model: 'openai/gpt-image-1', prompt }
}

describe('prepaid wallet raced by image requests', () => {
  test(`${REQUESTS} concurrent requests against a wallet of a few images: never below zero, Postgres = credits − usage = Redis`, async () => {
    // About two gpt-image-1 worst cases and three dall-e-3 images: a few requests of either kind fit, never all.
    const dallePrice = dalle.images!.perImageNano!.get('standard/1024x1024')!
    const gptImageHold = estimateImages(gptImage, { n: 1, quality: 'auto', size: 'auto', promptTokens: countTextTokens(ask(1).prompt as string), textMargin: OPENAI_PROMPT.textMargin }).holdNano
    const credit = 2n * gptImageHold + 3n * dallePrice
    const agent = await registerAgent(gateway.url, sql, { mode: 'prepaid', creditNano: credit })
    const sampler = sampleMoney(redis, agent.id)
    const replies = await Promise.all(
      Array.from({ length: REQUESTS }, async (_, i) => {
        const response = await fetch(`${gateway.url}/v1/images/generations`, {
          method: 'POST',
          headers: { authorization: `Bearer ${agent.apiKey}`, 'content-type': 'application/json' },
          body: JSON.stringify(ask(i)),
        })
        const body = (await response.json()) as { data?: unknown[]; error?: { code: string } }
        return { status: response.status, requestId: response.headers.get('x-request-id')!, code: body.error?.code ?? null, images: body.data?.length ?? 0 }
      }),
    )
    const seen = await sampler.stop()

    const admitted = replies.filter((r) => r.status === 200)
    const refused = replies.filter((r) => r.status === 402)
    expect(admitted.length + refused.length).toBe(REQUESTS)
    expect(refused.every((r) => r.code === 'insufficient_balance')).toBe(true)
    expect(admitted.length).toBeGreaterThanOrEqual(1)
    // No admission without its whole hold: at most as many as the cheapest hold fits.
    expect(admitted.length).toBeLessThanOrEqual(Number(credit / dallePrice))
    expect(admitted.every((r) => r.images === 1)).toBe(true)

    await waitForDrain(sql, redis, agent.id, admitted.map((r) => r.requestId))
    const report = await checkMoney(sql, redis, agent, seen)
    console.log(`image race: ${admitted.length} admitted, ${refused.length} refused; ${report.summary}`)
    expect(report.violations).toEqual([])
    expect(seen.samples).toBeGreaterThan(0)

    // Each admitted request paid its actual cost, within its hold: dall-e-3 its per-image price.
    const rows = await sql<{ model: string; cost_nano: string; images: number; image_tier: string | null }[]>`
      SELECT model, cost_nano, images, image_tier FROM usage_events WHERE account_id = ${agent.id}`
    expect(rows).toHaveLength(admitted.length)
    for (const row of rows.filter((r) => r.model === 'openai/dall-e-3')) {
      expect(row).toMatchObject({ images: 1, image_tier: 'standard/1024x1024' })
      expect(BigInt(row.cost_nano)).toBe(dallePrice)
    }
    for (const row of rows.filter((r) => r.model === 'openai/gpt-image-1')) expect(BigInt(row.cost_nano) <= gptImageHold).toBe(true)
    const spent = rows.reduce((sum, row) => sum + BigInt(row.cost_nano), 0n)
    expect(spent <= credit).toBe(true)
    const kinds = ['openai/dall-e-3', 'openai/gpt-image-1'].map((model) => `${rows.filter((r) => r.model === model).length} × ${model}`).join(', ')
    console.log(`image race: spent ${usd(spent)} of ${usd(credit)} on ${kinds}`)
  }, 60_000)
})
