// The platform credential cache against real Postgres: revocation and expiry seen through the cache, evictions winning over loads in flight, and the ledger's holder check.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { insertAccount } from '../../src/db/queries/accounts'
import { upsertCustomerWithWallet } from '../../src/db/queries/end-customers'
import { insertCredit } from '../../src/db/queries/ledger'
import { insertProject, insertProjectKey } from '../../src/db/queries/projects'
import { insertSession } from '../../src/db/queries/sessions'
import type { Sql } from '../../src/lib/db'
import { createLogger } from '../../src/lib/logger'
import { PlatformCredentials } from '../../src/modules/auth/platform-credentials'
import { isSecretKeyFormat, isSessionTokenFormat, mintSecretKey, mintSessionToken, newId } from '../../src/modules/auth/platform-keys'
import { testDb, uniqueId } from '../helpers/db'
import { waitFor } from '../helpers/poll'

let sql: Sql
let projectId = ''
const published: string[] = []

beforeAll(async () => {
  sql = await testDb(2)
  const accountId = uniqueId('platform-cache')
  await insertAccount(sql, { id: accountId, name: 'cache', description: '', capabilities: [] })
  projectId = (await insertProject(sql, { id: newId('proj'), accountId, name: 'p', markupBps: 0, allowedOrigins: [], endUserSessions: true })).id
})
afterAll(async () => {
  await sql.end()
})

const credentials = () =>
  new PlatformCredentials({ sql, ttlMs: 600_000, publish: async (message) => published.push(message), logger: createLogger('silent') })

async function session(expiresInMs: number) {
  const { customer, wallet } = await upsertCustomerWithWallet(sql, {
    projectId, externalId: uniqueId('user'), mode: 'live', email: null, name: null, newCustomerId: newId('ecus'), newWalletId: newId('wal'),
  })
  const token = mintSessionToken('live')
  await insertSession(sql, {
    id: newId('ses'), tokenHash: token.hash, lineageId: newId('sln'), projectId, endCustomerId: customer.id, walletId: wallet.id,
    mode: 'live', scopeModels: null, maxSpendNano: null, expiresAt: new Date(Date.now() + expiresInMs),
  })
  return { token, wallet }
}

describe('minted shapes', () => {
  test('secret keys and session tokens have the shapes the cache accepts; agent keys do not', () => {
    for (const mode of ['live', 'test'] as const) {
      expect(isSecretKeyFormat(mintSecretKey(mode).secret)).toBe(true)
      expect(isSessionTokenFormat(mintSessionToken(mode).secret)).toBe(true)
      expect(isSessionTokenFormat(mintSecretKey(mode).secret)).toBe(false)
    }
    expect(mintSessionToken('test').secret).toStartWith('es_test_')
    expect(isSecretKeyFormat(`mw_live_${'A'.repeat(32)}`)).toBe(false)
  })
})

describe('PlatformCredentials', () => {
  test('a cached secret key is forgotten on a key: eviction, which is also published', async () => {
    const cache = credentials()
    const key = mintSecretKey('test')
    await insertProjectKey(sql, { id: newId('pkey'), projectId, mode: 'test', hash: key.hash, display: key.display })
    expect(await cache.secretKey(key.secret)).toMatchObject({ projectId, mode: 'test' })
    await sql`UPDATE project_keys SET revoked_at = now() WHERE key_hash = ${key.hash}`
    // Still cached: only the eviction makes the revocation visible before the TTL.
    expect(await cache.secretKey(key.secret)).not.toBeNull()
    await cache.invalidateHash(key.hash)
    expect(published).toContain(`key:${key.hash}`)
    expect(await cache.secretKey(key.secret)).toBeNull()
  })

  test('a cached session turns expired when its time is up, without another lookup', async () => {
    const cache = credentials()
    const { token } = await session(300)
    expect(await cache.session(token.secret)).toMatchObject({ projectId, mode: 'live' })
    await waitFor(async () => (await cache.session(token.secret)) === 'expired', 5_000, 'the cached session to expire')
  })

  test('an eviction that lands while a lookup is in flight keeps that lookup out of the cache', async () => {
    const cache = credentials()
    const { token } = await session(600_000)
    const inFlight = cache.session(token.secret)
    cache.handleMessage(`project:${projectId}`)
    expect(await inFlight).not.toBeNull()
    await sql`UPDATE end_user_sessions SET revoked_at = now() WHERE token_hash = ${token.hash}`
    expect(await cache.session(token.secret)).toBeNull()
  })

  test('the ledger takes wallets and accounts as holders, and refuses anything else with a foreign-key error', async () => {
    const { wallet } = await session(600_000)
    const credited = await insertCredit(sql, wallet.ledger_account_id, 1_000n, uniqueId('ref'), 'test')
    expect(credited.created).toBe(true)
    const refused = await insertCredit(sql, 'wallet:wal_nobody', 1_000n, uniqueId('ref'), 'test').catch((error: { code?: string }) => error.code)
    expect(refused).toBe('23503')
  })
})
