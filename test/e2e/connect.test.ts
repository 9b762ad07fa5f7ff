// Stripe Connect payouts end to end, through @meterway/server and the real stripe SDK against the fake: onboarding, status, the margin of real top-ups paid out exactly once.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { Meterway, MeterwayError } from '@meterway/server'
import type { Sql } from '../../src/lib/db'
import { testDb } from '../helpers/db'
import { deliver, startFakeStripe, stripeEvent, type FakeStripe } from '../helpers/fake-stripe'
import { startGateway, TEST_KEY, type TestGateway } from '../helpers/gateway'
import { call, mintSession, projectWithKeys, registerAccount, type TestProject } from '../helpers/platform'

const STRIPE_KEY = 'sk_test_fake_connect_platform_0123456789'
const WEBHOOK_SECRET = 'whsec_connect_top_ups'

let fake: FakeStripe
let gateway: TestGateway
let sql: Sql
let url = ''

beforeAll(async () => {
  fake = startFakeStripe({ secretKey: STRIPE_KEY })
  gateway = await startGateway({ STRIPE_SECRET_KEY: STRIPE_KEY, STRIPE_API_BASE: fake.url, STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET })
  url = gateway.url
  sql = await testDb(2)
}, 30_000)
afterAll(async () => {
  await sql?.end()
  await gateway?.stop()
  await fake?.stop()
}, 30_000)

const RETURN = { refreshUrl: 'https://app.example.com/settings/payouts', returnUrl: 'https://app.example.com/settings/payouts?done=1' }

/** A live project of this account (or a new one) with this markup, and the SDK on its live secret key. */
async function platform(markupPercent: number, accountKey?: string) {
  const project = await projectWithKeys(url, { markup_percent: markupPercent }, accountKey)
  return { project, mw: new Meterway({ secretKey: project.live, baseUrl: url }) }
}

/** A real top-up: the end user's PaymentIntent, paid in the fake, and Stripe's signed payment_intent.succeeded delivered. */
async function topUp(project: TestProject, amountUsd: string) {
  const session = await mintSession(url, project.live, { customer: `user_${crypto.randomUUID()}` })
  const created = await call(url, 'POST', '/v1/wallet/top-up', session.session_token, { amount_usd: amountUsd })
  expect(created.status).toBe(200)
  const delivered = await deliver(`${url}/stripe/webhook`, stripeEvent('payment_intent.succeeded', fake.succeedPaymentIntent(created.body.payment_intent_id)), WEBHOOK_SECRET)
  expect(delivered.status).toBe(200)
}

/** Σ margin_ledger of the project's account, as top-ups wrote it. */
async function accruedNano(projectId: string): Promise<bigint> {
  const [row] = await sql<{ total: string }[]>`
    SELECT coalesce(sum(amount_nano), 0)::text AS total FROM margin_ledger WHERE account_id = (SELECT account_id FROM projects WHERE id = ${projectId})`
  return BigInt(row!.total)
}

/** An onboarded account (Stripe says details submitted, payouts on) with its SDK client and connected account id. */
async function onboarded(markupPercent = 20) {
  const { project, mw } = await platform(markupPercent)
  const link = await mw.connect.createOnboardingLink(RETURN)
  fake.completeOnboarding(link.accountId)
  return { project, mw, destination: link.accountId }
}

const transfersTo = (destination: string) => [...fake.transfers.values()].filter((t) => t.destination === destination)
const transferCalls = (destination: string) => fake.requests.filter((r) => r.path === '/v1/transfers' && r.form.destination === destination)

async function refused(work: Promise<unknown>): Promise<MeterwayError> {
  const error = await work.then(
    () => null,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(MeterwayError)
  return error as MeterwayError
}

describe('onboarding and status', () => {
  test('before onboarding: no account, no payout; the link creates one Express account, once, and status follows Stripe', async () => {
    const { project, mw } = await platform(20)
    expect(await mw.connect.status()).toEqual({ accountId: null, onboarded: false, payoutsEnabled: false, marginBalance: '0.00' })
    expect(await refused(mw.connect.payout())).toMatchObject({ status: 409, code: 'connect_not_onboarded' })

    const link = await mw.connect.createOnboardingLink(RETURN)
    expect(link.accountId).toStartWith('acct_')
    expect(link.url).toStartWith(`https://connect.stripe.com/setup/e/${link.accountId}/`)
    expect(Date.parse(link.expiresAt)).toBeGreaterThan(Date.now())
    const stored = fake.accounts.get(link.accountId)!
    expect(stored.type).toBe('express')
    const sent = fake.accountLinks.filter((l) => l.account === link.accountId)
    expect(sent).toEqual([expect.objectContaining({ type: 'account_onboarding', refresh_url: RETURN.refreshUrl, return_url: RETURN.returnUrl })])

    // Again (the link expired, say), with the account key this time: the same account, a new link.
    const again = await call(url, 'POST', '/v1/connect/onboard', project.accountKey, { refresh_url: RETURN.refreshUrl, return_url: RETURN.returnUrl })
    expect(again.status).toBe(200)
    expect(again.body.account_id).toBe(link.accountId)
    expect([...fake.accounts.values()].filter((a) => a.metadata.meterway_account_id === stored.metadata.meterway_account_id)).toHaveLength(1)
    expect(fake.accountLinks.filter((l) => l.account === link.accountId)).toHaveLength(2)

    expect(await mw.connect.status()).toEqual({ accountId: link.accountId, onboarded: false, payoutsEnabled: false, marginBalance: '0.00' })
    expect(await refused(mw.connect.payout())).toMatchObject({ status: 409, code: 'connect_not_onboarded' })
    fake.completeOnboarding(link.accountId)
    expect(await mw.connect.status()).toEqual({ accountId: link.accountId, onboarded: true, payoutsEnabled: true, marginBalance: '0.00' })
  })

  test('who may call: the account key and the live secret key see one account; a test key, a static key and a session are refused; bad URLs are 400s', async () => {
    const { project, mw } = await platform(10)
    const link = await mw.connect.createOnboardingLink(RETURN)
    const byAccount = await call(url, 'GET', '/v1/connect/status', project.accountKey)
    expect(byAccount.body).toMatchObject({ object: 'connect_status', account_id: link.accountId })
    // A second project of the same account shares the connected account.
    const sibling = await platform(30, project.accountKey)
    expect((await sibling.mw.connect.status()).accountId).toBe(link.accountId)
    const testKey = new Meterway({ secretKey: project.test, baseUrl: url })
    expect(await refused(testKey.connect.status())).toMatchObject({ status: 403, code: 'live_key_required' })
    expect((await call(url, 'GET', '/v1/connect/status', TEST_KEY)).body.error.code).toBe('connect_not_available')
    const session = await mintSession(url, project.live, { customer: 'someone' })
    expect((await call(url, 'GET', '/v1/connect/status', session.session_token)).status).toBeGreaterThanOrEqual(401)
    expect((await call(url, 'GET', '/v1/connect/status', 'sk_live_unknown_0123456789abcdef')).status).toBe(401)
    expect(await refused(mw.connect.createOnboardingLink({ refreshUrl: 'javascript:alert(1)', returnUrl: RETURN.returnUrl }))).toMatchObject({ status: 400, param: 'refresh_url' })
    expect((await call(url, 'POST', '/v1/connect/onboard', project.live, { refresh_url: RETURN.refreshUrl })).status).toBe(400)
  })
})

describe('payouts', () => {
  test('a payout moves exactly the margin accrued by top-ups (whole cents), across the account’s projects; the rest stays', async () => {
    const { project, mw, destination } = await onboarded(20)
    const other = await platform(50, project.accountKey)
    // 20 %: $12.00 → margin 2.00, $6.00 → 1.00, $10.00 → 1.666666667; 50 %: $3.00 → 1.00. Total 5.666666667.
    await topUp(project, '12.00')
    await topUp(project, '6.00')
    await topUp(project, '10.00')
    await topUp(other.project, '3.00')
    const accrued = await accruedNano(project.id)
    expect(accrued).toBe(5_666_666_667n)
    expect((await mw.connect.status()).marginBalance).toBe('5.666666667')

    const payout = await mw.connect.payout()
    expect(payout).toMatchObject({ amount: '5.66', status: 'paid', destination, failureReason: null })
    expect(payout.id).toStartWith('po_')
    const transfers = transfersTo(destination)
    expect(transfers).toHaveLength(1)
    expect(transfers[0]).toMatchObject({ id: payout.transferId, amount: 566, currency: 'usd', idempotency_key: payout.id, metadata: { meterway_payout_id: payout.id } })
    const after = await mw.connect.status()
    expect(after.marginBalance).toBe('0.006666667')
    expect(BigInt(transfers[0]!.amount) * 10_000_000n + 6_666_667n).toBe(accrued)
    // The ledger: the reservation and the completed payout, each once.
    const rows = await sql<{ kind: string; amount_nano: string; transfer_id: string | null }[]>`SELECT kind, amount_nano, transfer_id FROM payout_ledger WHERE payout_id = ${payout.id} ORDER BY id`
    expect([...rows]).toEqual([
      { kind: 'reserve', amount_nano: '5660000000', transfer_id: null },
      { kind: 'paid', amount_nano: '5660000000', transfer_id: payout.transferId },
    ])
    const listed = await call(url, 'GET', '/v1/connect/payouts', project.accountKey)
    expect(listed.body.data).toEqual([expect.objectContaining({ id: payout.id, status: 'paid', amount_usd: '5.66', transfer_id: payout.transferId })])

    // What is left is under $1: refused with a clear code, and Stripe is not called.
    const calls = fake.requests.length
    const below = await refused(mw.connect.payout())
    expect(below).toMatchObject({ status: 400, code: 'payout_below_minimum' })
    expect(below.message).toContain('$0.006666667')
    expect(fake.requests.slice(calls).some((r) => r.path === '/v1/transfers')).toBe(false)
    // More margin: the next payout takes it with the leftover.
    await topUp(project, '6.00')
    expect((await mw.connect.payout()).amount).toBe('1.00')
    expect((await mw.connect.status()).marginBalance).toBe('0.006666667')
  })

  test('below $1 from the start is refused with payout_below_minimum', async () => {
    const { project, mw } = await onboarded(20)
    await topUp(project, '3.00') // margin 0.50
    expect((await mw.connect.status()).marginBalance).toBe('0.50')
    expect(await refused(mw.connect.payout())).toMatchObject({ status: 400, code: 'payout_below_minimum' })
  })

  test('concurrent payouts reserve the margin once: one transfer, the others refused', async () => {
    const { project, mw, destination } = await onboarded(20)
    await topUp(project, '18.00') // margin 3.00
    const keys = [project.live, project.accountKey, project.live, project.accountKey, project.live]
    const answers = await Promise.all(keys.map((key) => call(url, 'POST', '/v1/connect/payouts', key)))
    const paid = answers.filter((a) => a.status === 201)
    expect(paid).toHaveLength(1)
    expect(paid[0]!.body).toMatchObject({ amount_usd: '3.00', status: 'paid' })
    for (const other of answers.filter((a) => a.status !== 201)) expect(['payout_in_progress', 'payout_below_minimum']).toContain(other.body.error.code)
    expect(transfersTo(destination)).toHaveLength(1)
    expect(transferCalls(destination)).toHaveLength(1)
    expect((await mw.connect.status()).marginBalance).toBe('0.00')
  })

  test('a refused transfer releases the reservation; a retry then pays it, with a new payout id as its key', async () => {
    const { project, mw, destination } = await onboarded(20)
    await topUp(project, '12.00') // margin 2.00
    fake.refuseTransfers('balance_insufficient')
    try {
      const failed = await refused(mw.connect.payout())
      expect(failed).toMatchObject({ status: 502, code: 'transfer_failed' })
      expect(failed.message).toContain('balance_insufficient')
    } finally {
      fake.refuseTransfers(null)
    }
    expect(transfersTo(destination)).toHaveLength(0)
    expect((await mw.connect.status()).marginBalance).toBe('2.00')
    const [failedPayout] = (await mw.connect.listPayouts()).payouts
    expect(failedPayout).toMatchObject({ status: 'failed', amount: '2.00', transferId: null, destination })
    expect(failedPayout!.failureReason).toContain('balance_insufficient')

    const retried = await mw.connect.payout()
    expect(retried).toMatchObject({ amount: '2.00', status: 'paid' })
    expect(retried.id).not.toBe(failedPayout!.id)
    expect(transfersTo(destination)).toEqual([expect.objectContaining({ amount: 200, idempotency_key: retried.id })])
    expect(transferCalls(destination).map((r) => r.idempotencyKey)).toEqual([failedPayout!.id, retried.id])
    expect((await mw.connect.listPayouts({ limit: 1 })).payouts.map((p) => p.id)).toEqual([retried.id])
    expect((await mw.connect.status()).marginBalance).toBe('0.00')
  })

  test('a transfer whose answer is lost stays reserved, and a later payout completes it under the same key: one transfer', async () => {
    const { project, mw, destination } = await onboarded(20)
    await topUp(project, '12.00') // margin 2.00
    // Stripe makes the transfer, then every answer (the SDK's retries included) is a 500.
    fake.setFailure({ mode: 'server_error', path: '/v1/transfers', afterEffect: true, count: 3 })
    const lost = await refused(mw.connect.payout())
    fake.setFailure(null)
    expect(lost).toMatchObject({ status: 502, code: 'payout_pending' })
    expect(transfersTo(destination)).toHaveLength(1)
    expect((await mw.connect.status()).marginBalance).toBe('0.00')
    const [pending] = (await call(url, 'GET', '/v1/connect/payouts', project.live)).body.data
    expect(pending).toMatchObject({ status: 'pending', amount_usd: '2.00' })
    // Still fresh: it may be in flight, so it is left alone.
    expect(await refused(mw.connect.payout())).toMatchObject({ status: 409, code: 'payout_in_progress' })
    // A minute later (the reservation is dated back instead of waiting), the next payout call settles it.
    await sql`UPDATE payout_ledger SET created_at = now() - interval '2 minutes' WHERE payout_id = ${pending.id}`
    const settled = await mw.connect.payout()
    expect(settled).toMatchObject({ id: pending.id, status: 'paid', amount: '2.00' })
    expect(transfersTo(destination)).toHaveLength(1)
    expect(settled.transferId).toBe(transfersTo(destination)[0]!.id)
    expect(new Set(transferCalls(destination).map((r) => r.idempotencyKey))).toEqual(new Set([pending.id]))
    expect((await mw.connect.status()).marginBalance).toBe('0.00')
  })

  test('an Idempotency-Key on the payout call replays the first answer: one transfer', async () => {
    const { project, mw, destination } = await onboarded(20)
    await topUp(project, '12.00')
    const first = await mw.connect.payout({ idempotencyKey: 'payout-2026-12' })
    const again = await mw.connect.payout({ idempotencyKey: 'payout-2026-12' })
    expect(again).toEqual(first)
    expect(transfersTo(destination)).toHaveLength(1)
  })
})

test('two first onboarding calls at once make one Express account', async () => {
  const { project, mw } = await platform(20)
  const links = await Promise.all([mw.connect.createOnboardingLink(RETURN), mw.connect.createOnboardingLink(RETURN)])
  expect(links[0].accountId).toBe(links[1].accountId)
  const accountId = (await sql<{ account_id: string }[]>`SELECT account_id FROM projects WHERE id = ${project.id}`)[0]!.account_id
  expect([...fake.accounts.values()].filter((a) => a.metadata.meterway_account_id === accountId)).toHaveLength(1)
})

test('a gateway without STRIPE_SECRET_KEY answers status from its own books, 503 connect_not_configured to onboarding', async () => {
  const bare = await startGateway()
  try {
    const { live } = await projectWithKeys(bare.url)
    const mw = new Meterway({ secretKey: live, baseUrl: bare.url })
    expect(await mw.connect.status()).toEqual({ accountId: null, onboarded: false, payoutsEnabled: false, marginBalance: '0.00' })
    expect(await refused(mw.connect.createOnboardingLink(RETURN))).toMatchObject({ status: 503, code: 'connect_not_configured' })
    // No connected account: there is nothing to pay out to, whatever the configuration.
    expect(await refused(mw.connect.payout())).toMatchObject({ status: 409, code: 'connect_not_onboarded' })
  } finally {
    await bare.stop()
  }
})

test('an account without projects can use Connect with its own key', async () => {
  const key = await registerAccount(url, 'connect-only')
  const status = await call(url, 'GET', '/v1/connect/status', key)
  expect(status.body).toEqual({ object: 'connect_status', account_id: null, onboarded: false, payouts_enabled: false, margin_balance_usd: '0.00' })
})
