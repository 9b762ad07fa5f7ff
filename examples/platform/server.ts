// The example platform's backend: a pretend sign-in (a cookie), a session route minting Meterway sessions with the secret key, and the page, bundled at start into a temporary folder.
import { Meterway, MeterwayError } from '@meterway/server'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface ExampleOptions {
  /** The gateway the page and this backend call, e.g. http://localhost:8080. */
  gatewayUrl: string
  /** The project's secret key (sk_test_… or sk_live_…); it never leaves this process. */
  secretKey: string
  port?: number
  hostname?: string
  /** The model the page chats with (default mock/echo, free, so test keys work). */
  model?: string
  /** Session lifetime in seconds (60–3600; default 900). */
  sessionTtlSeconds?: number
  /** How long before expiry the page refreshes its session (default 60 s). */
  refreshBeforeMs?: number
  /** A first-session bonus credited to each new user's wallet, USD (default none). */
  signupBonusUsd?: string
}

export interface RunningExample {
  url: string
  /** Sessions minted so far, per signed-in user. */
  minted: Map<string, number>
  stop(): Promise<void>
}

const USER_COOKIE = 'example_user'

const userOf = (request: Request): string | null => {
  const cookie = request.headers.get('cookie') ?? ''
  const match = new RegExp(`(?:^|; )${USER_COOKIE}=([A-Za-z0-9_-]{1,64})`).exec(cookie)
  return match?.[1] ?? null
}

const page = (settings: Record<string, unknown>) => `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Meterway example</title><meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: system-ui, sans-serif; max-width: 40em; margin: 2em auto">
<div id="root"></div>
<script>window.EXAMPLE = ${JSON.stringify(settings).replaceAll('<', '\\u003c')}</script>
<script type="module" src="/app.js"></script>
</body>
</html>`

const signIn = `<!doctype html><html lang="en"><body style="font-family: system-ui, sans-serif; max-width: 40em; margin: 2em auto">
<h1>Sign in</h1><form method="get" action="/login"><input name="as" placeholder="your name" pattern="[A-Za-z0-9_-]{1,64}" required> <button>Sign in</button></form>
</body></html>`

/** Bundles page/main.tsx (React and @meterway/elements) for the browser, into a temporary folder removed at stop. */
async function buildPage(): Promise<{ dir: string; script: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'meterway-example-'))
  const built = await Bun.build({
    entrypoints: [join(import.meta.dir, 'page', 'main.tsx')],
    outdir: dir,
    target: 'browser',
    naming: 'app.js',
    define: { 'process.env.NODE_ENV': '"production"' },
  })
  if (!built.success) throw new AggregateError(built.logs, 'the example page did not build')
  return { dir, script: join(dir, 'app.js') }
}

export async function startExample(options: ExampleOptions): Promise<RunningExample> {
  const meterway = new Meterway({ secretKey: options.secretKey, baseUrl: options.gatewayUrl })
  const { dir, script } = await buildPage()
  const minted = new Map<string, number>()
  const model = options.model ?? 'mock/echo'
  const mode = options.secretKey.startsWith('sk_test_') ? 'test' : 'live'

  const server = Bun.serve({
    hostname: options.hostname ?? '127.0.0.1',
    port: options.port ?? 3000,
    async fetch(request) {
      const url = new URL(request.url)
      const user = userOf(request)
      if (url.pathname === '/login') {
        const name = url.searchParams.get('as') ?? ''
        if (!/^[A-Za-z0-9_-]{1,64}$/.test(name)) return new Response('A name of letters, digits, - or _.', { status: 400 })
        return new Response(null, { status: 303, headers: { location: '/', 'set-cookie': `${USER_COOKIE}=${name}; Path=/; HttpOnly; SameSite=Lax` } })
      }
      if (url.pathname === '/app.js') return new Response(Bun.file(script), { headers: { 'content-type': 'text/javascript; charset=utf-8' } })
      if (url.pathname === '/') {
        if (!user) return new Response(signIn, { headers: { 'content-type': 'text/html; charset=utf-8' } })
        const settings = { gatewayUrl: options.gatewayUrl, model, mode, user, refreshBeforeMs: options.refreshBeforeMs ?? 60_000 }
        return new Response(page(settings), { headers: { 'content-type': 'text/html; charset=utf-8' } })
      }
      // The page's fetchSession: a new session for the signed-in user, scoped to the one model.
      if (url.pathname === '/api/session' && request.method === 'POST') {
        if (!user) return Response.json({ error: 'sign in first' }, { status: 401 })
        try {
          return Response.json(await mintFor(user))
        } catch (error) {
          // The gateway's refusal (a revoked key, sessions turned off…) is said, not hidden behind a 500.
          const why = error instanceof MeterwayError ? `${error.status} ${error.code}: ${error.message}` : String((error as Error)?.message ?? error)
          return Response.json({ error: `Could not mint a session (${why})` }, { status: 502 })
        }
      }
      return new Response('Not found', { status: 404 })
    },
  })

  /** A new session for a signed-in user, scoped to the one model; their first also gets the signup bonus. */
  async function mintFor(user: string) {
    const session = await meterway.sessions.create({
      customer: { externalId: user },
      scope: { models: [model] },
      ...(options.sessionTtlSeconds ? { ttlSeconds: options.sessionTtlSeconds } : {}),
    })
    const count = (minted.get(user) ?? 0) + 1
    minted.set(user, count)
    if (count === 1 && options.signupBonusUsd) {
      await meterway.wallets.credit({ walletId: session.walletId, amount: options.signupBonusUsd, reason: 'Signup bonus', idempotencyKey: `bonus-${user}` })
    }
    return session
  }

  return {
    url: `http://${server.hostname}:${server.port}`,
    minted,
    async stop() {
      await server.stop(true)
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

if (import.meta.main) {
  const env = process.env
  if (!env.MW_SECRET_KEY) throw new Error('Set MW_SECRET_KEY to your project secret key (sk_test_… or sk_live_…).')
  const running = await startExample({
    gatewayUrl: env.GATEWAY_URL ?? 'http://localhost:8080',
    secretKey: env.MW_SECRET_KEY,
    port: Number(env.PORT ?? 3000),
    ...(env.MODEL ? { model: env.MODEL } : {}),
    ...(env.SIGNUP_BONUS_USD ? { signupBonusUsd: env.SIGNUP_BONUS_USD } : {}),
  })
  console.log(`example platform on ${running.url} (add this origin to the project's allowed_origins)`)
}
