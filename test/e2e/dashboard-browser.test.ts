// /dashboard in a real headless Chromium against a real gateway: sign in with the account key, create a project and a key (shown once), see a customer's usage chart drawn from the requests they made, and pay out the margin through Stripe Connect (the fake Stripe).
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import type Redis from 'ioredis'
import { chromium, type Browser, type Page } from 'playwright-core'
import type { Sql } from '../../src/lib/db'
import { createRedis } from '../../src/lib/redis'
import { testDb } from '../helpers/db'
import { deliver, startFakeStripe, stripeEvent, type FakeStripe } from '../helpers/fake-stripe'
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream'
import { startGateway, upstreamEnv, type TestGateway } from '../helpers/gateway'
import { waitForDrain } from '../helpers/money'
import { call, mintSession, registerAccount } from '../helpers/platform'
import { waitFor } from '../helpers/poll'

/** Debian's chromium (.ci/run installs it); CHROMIUM_PATH points elsewhere. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const RESULTS = join(import.meta.dir, '..', '..', 'test-results')
const STRIPE_KEY = 'sk_test_fake_dashboard_0123456789'
const WEBHOOK_SECRET = 'whsec_dashboard'

let upstream: FakeUpstream
let fake: FakeStripe
let gateway: TestGateway
let browser: Browser
let receiver: ReturnType<typeof Bun.serve>
let sql: Sql
let redis: Redis

beforeAll(async () => {
  upstream = startFakeUpstream()
  fake = startFakeStripe({ secretKey: STRIPE_KEY })
  // The developer's webhook receiver: answers 200 to everything.
  receiver = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => new Response('ok') })
  gateway = await startGateway({
    ...upstreamEnv(upstream.url),
    STRIPE_SECRET_KEY: STRIPE_KEY,
    STRIPE_API_BASE: fake.url,
    STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
    WEBHOOK_ALLOW_HTTP_LOOPBACK: 'true',
  })
  sql = await testDb(2)
  redis = createRedis('redis://127.0.0.1:6379')
  await redis.connect()
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] })
  mkdirSync(RESULTS, { recursive: true })
}, 60_000)
afterAll(async () => {
  await browser?.close()
  await gateway?.stop()
  await sql?.end()
  redis?.disconnect()
  upstream?.stop()
  await fake?.stop()
  receiver?.stop(true)
})

/** A page that reaches the gateway only (anything else fails at once), and that records script errors and CSP refusals. */
async function dashboardPage(): Promise<{ page: Page; problems: string[] }> {
  // (Routes registered later win: a test may add Stripe's hosted pages on top of this.)
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
  const problems: string[] = []
  const gatewayOrigin = new URL(gateway.url).origin
  await page.route('**/*', (route) => (route.request().url().startsWith(gatewayOrigin) ? route.continue() : route.abort('internetdisconnected')))
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`))
  page.on('console', (message) => {
    if (message.type() === 'error' && !/Failed to load resource: the server responded with a status of 4\d\d/.test(message.text())) problems.push(`console: ${message.text()}`)
  })
  await page.goto(`${gateway.url}/dashboard`, { waitUntil: 'load' })
  return { page, problems }
}

/** One completion with the session token; returns its request id. */
async function chat(token: string, model: string) {
  const response = await fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, max_tokens: 16, messages: [{ role: 'user', content: 'Hello!' }] }),
  })
  expect(response.status).toBe(200)
  await response.text()
  return response.headers.get('x-request-id')!
}

/** The bars the chart drew: their aria-labels and heights. */
const bars = (page: Page) =>
  page.locator('#usage-chart svg g[aria-label="bar"] rect').evaluateAll((rects) => rects.map((r) => ({ label: r.getAttribute('aria-label') ?? '', height: Number(r.getAttribute('height')) })))

test('the page is served whole by the gateway under a strict CSP', async () => {
  const answer = await fetch(`${gateway.url}/dashboard`)
  expect(answer.status).toBe(200)
  const csp = answer.headers.get('content-security-policy') ?? ''
  expect(csp).toContain("script-src 'self'")
  expect(csp).toContain("frame-ancestors 'none'")
  expect(csp).not.toContain('unsafe-eval')
  expect(answer.headers.get('x-content-type-options')).toBe('nosniff')
  const html = await answer.text()
  // No inline script: every script comes from the gateway by its path.
  expect(html.match(/<script[^>]*>[^<]+<\/script>/g)).toBeNull()
  for (const path of ['/dashboard/vendor/plot.js', '/dashboard/vendor/d3.js', '/dashboard/assets/app.js']) expect((await fetch(`${gateway.url}${path}`)).status).toBe(200)
  expect((await fetch(`${gateway.url}/dashboard/assets/../../package.json`)).status).toBe(404)
})

test('sign in, create a project and a key (shown once), then see a customer’s usage chart drawn from their requests', async () => {
  const accountKey = await registerAccount(gateway.url, 'dashboard')
  const { page, problems } = await dashboardPage()

  // Wrong keys get a clear message, not a broken page.
  await page.fill('#account-key', 'sk_live_not_an_account_key')
  await page.click('#sign-in')
  await page.locator('#sign-in-problem', { hasText: 'project secret key' }).waitFor()
  await page.fill('#account-key', 'mw_live_wrong_key_0123456789')
  await page.click('#sign-in')
  await page.locator('#sign-in-problem', { hasText: 'was not accepted' }).waitFor()

  await page.fill('#account-key', accountKey)
  await page.click('#sign-in')
  await page.locator('#new-project').waitFor()
  expect(await page.evaluate(() => sessionStorage.getItem('meterway.accountKey'))).toBe(accountKey)

  // A project, with a name that would be markup if it were not escaped.
  const name = 'Chart <b>app</b> & "co"'
  await page.fill('#new-project-name', name)
  await page.fill('#new-project-markup', '20')
  await page.fill('#new-project-origins', 'https://app.example.com')
  await page.click('#create-project')
  await page.locator('#create-live-key').waitFor()
  expect(await page.locator('.project-head h1').textContent()).toBe(name)
  expect(await page.locator('.project-head h1 b').count()).toBe(0)
  const projects = await call(gateway.url, 'GET', '/v1/projects', accountKey)
  expect(projects.body.data).toEqual([expect.objectContaining({ name, markup_percent: 20, end_user_sessions: true, allowed_origins: ['https://app.example.com'] })])
  const projectId = projects.body.data[0].id as string

  // A live key, shown once.
  await page.click('#create-live-key')
  const secret = (await page.locator('#new-key-secret').textContent())!
  expect(secret).toStartWith('sk_live_')
  await page.screenshot({ path: join(RESULTS, 'dashboard-keys.png') })
  await page.click('#dismiss-key')
  await page.reload({ waitUntil: 'load' })
  await page.locator(`tr[data-key-id]`).first().waitFor()
  expect(await page.locator('#new-key-secret').count()).toBe(0)
  expect(await page.content()).not.toContain(secret)
  expect(await page.locator('tr[data-key-id] code').first().textContent()).toBe(`${secret.slice(0, 12)}…`)
  // A test key, created and revoked from the page (after its confirm dialog).
  await page.click('#create-test-key')
  const testSecret = (await page.locator('#new-key-secret').textContent())!
  expect(testSecret).toStartWith('sk_test_')
  page.once('dialog', (dialog) => dialog.accept())
  await page.locator('tr[data-key-id]', { hasText: 'sk_test_' }).locator('button', { hasText: 'Revoke' }).click()
  await page.locator('tr[data-key-id]', { hasText: 'revoked' }).waitFor()
  const keys = await call(gateway.url, 'GET', `/v1/projects/${projectId}/keys`, accountKey)
  expect(keys.body.data.map((k: { mode: string; revoked_at: string | null }) => [k.mode, k.revoked_at !== null])).toEqual([
    ['live', false],
    ['test', true],
  ])
  expect((await call(gateway.url, 'POST', '/v1/sessions', testSecret, { customer: 'nobody' })).status).toBe(401)

  // The developer's backend uses that key: a webhook endpoint, then two end users, funded, make requests.
  const hook = await call(gateway.url, 'POST', '/v1/webhook_endpoints', secret, { url: `http://127.0.0.1:${receiver.port}/hooks`, enabled_events: ['wallet.credited'] })
  expect(hook.status).toBe(201)
  const ada = await mintSession(gateway.url, secret, { customer: { external_id: 'ada', email: 'ada@example.com' } })
  const bob = await mintSession(gateway.url, secret, { customer: 'bob' })
  for (const session of [ada, bob]) expect((await call(gateway.url, 'POST', `/v1/wallets/${session.wallet_id}/credit`, secret, { amount_usd: '1.00' })).status).toBe(201)
  const adaIds = [await chat(ada.session_token, 'openai/gpt-4o'), await chat(ada.session_token, 'openai/gpt-4o'), await chat(ada.session_token, 'openai/gpt-4o'), await chat(ada.session_token, 'openai/gpt-4o-mini')]
  const bobIds = [await chat(bob.session_token, 'openai/gpt-4o'), await chat(bob.session_token, 'openai/gpt-4o')]
  await waitForDrain(sql, redis, `wallet:${ada.wallet_id}`, adaIds)
  await waitForDrain(sql, redis, `wallet:${bob.wallet_id}`, bobIds)

  // Customers: balances and lifetime spend as the API has them.
  await page.click('#tab-customers')
  await page.locator('tr[data-external-id="ada"]').waitFor()
  const listed = await call(gateway.url, 'GET', `/v1/projects/${projectId}/customers`, accountKey)
  const adaRow = listed.body.data.find((c: { external_id: string }) => c.external_id === 'ada')
  const adaText = (await page.locator('tr[data-external-id="ada"]').textContent())!
  expect(adaText).toContain('ada@example.com')
  expect(adaText).toContain(`$${adaRow.lifetime_spend_usd}`)
  expect(adaText).toContain(`$${adaRow.wallet.balance_usd}`)
  // Their spend, drawn: one bar each, largest first (Ada made more requests).
  const bobRow = listed.body.data.find((c: { external_id: string }) => c.external_id === 'bob')
  const spendBars = await page.locator('#spend-chart svg g[aria-label="bar"] rect').evaluateAll((rects) => rects.map((r) => r.getAttribute('aria-label')))
  expect(spendBars).toEqual([`ada · $${adaRow.lifetime_spend_usd}`, `bob · $${bobRow.lifetime_spend_usd}`])
  await page.screenshot({ path: join(RESULTS, 'dashboard-customers.png') })

  // Ada's usage chart: today's bar, stacked gpt-4o and gpt-4o-mini, with her costs; Bob's requests are not in it.
  await page.click('tr[data-external-id="ada"] a.customer-usage')
  await page.locator('#usage-chart[data-metric="cost"] g[aria-label="bar"]').waitFor()
  expect(await page.locator('#usage-customer').inputValue()).toBe(ada.end_customer_id)
  const today = new Date().toISOString().slice(0, 10)
  const daily = await call(gateway.url, 'GET', `/v1/projects/${projectId}/usage/daily?end_customer_id=${ada.end_customer_id}`, accountKey)
  const todays = daily.body.days.find((d: { date: string }) => d.date === today)
  const costBars = await bars(page)
  expect(costBars.map((b) => b.label).sort()).toEqual([
    `${today} · openai/gpt-4o · $${todays.by_model['openai/gpt-4o'].cost_usd}`,
    `${today} · openai/gpt-4o-mini · $${todays.by_model['openai/gpt-4o-mini'].cost_usd}`,
  ])

  await page.click('#metric-requests')
  await page.locator('#usage-chart[data-metric="requests"]').waitFor()
  const requestBars = await bars(page)
  expect(requestBars.map((b) => b.label).sort()).toEqual([`${today} · openai/gpt-4o · 3 requests`, `${today} · openai/gpt-4o-mini · 1 request`])
  expect(await page.locator('#usage-chart').getAttribute('data-total')).toBe('4')
  // Bars are drawn to scale: three requests stand three times as tall as one.
  const [four, mini] = [requestBars.find((b) => b.label.includes('gpt-4o ·'))!, requestBars.find((b) => b.label.includes('mini'))!]
  expect(Math.abs(four.height - 3 * mini.height)).toBeLessThan(1.5)
  expect(await page.locator('tr[data-model="openai/gpt-4o"]').getAttribute('data-requests')).toBe('3')
  await page.screenshot({ path: join(RESULTS, 'dashboard-usage.png'), fullPage: true })

  // Everyone: Bob's two requests join Ada's four.
  await page.selectOption('#usage-customer', '')
  await page.locator('#usage-chart[data-total="6"]').waitFor()
  expect((await bars(page)).map((b) => b.label).sort()).toEqual([`${today} · openai/gpt-4o · 5 requests`, `${today} · openai/gpt-4o-mini · 1 request`])

  // Webhooks: the endpoint, and its log of the two wallet.credited deliveries (the grants).
  await waitFor(async () => (await call(gateway.url, 'GET', `/v1/projects/${projectId}/webhook_endpoints`, accountKey)).body.data[0]?.deliveries_24h === 2, 10_000, 'two deliveries')
  await page.click('#tab-webhooks')
  const endpointRow = page.locator('tr', { hasText: `127.0.0.1:${receiver.port}/hooks` })
  expect(await endpointRow.textContent()).toContain('2 sent · 0 failed')
  expect(await page.content()).not.toContain(hook.body.secret)
  await endpointRow.locator('button', { hasText: 'Deliveries' }).click()
  await page.locator('#deliveries tbody tr').nth(1).waitFor()
  expect(await page.locator('#deliveries tbody tr', { hasText: 'wallet.credited' }).count()).toBe(2)
  await page.screenshot({ path: join(RESULTS, 'dashboard-webhooks.png') })

  // Settings: sessions off, saved through PATCH.
  await page.click('#tab-settings')
  await page.uncheck('#settings-sessions')
  await page.click('#save-settings')
  await page.locator('.toast', { hasText: 'Settings saved' }).waitFor()
  expect((await call(gateway.url, 'GET', '/v1/projects', accountKey)).body.data[0].end_user_sessions).toBe(false)

  expect(problems).toEqual([])
  await page.close()
}, 90_000)

test('onboard with Stripe from the Payouts page, then pay out the margin top-ups accrued: it goes to 0 and Stripe saw one transfer', async () => {
  const accountKey = await registerAccount(gateway.url, 'payouts')
  const project = await call(gateway.url, 'POST', '/v1/projects', accountKey, { name: 'Payout app', markup_percent: 20, end_user_sessions: true })
  const secret = (await call(gateway.url, 'POST', `/v1/projects/${project.body.id}/keys`, accountKey, { mode: 'live' })).body.secret_key as string
  // Two live top-ups of $6.00 at 20 %: each credits $5.00 and accrues $1.00 of margin, $2.00 in all (whole cents, so all of it pays out).
  const session = await mintSession(gateway.url, secret, { customer: 'payer' })
  for (let i = 0; i < 2; i++) {
    const topUp = await call(gateway.url, 'POST', '/v1/wallet/top-up', session.session_token, { amount_usd: '6.00' })
    expect(topUp.body.net_credited_usd).toBe('5.00')
    const event = stripeEvent('payment_intent.succeeded', fake.succeedPaymentIntent(topUp.body.payment_intent_id))
    expect((await deliver(`${gateway.url}/stripe/webhook`, event, WEBHOOK_SECRET)).status).toBe(200)
  }
  expect((await call(gateway.url, 'GET', '/v1/connect/status', accountKey)).body.margin_balance_usd).toBe('2.00')

  const { page, problems } = await dashboardPage()
  // Stripe's hosted onboarding, as the fake's account holder finishes it: the account is enabled, and Stripe sends them back.
  await page.route('https://connect.stripe.com/**', (route) => {
    const link = fake.accountLinks.find((l) => l.url === route.request().url())
    if (!link) return route.fulfill({ status: 404, body: 'unknown account link' })
    fake.completeOnboarding(link.account)
    return route.fulfill({ status: 302, headers: { location: link.return_url } })
  })
  await page.fill('#account-key', accountKey)
  await page.click('#sign-in')
  await page.click('#nav-payouts')
  await page.locator('#onboard').waitFor()
  expect(await page.locator('#margin-balance').textContent()).toContain('$2.00')
  expect(await page.locator('#payout').count()).toBe(0)

  await page.click('#onboard')
  await page.locator('#connect-onboarded', { hasText: 'complete' }).waitFor()
  expect(page.url()).toBe(`${gateway.url}/dashboard#/payouts`)
  expect(fake.accountLinks.map((l) => l.return_url)).toEqual([`${gateway.url}/dashboard#/payouts`])
  expect(await page.locator('#payout').textContent()).toBe('Pay out $2.00')
  await page.screenshot({ path: join(RESULTS, 'dashboard-payouts-before.png') })

  await page.click('#payout')
  await page.locator('#payout-amount', { hasText: '$2.00' }).waitFor()
  expect(await page.locator('#margin-balance').textContent()).toContain('$0.00')
  expect(await page.locator('#payout').isDisabled()).toBe(true)
  const transfers = [...fake.transfers.values()]
  expect(transfers).toEqual([expect.objectContaining({ amount: 200, currency: 'usd', destination: fake.accountLinks[0]!.account })])
  const payouts = await call(gateway.url, 'GET', '/v1/connect/payouts', accountKey)
  expect(payouts.body.data).toEqual([expect.objectContaining({ amount_usd: '2.00', status: 'paid', transfer_id: transfers[0]!.id })])
  expect(await page.locator(`tr[data-payout="${payouts.body.data[0].id}"][data-status="paid"]`).count()).toBe(1)
  expect((await call(gateway.url, 'GET', '/v1/connect/status', accountKey)).body.margin_balance_usd).toBe('0.00')
  await page.screenshot({ path: join(RESULTS, 'dashboard-payouts.png'), fullPage: true })

  // The project's ledger: both top-ups, their margin, the payer's credits.
  await page.selectOption('#project-switcher', project.body.id)
  await page.click('#tab-ledger')
  await page.locator('#ledger-margin', { hasText: '$2.00' }).waitFor()
  expect(await page.locator('tr[data-kind="credit"]').count()).toBe(2)
  await page.screenshot({ path: join(RESULTS, 'dashboard-ledger.png'), fullPage: true })
  expect(problems).toEqual([])
  await page.close()
}, 90_000)
