// Keys that cannot be ours are refused without Postgres: proven against a Postgres that is not there, where any lookup would fail.
import { afterAll, describe, expect, test } from 'bun:test'
import { Elysia } from 'elysia'
import { errorResponse } from '../../src/errors'
import { createDb } from '../../src/lib/db'
import { frameworkError } from '../../src/lib/framework-errors'
import { createLogger } from '../../src/lib/logger'
import { authPlugin } from '../../src/modules/auth'
import { isMintedKeyFormat, mintApiKey } from '../../src/modules/auth/keys'
import { PrincipalCache } from '../../src/modules/auth/principal-cache'
import { staticPrincipals } from '../../src/modules/auth/service'
import { closedPortUrl } from '../helpers/fake-upstream'

// Nothing listens there: a query would fail, so an answer without one is an answer that never asked.
const unreachable = createDb((await closedPortUrl()).replace('http', 'postgres'), { max: 1 })
const STATIC_KEYS = ['x', 'mw_live_short', 'sk-anything at all']
const cache = new PrincipalCache({
  sql: unreachable,
  statics: staticPrincipals(STATIC_KEYS),
  ttlMs: 30_000,
  publish: async () => 0,
  logger: createLogger('silent'),
})
afterAll(() => unreachable.end({ timeout: 0 }))

const malformed = [
  '',
  'mw_live_',
  `mw_live_${'A'.repeat(31)}`,
  `mw_live_${'A'.repeat(33)}`,
  `mw_prod_${'A'.repeat(32)}`,
  `MW_LIVE_${'A'.repeat(32)}`,
  `mw_live_${'A'.repeat(31)}-`,
  `mw_live_${'A'.repeat(31)}\u0000`,
  `sk-${'a'.repeat(48)}`,
  'k'.repeat(10_000),
]

describe('key format', () => {
  test('every minted key has the format; near misses do not', () => {
    for (let i = 0; i < 100; i++) expect(isMintedKeyFormat(mintApiKey(i % 2 ? 'live' : 'test').key)).toBe(true)
    for (const key of malformed) expect(isMintedKeyFormat(key)).toBe(false)
  })
})

describe('PrincipalCache.authenticate', () => {
  test('a key that cannot be ours is unknown at once, synchronously: no Postgres round trip', () => {
    for (const key of malformed) expect(cache.authenticate(key)).toBeNull()
    // 100,000 random guesses, all answered in memory (a lookup each would be 100,000 queries).
    for (let i = 0; i < 100_000; i++) expect(cache.authenticate(crypto.randomUUID())).toBeNull()
  })

  test('static keys of any form are matched in memory first', () => {
    for (const key of STATIC_KEYS) expect(cache.authenticate(key)).toMatchObject({ kind: 'static' })
  })

  test('a well-formed unknown key is the only kind that is looked up (and here the lookup fails)', async () => {
    const lookup = cache.authenticate(mintApiKey('live').key)
    expect(lookup).toBeInstanceOf(Promise)
    await expect(lookup as Promise<unknown>).rejects.toThrow()
  })

  test('over HTTP, malformed keys get 401 in our shape while Postgres is unreachable', async () => {
    const app = new Elysia()
      .onError(({ code, error, request, path }) => errorResponse(frameworkError(code, error, request.method, path)))
      .use(authPlugin(cache.authenticate))
      .get('/who', ({ principal }) => principal.accountId)
    for (const key of malformed.filter(Boolean)) {
      const response = await app.handle(new Request('http://local/who', { headers: { authorization: `Bearer ${key.replace('\u0000', '')}` } }))
      expect(response.status).toBe(401)
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe('invalid_api_key')
    }
  })
})
