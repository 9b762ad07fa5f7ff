// GET /v1/projects/{id}/usage: a project's month per model and per end customer, equal to what its end users' wallets were debited; another account's project is 404.
import { afterAll, beforeAll, expect, test } from 'bun:test'
import type Redis from 'ioredis'
import type { Sql } from '../../src/lib/db'
import { createRedis } from '../../src/lib/redis'
import { formatNanoAsUsd } from '../../src/pricing/money'
import { testDb } from '../helpers/db'
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream'
import { startGateway, upstreamEnv, type TestGateway } from '../helpers/gateway'
import { waitForDrain } from '../helpers/money'
import { call, mintSession, projectWithKeys, type TestProject } from '../helpers/platform'

let upstream: FakeUpstream
let gateway: TestGateway
let sql: Sql
let redis: Redis

beforeAll(async () => {
  upstream = startFakeUpstream()
  gateway = await startGateway(upstreamEnv(upstream.url))
  sql = await testDb(2)
  redis = createRedis('redis://127.0.0.1:6379')
  await redis.connect()
}, 30_000)
afterAll(async () => {
  await gateway?.stop()
  await sql?.end()
  redis?.disconnect()
  upstream?.stop()
})

const thisMonth = () => new Date().toISOString().slice(0, 7)

/** An end user of the project with a funded wallet; `chat` sends one completion with their session token and returns its request id. */
async function endUser(project: TestProject, externalId: string) {
  const session = await mintSession(gateway.url, project.live, { customer: externalId })
  expect((await call(gateway.url, 'POST', `/v1/wallets/${session.wallet_id}/credit`, project.live, { amount_usd: '1.00' })).status).toBe(201)
  const chat = async (model: string) => {
    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${session.session_token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model, max_tokens: 16, messages: [{ role: 'user', content: 'Hello!' }] }),
    })
    expect(response.status).toBe(200)
    await response.text()
    return response.headers.get('x-request-id')!
  }
  return { session, chat, holder: `wallet:${session.wallet_id}` }
}

/** What a wallet's ledger debited for these requests. */
async function debited(requestIds: string[]): Promise<bigint> {
  const [row] = await sql<{ total: string }[]>`SELECT coalesce(-sum(amount_nano), 0)::bigint AS total FROM ledger WHERE kind = 'usage' AND reference = ANY(${requestIds})`
  return BigInt(row!.total)
}

async function tokens(requestIds: string[]) {
  const [row] = await sql<{ input: string; output: string }[]>`
    SELECT coalesce(sum(input_tokens), 0)::bigint AS input, coalesce(sum(output_tokens), 0)::bigint AS output FROM usage_events WHERE request_id = ANY(${requestIds})`
  return { input: Number(row!.input), output: Number(row!.output) }
}

test("the month per model and per customer adds up to its end users' debits; other projects and other months are not in it", async () => {
  const project = await projectWithKeys(gateway.url)
  const alice = await endUser(project, 'alice')
  const bob = await endUser(project, 'bob')
  const aliceIds = [await alice.chat('openai/gpt-4o'), await alice.chat('openai/gpt-4o'), await alice.chat('openai/gpt-4o-mini')]
  const bobIds = [await bob.chat('openai/gpt-4o')]
  // A sibling project of the same account: its usage stays out of this one's report.
  const sibling = await projectWithKeys(gateway.url, {}, project.accountKey)
  const carol = await endUser(sibling, 'carol')
  const carolIds = [await carol.chat('openai/gpt-4o')]
  await waitForDrain(sql, redis, alice.holder, aliceIds)
  await waitForDrain(sql, redis, bob.holder, bobIds)
  await waitForDrain(sql, redis, carol.holder, carolIds)

  const report = await call(gateway.url, 'GET', `/v1/projects/${project.id}/usage?period=${thisMonth()}`, project.accountKey)
  expect(report.status).toBe(200)
  const gpt4o = [...aliceIds.slice(0, 2), ...bobIds]
  const all = [...aliceIds, ...bobIds]
  expect(report.body).toMatchObject({ object: 'project_usage', project_id: project.id, period_start: `${thisMonth()}-01T00:00:00Z`, cost_usd: formatNanoAsUsd(await debited(all)) })
  expect(report.body.total_input_tokens).toBe((await tokens(all)).input)
  expect(report.body.by_model).toEqual({
    'openai/gpt-4o': { ...(await tokens(gpt4o)), cost_usd: formatNanoAsUsd(await debited(gpt4o)) },
    'openai/gpt-4o-mini': { ...(await tokens(aliceIds.slice(2))), cost_usd: formatNanoAsUsd(await debited(aliceIds.slice(2))) },
  })
  expect(report.body.by_customer).toEqual(
    [
      { end_customer_id: alice.session.end_customer_id, external_id: 'alice', mode: 'live', requests: 3, ...(await tokens(aliceIds)), cost_usd: formatNanoAsUsd(await debited(aliceIds)) },
      { end_customer_id: bob.session.end_customer_id, external_id: 'bob', mode: 'live', requests: 1, ...(await tokens(bobIds)), cost_usd: formatNanoAsUsd(await debited(bobIds)) },
    ].sort((a, b) => (a.end_customer_id < b.end_customer_id ? -1 : 1)),
  )
  expect(await debited(all)).toBeGreaterThan(0n)

  // No period means this month; another month is empty.
  expect((await call(gateway.url, 'GET', `/v1/projects/${project.id}/usage`, project.accountKey)).body).toEqual(report.body)
  const past = await call(gateway.url, 'GET', `/v1/projects/${project.id}/usage?period=2020-01`, project.accountKey)
  expect(past.body).toMatchObject({ period_start: '2020-01-01T00:00:00Z', period_end: '2020-01-31T23:59:59Z', total_input_tokens: 0, cost_usd: '0.00', by_model: {}, by_customer: [] })
  const siblingReport = await call(gateway.url, 'GET', `/v1/projects/${sibling.id}/usage`, project.accountKey)
  expect(siblingReport.body.by_customer.map((c: { external_id: string }) => c.external_id)).toEqual(['carol'])
})

test("another account's project is 404, a secret key is not an account key, and a malformed period is 400", async () => {
  const mine = await projectWithKeys(gateway.url)
  const theirs = await projectWithKeys(gateway.url)
  const foreign = await call(gateway.url, 'GET', `/v1/projects/${theirs.id}/usage`, mine.accountKey)
  expect(foreign.status).toBe(404)
  expect(foreign.body.error.code).toBe('project_not_found')
  expect((await call(gateway.url, 'GET', `/v1/projects/proj_missing/usage`, mine.accountKey)).status).toBe(404)
  expect((await call(gateway.url, 'GET', `/v1/projects/${mine.id}/usage`, mine.live)).status).toBe(401)
  expect((await call(gateway.url, 'GET', `/v1/projects/${mine.id}/usage`, null)).status).toBe(401)
  for (const period of ['2026-13', '2026-1', 'last-month', '2026-01-01']) {
    const answer = await call(gateway.url, 'GET', `/v1/projects/${mine.id}/usage?period=${period}`, mine.accountKey)
    expect(answer.status, period).toBe(400)
    expect(answer.body.error.param, period).toBe('period')
  }
})
