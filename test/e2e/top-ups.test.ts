// End-user top-ups end to end: the real `stripe` SDK against the fake Stripe, signed webhook deliveries, exact net and margin, refunds, test mode.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { Sql } from '../../src/lib/db'
import { createHotRedis, type HotRedis } from '../../src/lib/hot-redis'
import { createLogger } from '../../src/lib/logger'
import { Admission } from '../../src/limits/admission'
import { TEST_QUEUE_PREFIX, testDb } from '../helpers/db'
import { deliver, signStripeEvent, startFakeStripe, stripeEvent, stripePayload, webhookRequest, type FakeStripe } from '../helpers/fake-stripe'
import { startGateway, type TestGateway } from '../helpers/gateway'
import { call, mintSession, projectWithKeys } from '../helpers/platform'

const LIVE_STRIPE_KEY = 'sk_test_fake_live_account_0123456789'
const TEST_STRIPE_KEY = 'sk_test_fake_sandbox_0123456789'
const LIVE_WEBHOOK_SECRET = 'whsec_top_ups_live'
const TEST_WEBHOOK_SECRET = 'whsec_top_ups_test'

let fake: FakeStripe
let gateway: TestGateway
let sql: Sql
let hot: HotRedis
/** A second admission on the same Redis and Postgres, holding money as a chat request would. */
let admission: Admission
let url = ''

beforeAll(async () => {
  fake = startFakeStripe({ secretKey: LIVE_STRIPE_KEY, extraSecretKeys: [TEST_STRIPE_KEY] })
  gateway = await startGateway({
    STRIPE_SECRET_KEY: LIVE_STRIPE_KEY,
    STRIPE_TEST_SECRET_KEY: TEST_STRIPE_KEY,
    STRIPE_API_BASE: fake.url,
    STRIPE_WEBHOOK_SECRET: LIVE_WEBHOOK_SECRET,
    STRIPE_TEST_WEBHOOK_SECRET: TEST_WEBHOOK_SECRET,
    STRIPE_PUBLISHABLE_KEY: 'pk_live_top_ups',
    STRIPE_TEST_PUBLISHABLE_KEY: 'pk_test_top_ups',
  })
  url = gateway.url
  sql = await testDb(2)
  hot = createHotRedis('redis://127.0.0.1:6379')
  await hot.ready
  admission = new Admission(hot, sql, { defaultRpm: 0, defaultTpm: 0, holdTtlMs: 60_000, onRedisError: 'deny', queuePrefix: TEST_QUEUE_PREFIX }, createLogger('silent'))
}, 60_000)
afterAll(async () => {
  hot?.close()
  await sql?.end()
  await gateway?.stop()
  await fake?.stop()
}, 30_000)

const webhookUrl = () => `${url}/stripe/webhook`

async function topUp(token: string, amountUsd: unknown, headers: Record<string, string> = {}) {
  return call(url, 'POST', '/v1/wallet/top-up', token, { amount_usd: amountUsd }, headers)
}

/** A wallet's ledger as Postgres has it. */
async function ledgerOf(walletId: string) {
  // A plain array: equality with a literal compares rows, not postgres.js's result metadata.
  return [...(await sql<{ kind: string; amount_nano: string; reference: string; markup_bps: number | null }[]>`
    SELECT kind, amount_nano, reference, markup_bps FROM ledger WHERE account_id = ${`wallet:${walletId}`} ORDER BY id`)]
}

async function marginsOf(projectId: string) {
  return [...(await sql<{ kind: string; amount_nano: string; markup_bps: number; payment_intent_id: string }[]>`
    SELECT kind, amount_nano, markup_bps, payment_intent_id FROM margin_ledger WHERE project_id = ${projectId} ORDER BY id`)]
}

const sum = (rows: { amount_nano: string }[]) => rows.reduce((total, row) => total + BigInt(row.amount_nano), 0n)

/** A live project with this markup, a session of a new end user, and the balance the wallet reports (Redis). */
async function liveSession(markupPercent: number, mode: 'live' | 'test' = 'live') {
  const project = await projectWithKeys(url, { markup_percent: markupPercent })
  const session = await mintSession(url, mode === 'live' ? project.live : project.test, { customer: `user_${crypto.randomUUID()}` })
  const secret = mode === 'live' ? project.live : project.test
  const balance = async () => (await call(url, 'GET', `/v1/wallets/${session.wallet_id}`, secret)).body as { balance_usd: string; available_usd: string }
  return { project, session, secret, balance }
}

/** The payer pays: the PaymentIntent succeeds in the fake, and Stripe's event for it. */
function paid(paymentIntentId: string) {
  return stripeEvent('payment_intent.succeeded', fake.succeedPaymentIntent(paymentIntentId))
}

function refundedCharge(paymentIntentId: string, amountCents: number, refundedCents: number) {
  return { id: `ch_${paymentIntentId.slice(3)}`, object: 'charge', amount: amountCents, amount_refunded: refundedCents, currency: 'usd', payment_intent: paymentIntentId, refunded: refundedCents === amountCents, status: 'succeeded' }
}

describe('POST /v1/wallet/top-up', () => {
  test('creates a PaymentIntent in cents with the live key; its metadata holds wallet, project, mode, and the markup and net as of now', async () => {
    const { project, session } = await liveSession(12.5)
    const before = fake.requests.length
    const created = await topUp(session.session_token, '10.00')
    expect(created.status).toBe(200)
    // 10 USD at 12.5 %: floor(10e9 × 10000 / 11250) = 8,888,888,888 nano-USD.
    expect(created.body).toMatchObject({ amount_usd: '10.00', net_credited_usd: '8.888888888', publishable_key: 'pk_live_top_ups' })
    const intent = fake.paymentIntents.get(created.body.payment_intent_id)!
    expect(created.body.client_secret).toBe(intent.client_secret)
    expect(intent).toMatchObject({ amount: 1000, currency: 'usd', status: 'requires_payment_method' })
    expect(intent.metadata).toEqual({
      meterway_kind: 'wallet_top_up',
      wallet_id: session.wallet_id,
      project_id: project.id,
      end_customer_id: session.end_customer_id,
      mode: 'live',
      markup_bps: '1250',
      net_nano: '8888888888',
    })
    const calls = fake.requests.slice(before).filter((r) => r.path === '/v1/payment_intents')
    expect(calls.map((r) => r.apiKey)).toEqual([LIVE_STRIPE_KEY])
  })

  test('amounts outside $0.50–$10,000, fractions of a cent and non-amounts are a 400 naming amount_usd', async () => {
    const { session } = await liveSession(0)
    for (const [amount, code] of [['0.49', 'amount_out_of_range'], ['10000.01', 'amount_out_of_range'], ['0', 'amount_out_of_range'], ['1.005', 'invalid_value'], ['-5', null], ['ten', null], [10, null]] as const) {
      const answer = await topUp(session.session_token, amount)
      expect(answer.status, `amount ${amount}`).toBe(400)
      expect(answer.body.error.param, `amount ${amount}`).toBe('amount_usd')
      if (code) expect(answer.body.error.code).toBe(code)
    }
    for (const amount of ['0.50', '10000']) expect((await topUp(session.session_token, amount)).status).toBe(200)
  })

  test('an Idempotency-Key gets the same PaymentIntent on a retry; reused for another amount it is a 409', async () => {
    const { session } = await liveSession(20)
    const first = await topUp(session.session_token, '25.00', { 'idempotency-key': 'buy-1' })
    const again = await topUp(session.session_token, '25.00', { 'idempotency-key': 'buy-1' })
    expect(again.body.payment_intent_id).toBe(first.body.payment_intent_id)
    const other = await topUp(session.session_token, '30.00', { 'idempotency-key': 'buy-1' })
    expect(other.status).toBe(409)
    expect(other.body.error.code).toBe('idempotency_key_reused')
    expect(fake.requests.find((r) => r.form['metadata[wallet_id]'] === session.wallet_id)?.idempotencyKey).toBe(`meterway-top-up:${session.wallet_id}:buy-1`)
  })

  test('a mode whose Stripe key is not configured answers 503 in our shape', async () => {
    const bare = await startGateway({ STRIPE_SECRET_KEY: LIVE_STRIPE_KEY, STRIPE_API_BASE: fake.url })
    try {
      const project = await projectWithKeys(bare.url)
      const session = await mintSession(bare.url, project.test, { customer: 'sandbox_user' })
      const answer = await call(bare.url, 'POST', '/v1/wallet/top-up', session.session_token, { amount_usd: '5.00' })
      expect(answer.status).toBe(503)
      expect(answer.body.error).toMatchObject({ code: 'top_ups_not_configured' })
      expect(answer.body.error.message).toContain('STRIPE_TEST_SECRET_KEY')
    } finally {
      await bare.stop()
    }
  })
})

describe('payment_intent.succeeded', () => {
  // amount, markup %, net (nano-USD): floor(amount × 10000 / (10000 + bps)).
  const cases: [string, number, bigint][] = [
    ['10.00', 0, 10_000_000_000n],
    ['10.00', 20, 8_333_333_333n],
    ['10.00', 12.5, 8_888_888_888n],
    ['0.50', 12.5, 444_444_444n],
    ['9999.99', 20, 8_333_325_000_000n],
  ]
  test.each(cases)('$%s at %d %% markup, delivered twice and again under another event id: the net is credited once and the margin once', async (amount, markup, net) => {
    const { project, session, balance } = await liveSession(markup)
    const created = await topUp(session.session_token, amount)
    expect(created.body.net_credited_usd).toBe(formatNano(net))
    const event = paid(created.body.payment_intent_id)
    for (const delivery of [event, event, stripeEvent('payment_intent.succeeded', event.data.object)]) {
      const response = await deliver(webhookUrl(), delivery, LIVE_WEBHOOK_SECRET)
      expect(response.status).toBe(200)
    }
    const amountNano = BigInt(Math.round(Number(amount) * 100)) * 10_000_000n
    const ledger = await ledgerOf(session.wallet_id)
    expect(ledger).toEqual([{ kind: 'credit', amount_nano: net.toString(), reference: created.body.payment_intent_id, markup_bps: Math.round(markup * 100) }])
    const margins = await marginsOf(project.id)
    expect(sum(margins)).toBe(amountNano - net)
    expect(margins.length).toBe(markup === 0 ? 0 : 1)
    expect((await balance()).balance_usd).toBe(formatNano(net))
    const browser = await call(url, 'GET', '/v1/wallet/balance', session.session_token)
    expect(browser.body.recent_ledger).toHaveLength(1)
  })

  test('the markup of the PaymentIntent counts, not a markup changed after it was created', async () => {
    const { project, session, balance } = await liveSession(20)
    const created = await topUp(session.session_token, '12.00')
    expect((await call(url, 'PATCH', `/v1/projects/${project.id}`, project.accountKey, { markup_percent: 50 })).status).toBe(200)
    expect((await deliver(webhookUrl(), paid(created.body.payment_intent_id), LIVE_WEBHOOK_SECRET)).status).toBe(200)
    expect((await balance()).balance_usd).toBe('10.00')
    expect((await marginsOf(project.id)).map((m) => [m.amount_nano, m.markup_bps])).toEqual([['2000000000', 2000]])
  })

  test('a tampered body, a wrong secret and a missing signature are refused, and credit nothing', async () => {
    const { session } = await liveSession(10)
    const created = await topUp(session.session_token, '10.00')
    const event = paid(created.body.payment_intent_id)
    const payload = stripePayload(event)
    const signature = signStripeEvent(payload, LIVE_WEBHOOK_SECRET)
    const tampered = payload.replace('"amount_received": 1000', '"amount_received": 900000')
    expect(tampered).not.toBe(payload)
    const refusals = [
      webhookRequest(webhookUrl(), event, LIVE_WEBHOOK_SECRET, { payload: tampered, signature }),
      webhookRequest(webhookUrl(), event, 'whsec_someone_else'),
      webhookRequest(webhookUrl(), event, LIVE_WEBHOOK_SECRET, { signature: null }),
      webhookRequest(webhookUrl(), event, LIVE_WEBHOOK_SECRET, { signature: signature.replace(/v1=./, (m) => `v1=${m.endsWith('0') ? '1' : '0'}`) }),
    ]
    for (const request of refusals) {
      const response = await fetch(request)
      expect(response.status).toBe(400)
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe('invalid_signature')
    }
    expect(await ledgerOf(session.wallet_id)).toEqual([])
  })

  test('test mode: the test Stripe key creates the PaymentIntent, only the test secret credits it, and no margin accrues', async () => {
    const { project, session, balance } = await liveSession(20, 'test')
    const before = fake.requests.length
    const created = await topUp(session.session_token, '10.00')
    expect(created.body).toMatchObject({ publishable_key: 'pk_test_top_ups', net_credited_usd: '8.333333333' })
    expect(fake.requests.slice(before).map((r) => r.apiKey)).toEqual([TEST_STRIPE_KEY])
    expect(fake.paymentIntents.get(created.body.payment_intent_id)!.metadata.mode).toBe('test')
    const event = paid(created.body.payment_intent_id)
    // Signed by the live secret: a test PaymentIntent never credits through live mode's endpoint secret.
    expect((await deliver(webhookUrl(), event, LIVE_WEBHOOK_SECRET)).status).toBe(200)
    expect(await ledgerOf(session.wallet_id)).toEqual([])
    for (let i = 0; i < 2; i++) expect((await deliver(webhookUrl(), event, TEST_WEBHOOK_SECRET)).status).toBe(200)
    expect(sum(await ledgerOf(session.wallet_id))).toBe(8_333_333_333n)
    expect((await balance()).balance_usd).toBe('8.333333333')
    expect(await marginsOf(project.id)).toEqual([])
  })
})

describe('charge.refunded', () => {
  test('partial then full refunds reverse net and margin once each, however often delivered, and an older event reverses nothing', async () => {
    const { project, session, balance } = await liveSession(20)
    const created = await topUp(session.session_token, '10.00')
    const pi = created.body.payment_intent_id as string
    await deliver(webhookUrl(), paid(pi), LIVE_WEBHOOK_SECRET)
    const half = stripeEvent('charge.refunded', refundedCharge(pi, 1000, 500))
    for (let i = 0; i < 2; i++) expect((await deliver(webhookUrl(), half, LIVE_WEBHOOK_SECRET)).status).toBe(200)
    // $5 of $10 at 20 %: net floor(5e9 / 1.2) = 4,166,666,666, margin 833,333,334.
    expect(sum(await ledgerOf(session.wallet_id))).toBe(8_333_333_333n - 4_166_666_666n)
    expect(sum(await marginsOf(project.id))).toBe(1_666_666_667n - 833_333_334n)
    const full = stripeEvent('charge.refunded', refundedCharge(pi, 1000, 1000))
    for (const event of [full, full, half]) expect((await deliver(webhookUrl(), event, LIVE_WEBHOOK_SECRET)).status).toBe(200)
    expect(sum(await ledgerOf(session.wallet_id))).toBe(0n)
    expect(sum(await marginsOf(project.id))).toBe(0n)
    expect((await balance()).balance_usd).toBe('0.00')
    expect((await ledgerOf(session.wallet_id)).map((row) => row.kind)).toEqual(['credit', 'adjustment', 'adjustment'])
  })

  test('a refund takes back only what the wallet still has available: money held by a request stays, the wallet never goes below zero, the margin is reversed in full', async () => {
    const { project, session, balance } = await liveSession(25)
    const created = await topUp(session.session_token, '10.00')
    const pi = created.body.payment_intent_id as string
    await deliver(webhookUrl(), paid(pi), LIVE_WEBHOOK_SECRET)
    // 10 USD at 25 %: net 8.00, margin 2.00. A request holds 6.50 of it, as chat would.
    const subject = `wallet:${session.wallet_id}`
    const ticket = await admission.admit({ requestId: `req_${crypto.randomUUID().replaceAll('-', '')}`, subject, accountId: subject, limits: { rpm: null, tpm: null }, mode: 'prepaid', capNano: null, holdNano: 6_500_000_000n, chargeTokens: 1 })
    expect((await balance()).available_usd).toBe('1.50')
    expect((await deliver(webhookUrl(), stripeEvent('charge.refunded', refundedCharge(pi, 1000, 1000)), LIVE_WEBHOOK_SECRET)).status).toBe(200)
    const ledger = await ledgerOf(session.wallet_id)
    expect(ledger.map((row) => [row.kind, row.amount_nano])).toEqual([['credit', '8000000000'], ['adjustment', '-1500000000']])
    expect(sum(await marginsOf(project.id))).toBe(0n)
    expect((await balance()).available_usd).toBe('0.00')
    // The request ends having used 6.20 of its hold: the wallet ends at 0.30, never below zero.
    await admission.settle(ticket, 6_200_000_000, 1, null)
    expect((await balance()).available_usd).toBe('0.30')
  })

  test('a refund that arrives before its payment_intent.succeeded credits the top-up from Stripe first, then reverses it', async () => {
    const { project, session } = await liveSession(20)
    const created = await topUp(session.session_token, '10.00')
    const pi = created.body.payment_intent_id as string
    fake.succeedPaymentIntent(pi)
    expect((await deliver(webhookUrl(), stripeEvent('charge.refunded', refundedCharge(pi, 1000, 1000)), LIVE_WEBHOOK_SECRET)).status).toBe(200)
    expect((await ledgerOf(session.wallet_id)).map((row) => row.amount_nano)).toEqual(['8333333333', '-8333333333'])
    // The late success changes nothing.
    expect((await deliver(webhookUrl(), stripeEvent('payment_intent.succeeded', fake.paymentIntents.get(pi)!), LIVE_WEBHOOK_SECRET)).status).toBe(200)
    expect(sum(await ledgerOf(session.wallet_id))).toBe(0n)
    expect(sum(await marginsOf(project.id))).toBe(0n)
  })
})

test("the customers list's lifetime_topped_up and balance equal the ledger", async () => {
  const { project, session, secret } = await liveSession(12.5)
  for (const amount of ['10.00', '3.33']) {
    const created = await topUp(session.session_token, amount)
    await deliver(webhookUrl(), paid(created.body.payment_intent_id), LIVE_WEBHOOK_SECRET)
  }
  const ledger = await ledgerOf(session.wallet_id)
  const credited = sum(ledger.filter((row) => row.kind === 'credit'))
  expect(credited).toBe(8_888_888_888n + 2_960_000_000n)
  const listed = await call(url, 'GET', '/v1/customers', secret)
  const customer = listed.body.data.find((c: { id: string }) => c.id === session.end_customer_id)
  expect(customer.lifetime_topped_up_usd).toBe(formatNano(credited))
  expect(customer.wallet.balance_usd).toBe(formatNano(sum(ledger)))
  expect(project.id).toStartWith('proj_')
})

function formatNano(nano: bigint): string {
  const whole = nano / 1_000_000_000n
  let fraction = (nano % 1_000_000_000n).toString().padStart(9, '0').replace(/0+$/, '')
  if (fraction.length < 2) fraction = fraction.padEnd(2, '0')
  return `${whole}.${fraction}`
}

test('the test-mode secret verifies top-up events only: a subscription event it signs changes no account', async () => {
  const agentId = `topup-agent-${crypto.randomUUID().slice(0, 8)}`
  expect((await call(url, 'POST', '/agents/register', null, { agent_id: agentId, name: 'Agent' })).status).toBe(201)
  const [before] = await sql<{ subscription_status: string }[]>`SELECT subscription_status FROM accounts WHERE id = ${agentId}`
  const subscription = { id: `sub_${crypto.randomUUID().slice(0, 8)}`, object: 'subscription', customer: 'cus_x', status: 'active', metadata: { agent_id: agentId } }
  const response = await deliver(webhookUrl(), stripeEvent('customer.subscription.updated', subscription), TEST_WEBHOOK_SECRET)
  expect(response.status).toBe(200)
  const [after] = await sql<{ subscription_status: string }[]>`SELECT subscription_status FROM accounts WHERE id = ${agentId}`
  expect(after!.subscription_status).toBe(before!.subscription_status)
  expect(after!.subscription_status).not.toBe('active')
  // The same event under the live secret applies.
  expect((await deliver(webhookUrl(), stripeEvent('customer.subscription.updated', subscription), LIVE_WEBHOOK_SECRET)).status).toBe(200)
  const [live] = await sql<{ subscription_status: string }[]>`SELECT subscription_status FROM accounts WHERE id = ${agentId}`
  expect(live!.subscription_status).toBe('active')
})
