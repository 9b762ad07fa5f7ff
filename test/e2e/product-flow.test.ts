// The product's whole flow against the fake Stripe: register → 402 → checkout → signed webhook → calls → exact /llm/usage.
import { afterAll, beforeAll, expect, test } from 'bun:test'
import OpenAI from 'openai'
import { startFakeStripe, stripeEvent, deliver, FAKE_STRIPE_SECRET_KEY, type FakeStripe } from '../helpers/fake-stripe'
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream'
import { startGateway, upstreamEnv, type TestGateway } from '../helpers/gateway'
import { uniqueId } from '../helpers/db'

const WEBHOOK_SECRET = 'whsec_product_flow_test'
let upstream: FakeUpstream
let stripe: FakeStripe
let gateway: TestGateway

beforeAll(async () => {
  upstream = startFakeUpstream()
  stripe = startFakeStripe()
  gateway = await startGateway({
    ...upstreamEnv(upstream.url),
    STRIPE_SECRET_KEY: FAKE_STRIPE_SECRET_KEY,
    STRIPE_API_BASE: stripe.url,
    STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
    STRIPE_PRO_PRICE_ID: 'price_pro_monthly',
  })
})
afterAll(async () => {
  await gateway.stop()
  await stripe.stop()
  upstream.stop()
})

const json = async <T>(response: Response) => (await response.json()) as T

test('register → subscription_required → checkout → webhook → stream + non-stream → /llm/usage to the nano-dollar', async () => {
  // 1. Register.
  const agentId = uniqueId('flow-agent')
  const registered = await json<{ api_key: string }>(
    await fetch(`${gateway.url}/agents/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ agent_id: agentId, name: 'My Agent', description: 'An intelligent agent', capabilities: ['coding', 'research'] }),
    }),
  )
  const client = new OpenAI({ apiKey: registered.api_key, baseURL: `${gateway.url}/llm/v1`, maxRetries: 0 })

  // 2. No subscription yet: 402 subscription_required.
  const refused = await Promise.resolve(client.chat.completions.create({ model: 'openai/gpt-4o', messages: [{ role: 'user', content: 'Hello' }] })).then(
    () => null,
    (error: unknown) => error as InstanceType<typeof OpenAI.APIError>,
  )
  expect(refused?.status).toBe(402)
  expect(refused?.code).toBe('subscription_required')

  // 3. Checkout through the real stripe SDK against the fake Stripe.
  const checkout = await fetch(`${gateway.url}/subscriptions/checkout`, {
    method: 'POST',
    headers: { 'x-api-key': registered.api_key, 'content-type': 'application/json' },
    body: JSON.stringify({ plan: 'pro' }),
  })
  expect(checkout.status).toBe(200)
  const { checkout_url, session_id } = await json<{ checkout_url: string; session_id: string }>(checkout)
  expect(checkout_url).toStartWith('https://')

  // 4. The payer completes Checkout; Stripe sends the signed checkout.session.completed.
  const { session } = stripe.completeCheckout(session_id)
  const delivered = await deliver(`${gateway.url}/stripe/webhook`, stripeEvent('checkout.session.completed', session), WEBHOOK_SECRET)
  expect(delivered.status).toBe(200)

  // 5. Streaming and non-streaming calls now succeed (the webhook evicted the cached "no subscription").
  const whole = await client.chat.completions.create({ model: 'openai/gpt-4o', messages: [{ role: 'user', content: 'Hello' }] })
  expect(whole.choices[0]!.message.content).toBe('Hello! How can I assist you today?')
  let streamed = ''
  for await (const chunk of await client.chat.completions.create({ model: 'anthropic/claude-sonnet-4', stream: true, messages: [{ role: 'user', content: 'Hello' }] })) {
    streamed += chunk.choices[0]?.delta.content ?? ''
  }
  expect(streamed).toBe('Hello! How can I help you today?')

  // 6. /llm/usage, computed in Postgres from the rows the usage worker wrote, within 2 s of the responses.
  // The fixtures report 19 in / 10 out (gpt-4o at $2.50/$10) and 25 in / 12 out (claude-sonnet-4 at $3/$15):
  // gpt-4o: ceil(19 × 2.5e9 / 1e6) + ceil(10 × 10e9 / 1e6) = 47,500 + 100,000 nano-USD
  // sonnet: ceil(25 × 3e9 / 1e6)   + ceil(12 × 15e9 / 1e6) = 75,000 + 180,000 nano-USD
  const expected = {
    total_input_tokens: 44,
    total_output_tokens: 22,
    estimated_cost_usd: '0.0004025',
    by_model: {
      'anthropic/claude-sonnet-4': { input: 25, output: 12, cost_usd: '0.000255' },
      'openai/gpt-4o': { input: 19, output: 10, cost_usd: '0.0001475' },
    },
  }
  let usage: Record<string, unknown> = {}
  const stopAt = Date.now() + 2_000
  while (Date.now() < stopAt) {
    usage = await json(await fetch(`${gateway.url}/llm/usage`, { headers: { 'x-api-key': registered.api_key } }))
    if (usage.total_output_tokens === expected.total_output_tokens) break
    await Bun.sleep(25)
  }
  expect(usage).toMatchObject(expected)
  const now = new Date()
  const month = `${now.getUTCFullYear()}-${String(now.getUTCMonth() + 1).padStart(2, '0')}`
  expect(usage.period_start).toBe(`${month}-01T00:00:00Z`)
  expect(String(usage.period_end)).toMatch(new RegExp(`^${month}-(28|29|30|31)T23:59:59Z$`))

  // Another month is empty; a malformed period is a 400 naming it.
  const past = await json<Record<string, unknown>>(await fetch(`${gateway.url}/llm/usage?period=2020-01`, { headers: { 'x-api-key': registered.api_key } }))
  expect(past).toEqual({ period_start: '2020-01-01T00:00:00Z', period_end: '2020-01-31T23:59:59Z', total_input_tokens: 0, total_output_tokens: 0, estimated_cost_usd: '0.00', by_model: {} })
  const bad = await fetch(`${gateway.url}/llm/usage?period=2020-13`, { headers: { 'x-api-key': registered.api_key } })
  expect(bad.status).toBe(400)
  expect((await json<{ error: { param: string } }>(bad)).error.param).toBe('period')
})
