// A page in a real headless Chromium pays x402 routes cross-origin (gateway.cors_origins): the browser's own preflight passes, and the page reads PAYMENT-REQUIRED from the 402 and PAYMENT-RESPONSE from the paid answer.
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { x402Client } from '@x402/core/client'
import { decodePaymentRequiredHeader, encodePaymentSignatureHeader } from '@x402/core/http'
import { ExactEvmScheme } from '@x402/evm'
import { chromium, type Browser, type Page } from 'playwright-core'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { corsPaymentSections, startX402Stack, type X402Stack } from '../helpers/x402-stack'

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

let stack: X402Stack
let { gateway } = {} as X402Stack
let site: ReturnType<typeof Bun.serve>
let browser: Browser
let page: Page

beforeAll(async () => {
  // The paying page's own origin (another port: cross-origin to the gateway).
  site = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => new Response('<!doctype html><title>pay</title>', { headers: { 'content-type': 'text/html' } }) })
  stack = await startX402Stack({ sections: corsPaymentSections(`http://127.0.0.1:${site.port}`) })
  ;({ gateway } = stack)
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] })
  page = await browser.newPage()
  await page.goto(`http://127.0.0.1:${site.port}/`)
}, 60_000)
afterAll(async () => {
  await browser?.close()
  await stack?.stop()
  site?.stop(true)
})

const body = JSON.stringify({ model: 'claude-sonnet-4-20250514', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }] })

/** fetch from the page: what the page's script can read of the answer (CORS decides), or the network error. */
function pageFetch(url: string, signature: string | null) {
  return page.evaluate(
    async ({ url, body, signature }) => {
      try {
        const headers: Record<string, string> = { 'content-type': 'application/json' }
        if (signature) headers['payment-signature'] = signature
        const response = await fetch(url, { method: 'POST', headers, body })
        return { status: response.status, required: response.headers.get('payment-required'), settled: response.headers.get('payment-response'), text: await response.text(), error: null }
      } catch (error) {
        return { status: 0, required: null, settled: null, text: '', error: String(error) }
      }
    },
    { url, body, signature },
  )
}

for (const route of ['/v1/paid', '/v1/messages']) {
  test(`${route}: the page reads the 402's PAYMENT-REQUIRED, pays with a signed PAYMENT-SIGNATURE (a preflighted header), and reads PAYMENT-RESPONSE`, async () => {
    const url = `${gateway.url}${route}`
    const unpaid = await pageFetch(url, null)
    expect(unpaid.error).toBeNull()
    expect(unpaid.status).toBe(402)
    expect(unpaid.required).not.toBeNull()
    const required = decodePaymentRequiredHeader(unpaid.required!)
    // The page's wallet signs what the page read (signed here: the same @x402 client a page would bundle).
    const account = privateKeyToAccount(generatePrivateKey())
    const client = x402Client.fromConfig({ schemes: [{ network: 'eip155:*', client: new ExactEvmScheme(account) }] })
    const payload = await client.createPaymentPayload({ ...required, accepts: required.accepts.filter((r) => r.scheme === 'exact') })
    const paid = await pageFetch(url, encodePaymentSignatureHeader(payload))
    expect(paid.error).toBeNull()
    expect(paid.status).toBe(200)
    expect(paid.settled).not.toBeNull()
    expect(JSON.parse(paid.text).type).toBe('message')
  })
}
