// Money checks for end-to-end tests: paying agents, requests as a client sends them, Redis sampled while they run, and
// the invariants after the usage drains (never below zero, never past the cap, Postgres and Redis agree).
import type { RedisConnection } from '../../src/lib/redis'
import { insertCredit } from '../../src/db/queries/ledger'
import type { Sql } from '../../src/lib/db'
import { subjectKeys } from '../../src/limits/keys'
import { uniqueId } from './db'

export const NANO_PER_USD = 1_000_000_000n

/** "$0.010000" / "−$0.118000": nano-USD for people. */
export function usd(nano: bigint): string {
  const sign = nano < 0n ? '−' : ''
  const abs = nano < 0n ? -nano : nano
  return `${sign}$${abs / NANO_PER_USD}.${(abs % NANO_PER_USD).toString().padStart(9, '0').slice(0, 6)}`
}

export type Billing = { mode: 'prepaid'; creditNano: bigint } | { mode: 'cap'; capNano: bigint }

export interface PayingAgent {
  id: string
  apiKey: string
  billing: Billing
}

/** A subscribed agent with a key: prepaid with a ledger credit, or postpaid under a monthly cap. */
export async function registerAgent(gatewayUrl: string, sql: Sql, billing: Billing): Promise<PayingAgent> {
  const id = uniqueId('hostile')
  const response = await fetch(`${gatewayUrl}/agents/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ agent_id: id, name: 'Hostile' }),
  })
  if (response.status !== 201) throw new Error(`register ${id}: ${response.status} ${await response.text()}`)
  const { api_key } = (await response.json()) as { api_key: string }
  await sql`UPDATE accounts SET subscription_status = 'active',
    billing_mode = ${billing.mode === 'prepaid' ? 'prepaid' : 'postpaid'},
    spend_cap_nano = ${billing.mode === 'cap' ? billing.capNano.toString() : null} WHERE id = ${id}`
  if (billing.mode === 'prepaid') await insertCredit(sql, id, billing.creditNano, `credit:${id}`, 'test')
  return { id, apiKey: api_key, billing }
}

export interface Reply {
  status: number
  requestId: string | null
  /** The error code of a refusal (or of an error event in a stream). */
  code: string | null
  finishReasons: string[]
}

/** One chat completion as a client sends it, read to its end (every SSE event of a stream). */
export async function chat(gatewayUrl: string, apiKey: string, body: Record<string, unknown>): Promise<Reply> {
  const response = await fetch(`${gatewayUrl}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  const text = await response.text()
  const reply: Reply = { status: response.status, requestId: response.headers.get('x-request-id'), code: null, finishReasons: [] }
  const read = (payload: { error?: { code?: string }; choices?: { finish_reason?: string | null }[] }) => {
    if (payload.error) reply.code = payload.error.code ?? 'unknown'
    for (const choice of payload.choices ?? []) if (choice.finish_reason) reply.finishReasons.push(choice.finish_reason)
  }
  if ((response.headers.get('content-type') ?? '').includes('text/event-stream')) {
    for (const line of text.split('\n')) if (line.startsWith('data: {')) read(JSON.parse(line.slice(6)))
  } else {
    try {
      read(JSON.parse(text))
    } catch {
      reply.code = `unreadable body: ${text.slice(0, 80)}`
    }
  }
  return reply
}

export interface MoneySeen {
  /** The lowest prepaid `avail` seen (null: the wallet was never in Redis). */
  minAvailable: bigint | null
  /** The most `spent + held` seen (what a cap is checked against). */
  maxCommitted: bigint
  samples: number
}

/** Samples one account's Redis wallet until stopped, as wallet-race.test.ts does. */
export function sampleMoney(redis: RedisConnection, accountId: string) {
  const keys = subjectKeys(accountId)
  let running = true
  const seen: MoneySeen = { minAvailable: null, maxCommitted: 0n, samples: 0 }
  const done = (async () => {
    while (running) {
      const [avail = null, spent = null, held = null] = await redis.hmget(keys.wallet, 'avail', 'spent', 'held')
      seen.samples++
      if (avail !== null && (seen.minAvailable === null || BigInt(avail) < seen.minAvailable)) seen.minAvailable = BigInt(avail)
      const committed = BigInt(spent ?? '0') + BigInt(held ?? '0')
      if (committed > seen.maxCommitted) seen.maxCommitted = committed
    }
  })()
  return {
    async stop(): Promise<MoneySeen> {
      running = false
      await done
      return seen
    },
  }
}

/** Waits (with a deadline) until every admitted request has its usage row, Redis has settled and posted them, no hold is open. */
export async function waitForDrain(sql: Sql, redis: RedisConnection, accountId: string, requestIds: string[], timeoutMs = 30_000): Promise<void> {
  const keys = subjectKeys(accountId)
  const deadline = performance.now() + timeoutMs
  let state = ''
  while (performance.now() < deadline) {
    const [row] = await sql<{ rows: string }[]>`SELECT count(*) AS rows FROM usage_events WHERE request_id = ANY(${requestIds})`
    const unposted = await redis.hlen(keys.unposted)
    const holds = await redis.hlen(keys.holds)
    if (Number(row!.rows) === requestIds.length && unposted === 0 && holds === 0) return
    state = `${row!.rows}/${requestIds.length} usage rows, ${unposted} unposted costs, ${holds} open holds`
    await Bun.sleep(25)
  }
  throw new Error(`usage did not drain within ${timeoutMs} ms: ${state}`)
}

export interface MoneyReport {
  /** Each broken invariant, in words with the amounts (empty: the money held). */
  violations: string[]
  summary: string
}

/** The invariants after the drain, plus what the sampler saw while requests ran. */
export async function checkMoney(sql: Sql, redis: RedisConnection, agent: PayingAgent, seen: MoneySeen): Promise<MoneyReport> {
  const keys = subjectKeys(agent.id)
  const [usage] = await sql<{ rows: string; cost: string }[]>`
    SELECT count(*) AS rows, coalesce(sum(cost_nano), 0)::bigint AS cost FROM usage_events WHERE account_id = ${agent.id}`
  const [ledger] = await sql<{ balance: string }[]>`SELECT coalesce(sum(amount_nano), 0)::bigint AS balance FROM ledger WHERE account_id = ${agent.id}`
  const [avail = null, spent = null] = await redis.hmget(keys.wallet, 'avail', 'spent')
  const cost = BigInt(usage!.cost)
  const balance = BigInt(ledger!.balance)
  const violations: string[] = []

  if (agent.billing.mode === 'prepaid') {
    const credit = agent.billing.creditNano
    if (seen.minAvailable !== null && seen.minAvailable < 0n) violations.push(`wallet reached ${usd(seen.minAvailable)} while requests ran`)
    if (balance < 0n) violations.push(`ledger balance ${usd(balance)} is below zero`)
    if (balance !== credit - cost) violations.push(`ledger balance ${usd(balance)} ≠ credits ${usd(credit)} − usage ${usd(cost)}`)
    if (avail === null || BigInt(avail) !== balance) violations.push(`Redis avail ${avail === null ? 'missing' : usd(BigInt(avail))} ≠ ledger balance ${usd(balance)}`)
    const summary = `credit ${usd(credit)}, usage ${usd(cost)} over ${usage!.rows} rows, ledger ${usd(balance)}, Redis avail ${avail === null ? '-' : usd(BigInt(avail))}, lowest avail seen ${seen.minAvailable === null ? '-' : usd(seen.minAvailable)} (${seen.samples} samples)`
    return { violations, summary }
  }
  const cap = agent.billing.capNano
  if (seen.maxCommitted > cap) violations.push(`spend + holds reached ${usd(seen.maxCommitted)} while requests ran, past the cap of ${usd(cap)}`)
  if (cost > cap) violations.push(`usage cost ${usd(cost)} passed the cap of ${usd(cap)}`)
  if (spent === null || BigInt(spent) !== cost) violations.push(`Redis spent ${spent === null ? 'missing' : usd(BigInt(spent))} ≠ usage cost ${usd(cost)}`)
  const summary = `cap ${usd(cap)}, usage ${usd(cost)} over ${usage!.rows} rows, Redis spent ${spent === null ? '-' : usd(BigInt(spent))}, most spent+held seen ${usd(seen.maxCommitted)} (${seen.samples} samples)`
  return { violations, summary }
}
