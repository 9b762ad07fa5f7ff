// A gateway SIGKILLed mid-stream still settles the x402 upto payment it was serving (metered chat, and a metered Messages route with its markup): a worker's upto sweeper settles the last checkpoint once, a normal finish is never settled twice, racing sweepers settle once, and a facilitator that is down is retried.
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { x402Client } from '@x402/core/client'
import { UptoEvmScheme } from '@x402/evm/upto/client'
import { wrapFetchWithPayment } from '@x402/fetch'
import type Redis from 'ioredis'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import type { Sql } from '../../src/lib/db'
import { createLogger } from '../../src/lib/logger'
import { createRedis } from '../../src/lib/redis'
import { createFacilitator } from '../../src/x402/facilitator'
import type { X402PaymentRecord } from '../../src/x402/payment-record'
import { uptoDueKey, uptoPendingKey } from '../../src/x402/upto-pending'
import { startUptoSweeper, type UptoSweeper } from '../../workers/x402-upto'
import { TEST_QUEUE_PREFIX, testDb } from '../helpers/db'
import { DRIP_GAP_MS, DRIP_STREAM_WORDS } from '../helpers/fake-upstream'
import { upstreamEnv } from '../helpers/gateway'
import { waitFor } from '../helpers/poll'
import { freePort, spawnMeterway, type GatewayProcess } from '../helpers/processes'
import { startX402Fakes, writeX402Config, type X402Fakes } from '../helpers/x402-stack'

/** Short, so the test waits seconds, not the production 660 s and 1 s. */
const HOLD_TTL_MS = 3_000
const CHECKPOINT_INTERVAL_MS = 250
/** Words a stream delivers in one checkpoint interval: the most a checkpoint can lag behind what was delivered. */
const WORDS_PER_INTERVAL = Math.ceil(CHECKPOINT_INTERVAL_MS / DRIP_GAP_MS)
/** gpt-4o's catalog prices: $2.50 and $10 per 1M tokens, in nano-USD per token. */
const INPUT_NANO = 2_500n
const OUTPUT_NANO = 10_000n
/** The metered Messages route's markup (20%): what the sweeper settles on top of the checkpointed cost. */
const MESSAGES_MARKUP_BPS = 2_000

let fakes: X402Fakes
let { upstream, chain, exact, facilitator } = {} as X402Fakes
let sql: Sql
let redis: Redis
let env: Record<string, string>
let worker: GatewayProcess | null = null
const processes: GatewayProcess[] = []
const sweepers: UptoSweeper[] = []

beforeAll(async () => {
  fakes = startX402Fakes()
  ;({ upstream, chain, exact, facilitator } = fakes)
  const path = writeX402Config(
    fakes,
    ({ upstreamUrl }) => `gateway: { x402_chat: true }
upstreams:
  anthropic: { url: "${upstreamUrl}", headers: { x-api-key: "sk-ant-route-secret-0123456789", anthropic-version: "2023-06-01" } }
routes:
  "POST /v1/messages": { upstream: anthropic, type: metered, markup: "${MESSAGES_MARKUP_BPS / 100}%" }
`,
  )
  env = {
    ...upstreamEnv(upstream.url),
    GATEWAY_CONFIG: path,
    HOLD_TTL_MS: String(HOLD_TTL_MS),
    CHECKPOINT_INTERVAL_MS: String(CHECKPOINT_INTERVAL_MS),
    HOLD_SWEEP_INTERVAL_MS: '200',
    REQUIRE_SUBSCRIPTION: 'false',
    USAGE_FLUSH_MS: '20',
  }
  sql = await testDb(2)
  redis = createRedis('redis://127.0.0.1:6379')
  await redis.connect()
})
afterAll(async () => {
  for (const s of sweepers) await s.close()
  for (const p of processes) p.child.kill('SIGKILL')
  await sql.end()
  redis.disconnect()
  fakes.stop()
})

/** A payer with USDC on the fake chain and Permit2 approved, paying with upto through @x402/fetch. */
function payer() {
  const account = privateKeyToAccount(generatePrivateKey())
  chain.balances.set(account.address.toLowerCase(), 1_000_000n)
  chain.allowances.set(account.address.toLowerCase(), 1_000_000n)
  const client = x402Client.fromConfig({ schemes: [{ network: 'eip155:*', client: new UptoEvmScheme(account) }] })
  return { account, fetch: wrapFetchWithPayment(fetch, client) }
}

const settlesOf = (address: string) =>
  facilitator.calls.filter((c) => c.path === '/settle' && (c.paymentPayload.payload as { permit2Authorization: { from: string } }).permit2Authorization.from === address)

const paymentRow = (requestId: string) =>
  sql<{ status: string; amount_atomic: string; scheme: string; transaction: string | null; payer: string; route: string }[]>`
    SELECT status, amount_atomic::text, scheme, transaction, payer, route FROM x402_payments WHERE request_id = ${requestId}`

/** A paid stream from the slow fake upstream (DRIP_STREAM_WORDS words, DRIP_GAP_MS apart), read word by word: chat, or the metered Messages route. */
async function openPaidStream(url: string, api: 'chat' | 'messages' = 'chat') {
  const p = payer()
  const response =
    api === 'chat'
      ? await p.fetch(`${url}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'openai/gpt-4o', max_tokens: 2_000, stream: true, messages: [{ role: 'user', content: 'Tell me a long story. scenario:drip' }] }),
        })
      : await p.fetch(`${url}/v1/messages`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'claude-sonnet-4-20250514', max_tokens: 2_000, stream: true, messages: [{ role: 'user', content: 'Tell me a long story. scenario:drip' }] }),
        })
  expect(response.status).toBe(200)
  const state = { payer: p.account.address, requestId: response.headers.get('x-request-id')!, maxAtomic: BigInt(response.headers.get('x-payment-max-amount')!), words: 0, done: Promise.resolve() }
  state.done = (async () => {
    const decoder = new TextDecoder()
    let buffered = ''
    try {
      for await (const piece of response.body!) {
        buffered += decoder.decode(piece, { stream: true })
        let end: number
        while ((end = buffered.indexOf('\n\n')) !== -1) {
          if (/"(content|text)":" word"/.test(buffered.slice(0, end))) state.words++
          buffered = buffered.slice(end + 2)
        }
      }
    } catch {
      // The gateway died under the stream: that is the point.
    }
  })()
  return state
}

/** Starts a gateway, opens a paid stream, waits until words were delivered and a checkpoint of its cost landed, and SIGKILLs the gateway. */
async function crashMidStream(kind: 'chat' | 'messages' = 'chat') {
  const api = await spawnMeterway({ ...env, ROLE: 'api' })
  processes.push(api)
  const stream = await openPaidStream(api.url!, kind)
  const key = uptoPendingKey(TEST_QUEUE_PREFIX, stream.requestId)
  // Messages: the first checkpoint is enough (on a loaded machine the short stream may otherwise end first).
  const words = kind === 'chat' ? 40 : 10
  await waitFor(async () => stream.words >= words && Number((await redis.hget(key, 'cost')) ?? 0) > 0, 20_000, `${words} words delivered and a checkpoint of the cost`)
  api.child.kill('SIGKILL')
  await api.exited
  await stream.done
  expect(stream.words).toBeLessThan(DRIP_STREAM_WORDS)
  // Nothing can move the checkpoint now: this is what must be settled.
  const costNano = BigInt((await redis.hget(key, 'cost'))!)
  return { ...stream, costNano, key }
}

/** The atomic units a checkpointed cost settles: rounded up, never above the signed maximum. */
const expectedAmount = (costNano: bigint, maxAtomic: bigint) => {
  const up = (costNano + 999n) / 1000n
  return up < maxAtomic ? up : maxAtomic
}

function inProcessSweeper(options: { facilitatorUrl?: string; aheadMs?: number; records?: X402PaymentRecord[] } = {}): UptoSweeper {
  const sweeper = startUptoSweeper({
    redis: 'redis://127.0.0.1:6379',
    queuePrefix: TEST_QUEUE_PREFIX,
    facilitator: createFacilitator({ url: options.facilitatorUrl ?? facilitator.url, headers: {}, timeoutMs: 2_000 }),
    record: (r) => options.records?.push(r),
    logger: createLogger('silent'),
    // Its own timer stays out of the way: the test runs its sweeps.
    intervalMs: 600_000,
    settleLeaseMs: 10_000,
    // A clock past every gateway's lease: the sweep looks at once rather than HOLD_TTL_MS later.
    now: () => Date.now() + (options.aheadMs ?? HOLD_TTL_MS + 1_000),
  })
  sweepers.push(sweeper)
  return sweeper
}

test('SIGKILL mid-stream: a worker settles the last checkpointed cost once, within the signed maximum, and records the payment', async () => {
  const lost = await crashMidStream()
  // The gateway died before its finish: nothing was settled yet, the payment waits in Redis.
  expect(settlesOf(lost.payer)).toHaveLength(0)
  expect(await redis.hget(lost.key, 'state')).toBe('open')

  worker = await spawnMeterway({ ...env, ROLE: 'worker' })
  processes.push(worker)
  const [settle] = await waitFor(() => (settlesOf(lost.payer).length > 0 ? settlesOf(lost.payer) : null), 20_000, 'the sweeper settling the lost payment')
  const amount = expectedAmount(lost.costNano, lost.maxAtomic)
  expect(amount).toBeGreaterThan(0n)
  expect(settle!.paymentRequirements.amount).toBe(amount.toString())
  expect(settle!.answer.success).toBe(true)
  expect(amount).toBeLessThanOrEqual(lost.maxAtomic)
  // The checkpoint lags what was delivered by at most one interval (it may also count words the client never read).
  const outputOf = (words: number) => BigInt(Math.max(0, words)) * OUTPUT_NANO
  expect(lost.costNano).toBeGreaterThanOrEqual(outputOf(lost.words - WORDS_PER_INTERVAL - 1))
  expect(lost.costNano).toBeLessThanOrEqual(outputOf(lost.words + WORDS_PER_INTERVAL + 1) + 200n * INPUT_NANO)
  const transfer = chain.transfers.find((t) => t.from === lost.payer)!
  expect(transfer.amount).toBe(amount)

  const [row] = await waitFor(async () => ((await paymentRow(lost.requestId)).length === 1 ? paymentRow(lost.requestId) : null), 20_000, 'the payment record')
  expect(row).toMatchObject({ status: 'settled', scheme: 'upto', amount_atomic: amount.toString(), transaction: transfer.hash, payer: lost.payer, route: 'POST /v1/chat/completions' })
  // It left Redis when settled, so no later sweep can settle it again; and it was settled once.
  await waitFor(async () => (await redis.exists(lost.key)) === 0 && (await redis.zscore(uptoDueKey(TEST_QUEUE_PREFIX), lost.requestId)) === null, 5_000, 'the payment gone from Redis')
  await expect(inProcessSweeper().sweep()).resolves.toMatchObject({ settled: 0 })
  expect(settlesOf(lost.payer)).toHaveLength(1)
  expect(worker.output()).toContain('gateway lost an upto payment; settled its last checkpoint')
}, 90_000)

test('a normal finish settles once; the sweeper never settles it again', async () => {
  const api = await spawnMeterway({ ...env, ROLE: 'api' })
  processes.push(api)
  const p = payer()
  const response = await p.fetch(`${api.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'openai/gpt-4o', max_tokens: 2_000, stream: true, messages: [{ role: 'user', content: 'scenario:drip' }] }),
  })
  expect(response.status).toBe(200)
  const requestId = response.headers.get('x-request-id')!
  const key = uptoPendingKey(TEST_QUEUE_PREFIX, requestId)
  // While it streams, the payment waits in Redis with its checkpoints.
  await waitFor(async () => Number((await redis.hget(key, 'cost')) ?? 0) > 0, 20_000, 'a checkpoint of the live stream')
  await response.text()
  await waitFor(() => settlesOf(p.account.address).length === 1, 10_000, 'the finish settling')
  await waitFor(async () => (await redis.exists(key)) === 0, 5_000, 'the payment removed at the finish')
  // Sweeps with a clock past every lease, the worker process's included, find nothing to settle.
  const records: X402PaymentRecord[] = []
  const result = await inProcessSweeper({ records }).sweep()
  expect(result.settled).toBe(0)
  expect(records.filter((r) => r.requestId === requestId)).toHaveLength(0)
  const [row] = await waitFor(async () => ((await paymentRow(requestId)).length === 1 ? paymentRow(requestId) : null), 20_000, 'the payment record')
  expect(row).toMatchObject({ status: 'settled', scheme: 'upto', amount_atomic: settlesOf(p.account.address)[0]!.paymentRequirements.amount })
  expect(settlesOf(p.account.address)).toHaveLength(1)
  api.child.kill('SIGKILL')
}, 60_000)

test('sweepers racing for one lost payment settle it once', async () => {
  const lost = await crashMidStream()
  const records: X402PaymentRecord[] = []
  const racers = [inProcessSweeper({ records }), inProcessSweeper({ records }), inProcessSweeper({ records })]
  const results = await Promise.all(racers.map((s) => s.sweep()))
  // Their clock is past the lease; the worker process's is not yet: one of the three took it, the others found it taken or gone.
  expect(results.reduce((n, r) => n + r.settled, 0)).toBe(1)
  expect(records.filter((r) => r.requestId === lost.requestId)).toHaveLength(1)
  expect(await redis.exists(lost.key)).toBe(0)
  // Later sweeps (the worker process's every 200 ms, and one more here) find nothing.
  await expect(racers[0]!.sweep()).resolves.toMatchObject({ settled: 0 })
  expect(settlesOf(lost.payer)).toHaveLength(1)
  expect(settlesOf(lost.payer)[0]!.paymentRequirements.amount).toBe(expectedAmount(lost.costNano, lost.maxAtomic).toString())
}, 60_000)

test('a facilitator that is down during recovery: the payment is given back and settled by a later try', async () => {
  const lost = await crashMidStream()
  const records: X402PaymentRecord[] = []
  const down = inProcessSweeper({ facilitatorUrl: `http://127.0.0.1:${freePort()}`, records })
  const first = await down.sweep()
  expect(first).toMatchObject({ settled: 0, retried: 1 })
  expect(records).toHaveLength(0)
  // Given back, to be taken again after a backoff; nothing was settled or recorded.
  expect(await redis.hget(lost.key, 'state')).toBe('open')
  expect(settlesOf(lost.payer)).toHaveLength(0)
  expect(await paymentRow(lost.requestId)).toHaveLength(0)
  // The worker process (facilitator up) takes it on a later sweep.
  await waitFor(() => settlesOf(lost.payer).length > 0, 20_000, 'the retried settle')
  const [row] = await waitFor(async () => ((await paymentRow(lost.requestId)).length === 1 ? paymentRow(lost.requestId) : null), 20_000, 'the payment record')
  expect(row).toMatchObject({ status: 'settled', amount_atomic: expectedAmount(lost.costNano, lost.maxAtomic).toString() })
  expect(settlesOf(lost.payer)).toHaveLength(1)
}, 60_000)

test('SIGKILL mid-stream on a metered Messages route with a 20% markup: the sweeper settles the checkpointed cost plus the markup, rounded up once, within the signed maximum', async () => {
  const lost = await crashMidStream('messages')
  expect(settlesOf(lost.payer)).toHaveLength(0)
  // The pending material carries the route's markup: the sweeper applies it as the finish would have.
  const material = JSON.parse((await redis.hget(lost.key, 'material'))!) as { markupBps?: number; route: string }
  expect(material).toMatchObject({ markupBps: MESSAGES_MARKUP_BPS, route: 'POST /v1/messages' })
  worker ??= await spawnMeterway({ ...env, ROLE: 'worker' }).then((w) => (processes.push(w), w))
  const [settle] = await waitFor(() => (settlesOf(lost.payer).length > 0 ? settlesOf(lost.payer) : null), 20_000, 'the sweeper settling the lost Messages payment')
  // cost × 1.2 rounded up to a nano-USD, then to atomic units: the same as rounding the exact marked-up cost once.
  const marked = (lost.costNano * 12_000n + 9_999n) / 10_000n
  const amount = expectedAmount(marked, lost.maxAtomic)
  expect(amount).toBeGreaterThan(expectedAmount(lost.costNano, lost.maxAtomic))
  expect(amount).toBeLessThanOrEqual(lost.maxAtomic)
  expect(settle!.paymentRequirements.amount).toBe(amount.toString())
  expect(settle!.answer.success).toBe(true)
  const [row] = await waitFor(async () => ((await paymentRow(lost.requestId)).length === 1 ? paymentRow(lost.requestId) : null), 20_000, 'the payment record')
  expect(row).toMatchObject({ status: 'settled', scheme: 'upto', amount_atomic: amount.toString(), payer: lost.payer, route: 'POST /v1/messages' })
  await waitFor(async () => (await redis.exists(lost.key)) === 0, 5_000, 'the payment gone from Redis')
  expect(settlesOf(lost.payer)).toHaveLength(1)
}, 90_000)
