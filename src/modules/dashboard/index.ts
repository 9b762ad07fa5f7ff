// The dashboard plugin: the developer's dashboard at /dashboard — a static page, its ES modules and stylesheet, and the chart library from node_modules — under a strict Content-Security-Policy.
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { Elysia, type AnyElysia } from 'elysia'

/**
 * No build step: the page's scripts are plain ES modules served as they are in the repository, and the charts are
 * Observable Plot's UMD bundle (with d3's, which it needs as a global), served from node_modules at the versions
 * pinned in package.json, so the page works with no outside network.
 */
const PUBLIC = join(import.meta.dir, 'public')
export const DASHBOARD_ASSETS = ['dashboard.css', 'app.js', 'api.js', 'dom.js', 'format.js', 'chart.js', 'connect.js', 'project.js', 'views.js', 'money-views.js'] as const

/** Neither package exports its package.json: the root is found up from its entry point. */
const packageRoot = (name: string) => {
  let dir = dirname(new URL(import.meta.resolve(name)).pathname)
  while (!Bun.file(join(dir, 'package.json')).size) dir = dirname(dir)
  return dir
}
const vendor = (name: string, file: string) => {
  const root = packageRoot(name)
  const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }
  return { file: Bun.file(join(root, file)), etag: `"${name.replace(/\W/g, '')}-${version}"` }
}

/**
 * Scripts only from the gateway itself, no inline script, no eval; the page talks to the gateway alone. Styles allow
 * 'unsafe-inline' because Plot writes a <style> element and style attributes into each chart's SVG (no script runs
 * from a style). Nothing may frame the page (the account key is typed into it).
 */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ')

const SECURITY_HEADERS = {
  'content-security-policy': DASHBOARD_CSP,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
}

const typeOf = (name: string) => (name.endsWith('.css') ? 'text/css; charset=utf-8' : name.endsWith('.html') ? 'text/html; charset=utf-8' : 'text/javascript; charset=utf-8')

export function dashboardPlugin() {
  const page = Bun.file(join(PUBLIC, 'index.html'))
  const serve = (file: Blob, name: string, cache: Record<string, string>) => () =>
    new Response(file, { headers: { 'content-type': typeOf(name), ...SECURITY_HEADERS, ...cache } })
  // The page and its own modules change with each deploy: revalidated each time (they are small).
  const own = { 'cache-control': 'no-cache' }
  const hidden = { detail: { hide: true } }
  let app: AnyElysia = new Elysia({ name: 'dashboard' })
    .get('/dashboard', serve(page, 'index.html', { 'cache-control': 'no-store' }), hidden)
    .get('/dashboard/', serve(page, 'index.html', { 'cache-control': 'no-store' }), hidden)
  for (const name of DASHBOARD_ASSETS) app = app.get(`/dashboard/assets/${name}`, serve(Bun.file(join(PUBLIC, name)), name, own), hidden)
  // Pinned versions: a new one comes with a new deploy, so a day's caching is safe (as /swagger/scalar.js).
  for (const [path, lib] of [
    ['/dashboard/vendor/d3.js', vendor('d3', 'dist/d3.min.js')],
    ['/dashboard/vendor/plot.js', vendor('@observablehq/plot', 'dist/plot.umd.min.js')],
  ] as const) {
    app = app.get(path, serve(lib.file, path, { 'cache-control': 'public, max-age=86400', etag: lib.etag }), hidden)
  }
  return app
}
