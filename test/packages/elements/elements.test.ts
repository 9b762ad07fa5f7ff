// @meterway/elements without a browser: the mode check, the USD display, the shared balance's refetchUntilChange against a running gateway, and the build.
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MeterwayClient } from '../../../packages/client/src'
import { BalanceStore } from '../../../packages/elements/src/balance'
// The parts without JSX (the root typecheck has no DOM library; packages/tsconfig.json checks the components).
import { formatUsd } from '../../../packages/elements/src/format'
import { modeMismatch } from '../../../packages/elements/src/mode'
import { startGateway, type TestGateway } from '../../helpers/gateway'
import { call, mintSession, projectWithKeys } from '../../helpers/platform'

let gateway: TestGateway
beforeAll(async () => {
  gateway = await startGateway({})
}, 60_000)
afterAll(() => gateway?.stop())

test('the provider mode must match the session: "prod" is "live"; a mismatch names both and the fix', () => {
  expect(modeMismatch('live', { mode: 'live', publishable_key: 'pk_live_x' })).toBeNull()
  expect(modeMismatch('prod', { mode: 'live', publishable_key: null })).toBeNull()
  expect(modeMismatch('test', { mode: 'test', publishable_key: 'pk_test_x' })).toBeNull()
  expect(modeMismatch(undefined, { mode: 'test', publishable_key: 'pk_test_x' })).toContain('Pass mode="test"')
  expect(modeMismatch('test', { mode: 'live', publishable_key: 'pk_live_x' })).toContain('minted with a live secret key (sk_live_…)')
  // The session says live, but the gateway's live publishable key is a test key: payments could not be confirmed.
  expect(modeMismatch('live', { mode: 'live', publishable_key: 'pk_test_x' })).toContain('is a test key')
})

test('balances show floored to the cent', () => {
  expect(formatUsd('8.333333333')).toBe('$8.33')
  expect(formatUsd('0.999')).toBe('$0.99')
  expect(formatUsd('1234.5')).toBe('$1,234.50')
  expect(formatUsd('0')).toBe('$0.00')
  expect(formatUsd('-0.5')).toBe('-$0.50')
})

test('refetchUntilChange polls until a credit lands, and gives up at its deadline with the balance unchanged', async () => {
  const project = await projectWithKeys(gateway.url)
  const minted = await mintSession(gateway.url, project.test, { customer: `user_${crypto.randomUUID()}` })
  const client = new MeterwayClient({ session: { token: minted.session_token, expiresAt: minted.expires_at }, baseUrl: gateway.url, autoRefresh: false })
  const store = new BalanceStore(() => client)
  const seen: (string | null)[] = []
  const unsubscribe = store.subscribe(() => seen.push(store.snapshot().balance))
  expect(await store.refetch()).toBe('0.00')
  expect(await store.refetchUntilChange({ timeoutMs: 300, intervalMs: 50 })).toBe('0.00')
  const polling = store.refetchUntilChange({ timeoutMs: 10_000, intervalMs: 50 })
  const credited = await call(gateway.url, 'POST', `/v1/wallets/${minted.wallet_id}/credit`, project.test, { amount_usd: '2.50' }, { 'idempotency-key': crypto.randomUUID() })
  expect(credited.status).toBe(201)
  expect(await polling).toBe('2.50')
  expect(store.snapshot()).toMatchObject({ balance: '2.50', loading: false, error: null })
  expect(seen.at(-1)).toBe('2.50')
  unsubscribe()
})

test('the package builds for the browser with React and Stripe left to the app', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'meterway-elements-'))
  try {
    const build = Bun.spawnSync(['bun', 'run', 'build', '--outdir', dir], { cwd: join(import.meta.dir, '..', '..', '..', 'packages', 'elements'), stderr: 'pipe' })
    expect(build.exitCode).toBe(0)
    const bundle = readFileSync(join(dir, 'index.js'), 'utf8')
    expect(bundle).toContain('from "react"')
    expect(bundle).toContain('@stripe/react-stripe-js')
    // The client is bundled in (it has no dependencies of its own), Node's modules are not.
    expect(bundle).toContain('/v1/wallet/top-up')
    expect(bundle).not.toContain('node:')
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}, 30_000)
