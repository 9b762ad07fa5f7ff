// The dashboard plugin serves every file of its page and nothing else, under its CSP; its money formatting is exact (the browser modules are plain ESM, imported here as they are).
import { expect, test } from 'bun:test'
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { DASHBOARD_ASSETS, DASHBOARD_CSP, dashboardPlugin } from '../../src/modules/dashboard'

const PUBLIC = join(import.meta.dir, '..', '..', 'src', 'modules', 'dashboard', 'public')
/** The browser module itself (plain ESM, untyped), by path. */
const { sumUsd, usd } = (await import(join(PUBLIC, 'format.js'))) as { sumUsd(values: string[]): string; usd(value: string): string }
const app = dashboardPlugin()
const get = (path: string) => app.handle(new Request(`http://localhost${path}`))

test('every file of public/ is served (the page at /dashboard, the rest under /dashboard/assets/), with its type and the CSP', async () => {
  const files = readdirSync(PUBLIC).sort()
  expect([...DASHBOARD_ASSETS, 'index.html'].sort()).toEqual(files)
  for (const name of DASHBOARD_ASSETS) {
    const answer = await get(`/dashboard/assets/${name}`)
    expect(answer.status, name).toBe(200)
    expect(answer.headers.get('content-type'), name).toStartWith(name.endsWith('.css') ? 'text/css' : 'text/javascript')
    expect(answer.headers.get('content-security-policy'), name).toBe(DASHBOARD_CSP)
    expect(await answer.text(), name).toBe(await Bun.file(join(PUBLIC, name)).text())
  }
  const page = await get('/dashboard')
  expect(page.headers.get('content-type')).toStartWith('text/html')
  expect(page.headers.get('cache-control')).toBe('no-store')
  expect(page.headers.get('x-frame-options')).toBe('DENY')
  expect(await page.text()).toContain('/dashboard/assets/app.js')
})

test('the chart library comes from node_modules at its pinned version; anything else under /dashboard is not served', async () => {
  const pkg = (await Bun.file(join(import.meta.dir, '..', '..', 'package.json')).json()) as { dependencies: Record<string, string> }
  const plot = await get('/dashboard/vendor/plot.js')
  expect(plot.status).toBe(200)
  expect(plot.headers.get('etag')).toBe(`"observablehqplot-${pkg.dependencies['@observablehq/plot']}"`)
  expect(await plot.text()).toStartWith(`// @observablehq/plot v${pkg.dependencies['@observablehq/plot']}`)
  const d3 = await get('/dashboard/vendor/d3.js')
  expect(d3.headers.get('etag')).toBe(`"d3-${pkg.dependencies.d3}"`)
  for (const path of ['/dashboard/assets/index.ts', '/dashboard/assets/../index.ts', '/dashboard/assets/%2e%2e/index.ts', '/dashboard/vendor/d3.min.js', '/dashboard/public/app.js']) {
    expect((await get(path)).status, path).toBe(404)
  }
})

test('money is shown exactly as the API wrote it, and sums of USD strings are exact', () => {
  expect(usd('0.000555')).toBe('$0.000555')
  expect(usd('1234567.5')).toBe('$1,234,567.50')
  expect(usd('2')).toBe('$2.00')
  expect(usd('-0.25')).toBe('−$0.25')
  expect(sumUsd(['0.1', '0.2'])).toBe('0.30')
  expect(sumUsd(['8.333333333', '1.666666667'])).toBe('10.00')
  expect(sumUsd(['1.00', '-2.000000001'])).toBe('-1.000000001')
  expect(sumUsd([])).toBe('0.00')
})
