// /swagger in a real headless Chromium with every outside address blocked: the page renders its endpoint list from the gateway alone.
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { chromium, type Browser } from 'playwright-core'
import { startGateway, type TestGateway } from '../helpers/gateway'

/** Debian's chromium (.ci/run installs it); CHROMIUM_PATH points elsewhere. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const SCREENSHOT = join(import.meta.dir, '..', '..', 'test-results', 'swagger.png')

let gateway: TestGateway
let browser: Browser
beforeAll(async () => {
  gateway = await startGateway({})
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] })
})
afterAll(async () => {
  await browser?.close()
  await gateway?.stop()
})

test('/swagger renders the endpoint list with no outside network, its viewer script served by the gateway', async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
  const gatewayOrigin = new URL(gateway.url).origin
  const blocked: string[] = []
  const served: string[] = []
  // As on a machine with no outside network: anything not from the gateway fails at once.
  await page.route('**/*', (route) => {
    const url = route.request().url()
    if (url.startsWith(gatewayOrigin) || url.startsWith('data:') || url.startsWith('blob:')) {
      served.push(new URL(url).pathname)
      return route.continue()
    }
    blocked.push(url)
    return route.abort('internetdisconnected')
  })
  await page.goto(`${gateway.url}/swagger`, { waitUntil: 'load' })
  // The viewer builds the page from /swagger/json: the first group's operations, then a sidebar entry per tag.
  await page.getByText('/readyz').first().waitFor({ state: 'visible', timeout: 20_000 })
  const spec = (await (await fetch(`${gateway.url}/swagger/json`)).json()) as { paths: Record<string, Record<string, { tags?: string[] }>> }
  const tags = new Set(Object.values(spec.paths).flatMap((operations) => Object.values(operations).flatMap((operation) => operation.tags ?? [])))
  expect(tags).toContain('chat')
  for (const tag of tags) await page.getByText(tag, { exact: true }).first().waitFor({ state: 'visible', timeout: 5_000 })
  expect(served).toContain('/swagger/scalar.js')
  expect(served).toContain('/swagger/json')
  expect(blocked.filter((url) => url.includes('@scalar/api-reference'))).toEqual([])
  mkdirSync(join(SCREENSHOT, '..'), { recursive: true })
  await page.screenshot({ path: SCREENSHOT, fullPage: false })
  expect(await Bun.file(SCREENSHOT).exists()).toBe(true)
  await page.close()
}, 60_000)
