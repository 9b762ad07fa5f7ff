// examples/platform in headless Chromium: a real gateway, the fake upstream and fake Stripe, the example backend minting sessions with @meterway/server, and its @meterway/elements page.
//
// How to run: Debian's chromium drives the page through playwright-core (no browser download):
//   apt-get install chromium            # once; CHROMIUM_PATH points at another chromium
//   bun test --timeout=30000 test/e2e/platform-example-browser.test.ts
// PostgreSQL and Redis must be up as for the rest of the suite. Screenshots land in test-results/platform-example-*.png.
// The page can reach only the example, the gateway and the fake Stripe; Stripe.js is replaced through the
// elements' loadStripe seam by test/helpers/stripe-stand-in.ts, which confirms on the fake Stripe, which then sends
// its signed payment_intent.succeeded to the gateway's /stripe/webhook.
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { chromium, type Browser, type Page } from 'playwright-core'
import { startExample, type RunningExample } from '../../examples/platform/server'
import { startFakeStripe, type FakeStripe } from '../helpers/fake-stripe'
import { startFakeUpstream, DRIP_STREAM_WORDS, type FakeUpstream } from '../helpers/fake-upstream'
import { startGateway, upstreamEnv, type TestGateway } from '../helpers/gateway'
import { call, projectWithKeys, type TestProject } from '../helpers/platform'
import { stripeStandInScript } from '../helpers/stripe-stand-in'

// What the page callbacks use; they run in Chromium, and this file is typed without the DOM library.
declare const window: any, document: any, MutationObserver: any

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const RESULTS = join(import.meta.dir, '..', '..', 'test-results')
const LIVE_STRIPE_KEY = 'sk_test_fake_example_live_0123456789'
const TEST_STRIPE_KEY = 'sk_test_fake_example_sandbox_0123456789'
const WEBHOOK_SECRET = 'whsec_example_live'
const PUBLISHABLE_KEY = 'pk_live_example_0123456789'
const TEST_PUBLISHABLE_KEY = 'pk_test_example_0123456789'
const SESSION_TTL_S = 60
/** The page refreshes its 60 s session 48 s before it ends: about 12 s after it was minted. */
const REFRESH_BEFORE_MS = 48_000

let upstream: FakeUpstream
let fake: FakeStripe
let gateway: TestGateway
let project: TestProject
let example: RunningExample
let browser: Browser

beforeAll(async () => {
  upstream = startFakeUpstream()
  fake = startFakeStripe({ secretKey: LIVE_STRIPE_KEY, extraSecretKeys: [TEST_STRIPE_KEY], publishableKeys: [PUBLISHABLE_KEY, TEST_PUBLISHABLE_KEY] })
  gateway = await startGateway({
    ...upstreamEnv(upstream.url),
    STRIPE_SECRET_KEY: LIVE_STRIPE_KEY,
    STRIPE_TEST_SECRET_KEY: TEST_STRIPE_KEY,
    STRIPE_API_BASE: fake.url,
    STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
    STRIPE_TEST_WEBHOOK_SECRET: 'whsec_example_test',
    STRIPE_PUBLISHABLE_KEY: PUBLISHABLE_KEY,
    STRIPE_TEST_PUBLISHABLE_KEY: TEST_PUBLISHABLE_KEY,
  })
  fake.setWebhook({ url: `${gateway.url}/stripe/webhook`, secret: WEBHOOK_SECRET })
  project = await projectWithKeys(gateway.url, { markup_percent: 20 })
  example = await startExample({
    gatewayUrl: gateway.url,
    secretKey: project.live,
    port: 0,
    model: 'openai/gpt-4o-mini',
    sessionTtlSeconds: SESSION_TTL_S,
    refreshBeforeMs: REFRESH_BEFORE_MS,
    signupBonusUsd: '1.00',
  })
  const allowed = await call(gateway.url, 'PATCH', `/v1/projects/${project.id}`, project.accountKey, { allowed_origins: [new URL(example.url).origin] })
  expect(allowed.status).toBe(200)
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] })
  mkdirSync(RESULTS, { recursive: true })
}, 60_000)
afterAll(async () => {
  await browser?.close()
  await example?.stop()
  await gateway?.stop()
  await fake?.stop()
  await upstream?.stop()
}, 30_000)

/** A page that reaches only the example, the gateway and the fake Stripe, with the Stripe.js stand-in in the seam. */
async function openPage(path: string): Promise<{ page: Page; blocked: string[] }> {
  const page = await browser.newPage({ viewport: { width: 900, height: 1000 } })
  const reachable = [example.url, gateway.url, fake.url].map((url) => new URL(url).origin)
  const blocked: string[] = []
  await page.route('**/*', (route) => {
    const url = route.request().url()
    if (reachable.some((origin) => url.startsWith(origin))) return route.continue()
    blocked.push(url)
    return route.abort('internetdisconnected')
  })
  await page.addInitScript(stripeStandInScript(fake.url))
  await page.goto(`${example.url}/login?as=ada`)
  if (path !== '/') await page.goto(`${example.url}${path}`)
  return { page, blocked }
}

const nano = (usd: string) => {
  const [whole, fraction = ''] = usd.split('.')
  return BigInt(whole!) * 1_000_000_000n + BigInt((fraction + '000000000').slice(0, 9))
}
const balanceOf = async (page: Page) => (await page.getByTestId('mw-credit-balance').getAttribute('data-balance')) ?? ''

test('the example page: a session, a streamed <Chat/> reply, <CreditBalance/>, credits bought through <BuyCredits/>, and the token refreshed mid-session', async () => {
  const { page, blocked } = await openPage('/')
  // 1. The backend minted a session (and its signup bonus); the balance shows.
  await page.getByText('Your balance: $1.00').waitFor({ timeout: 15_000 })
  expect(example.minted.get('ada')).toBe(1)
  const firstToken = (await page.getByTestId('session-info').getAttribute('data-token-tail'))!
  const firstExpiry = Number(await page.getByTestId('session-info').getAttribute('data-expires-at'))

  // 2. A reply streamed word by word (the fake upstream sends 200 words 25 ms apart): the page shows it growing.
  await page.evaluate(() => {
    const seen: { at: number; length: number }[] = []
    ;(window as unknown as { replyLengths: typeof seen }).replyLengths = seen
    new MutationObserver(() => {
      const reply = document.querySelector('[data-role="assistant"]')
      const length = reply?.textContent?.length ?? 0
      if (length !== (seen.at(-1)?.length ?? 0)) seen.push({ at: performance.now(), length })
    }).observe(document.body, { subtree: true, childList: true, characterData: true })
  })
  await page.getByLabel('Message').fill('scenario:drip tell me a long story')
  await page.getByRole('button', { name: 'Send' }).click()
  const expected = Array.from({ length: DRIP_STREAM_WORDS }, () => 'word').join(' ')
  const reply = page.locator('[data-role="assistant"]').first()
  await page.waitForFunction((text) => document.querySelector('[data-role="assistant"]')?.textContent?.trim() === text, expected, { timeout: 30_000 })
  expect((await reply.textContent())!.trim()).toBe(expected)
  const lengths = await page.evaluate(() => (window as unknown as { replyLengths: { at: number; length: number }[] }).replyLengths)
  // Many partial states, spread over the stream's seconds, each longer than the one before.
  expect(lengths.length).toBeGreaterThan(20)
  expect(lengths.at(-1)!.at - lengths[0]!.at).toBeGreaterThan(1_000)
  for (let i = 1; i < lengths.length; i++) expect(lengths[i]!.length).toBeGreaterThan(lengths[i - 1]!.length)
  await page.screenshot({ path: join(RESULTS, 'platform-example-chat.png'), fullPage: true })

  // The reply was paid from the wallet: <CreditBalance/> goes below the bonus.
  await page.waitForFunction(() => {
    const balance = document.querySelector('[data-testid="mw-credit-balance"]')?.getAttribute('data-balance')
    return balance !== undefined && balance !== null && balance !== '' && Number(balance) < 1
  }, undefined, { timeout: 10_000 })
  const afterChat = await balanceOf(page)

  // 3. Buying $10: a PaymentIntent from the gateway, the stand-in's PaymentElement, confirmation on the fake Stripe,
  // its signed webhook to the gateway, and the balance polled until it changes.
  await page.getByRole('button', { name: 'Buy $10.00 of credits' }).click()
  await page.getByTestId('stripe-stand-in-payment').waitFor({ timeout: 10_000 })
  await page.screenshot({ path: join(RESULTS, 'platform-example-buy.png'), fullPage: true })
  await page.getByRole('button', { name: 'Pay $10.00' }).click()
  await page.getByTestId('mw-buy-credits-done').waitFor({ timeout: 20_000 })
  // 20 % markup: $10.00 credits $8.333333333.
  expect(nano(await balanceOf(page))).toBe(nano(afterChat) + 8_333_333_333n)
  const intents = [...fake.paymentIntents.values()]
  expect(intents).toHaveLength(1)
  expect(intents[0]).toMatchObject({ status: 'succeeded', amount: 1000 })
  const standIn = await page.evaluate(() => (window as unknown as { stripeStandIn: { loads: string[]; confirms: string[] } }).stripeStandIn)
  expect(standIn).toEqual({ loads: [PUBLISHABLE_KEY], confirms: [intents[0]!.id] })
  await page.screenshot({ path: join(RESULTS, 'platform-example-credited.png'), fullPage: true })

  // 4. The session is refreshed before it expires, through the backend, and the page goes on with the new token.
  await page.waitForFunction((tail) => document.querySelector('[data-testid="session-info"]')?.getAttribute('data-token-tail') !== tail, firstToken, { timeout: 30_000 })
  expect(Date.now()).toBeLessThan(firstExpiry)
  expect(example.minted.get('ada')).toBe(2)
  await page.getByLabel('Message').fill('hello again')
  await page.getByRole('button', { name: 'Send' }).click()
  await page.waitForFunction(() => (document.querySelectorAll('[data-role="assistant"]')[1]?.textContent ?? '').length > 0, undefined, { timeout: 15_000 })
  await page.getByRole('button', { name: 'Send' }).waitFor({ timeout: 15_000 })
  expect(await page.locator('[role="alert"]').count()).toBe(0)
  await page.screenshot({ path: join(RESULTS, 'platform-example-refreshed.png'), fullPage: true })

  expect(blocked).toEqual([])
  await page.close()
}, 120_000)

test('a provider whose mode does not match the session shows the mismatch instead of a payment form, and creates no PaymentIntent', async () => {
  const before = fake.paymentIntents.size
  const { page } = await openPage('/?mode=test')
  const alert = page.locator('[data-code="mode_mismatch"]')
  await alert.waitFor({ timeout: 15_000 })
  expect(await alert.textContent()).toContain('this session was minted with a live secret key')
  expect(await page.getByRole('button', { name: /Buy/ }).count()).toBe(0)
  expect(fake.paymentIntents.size).toBe(before)
  await page.screenshot({ path: join(RESULTS, 'platform-example-mode-mismatch.png'), fullPage: true })
  await page.close()
}, 60_000)
