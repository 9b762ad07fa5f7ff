// Platform credentials: secret keys (sk_live_…, sk_test_…) and end-user session tokens (es_…, es_test_…), minted like API keys and stored only hashed.
import { randomBase62 } from './keys'
import { hashApiKey } from './service'

const SECRET_LENGTH = 32
const SECRET_KEY = new RegExp(`^sk_(live|test)_[A-Za-z0-9]{${SECRET_LENGTH}}$`)
const SESSION_TOKEN = new RegExp(`^es_(test_)?[A-Za-z0-9]{${SECRET_LENGTH}}$`)

export type Mode = 'live' | 'test'

/** Shapes we mint: anything else cannot be in Postgres, so it is refused without a query. */
export const isSecretKeyFormat = (key: string): boolean => SECRET_KEY.test(key)
export const isSessionTokenFormat = (token: string): boolean => SESSION_TOKEN.test(token)

export interface MintedCredential {
  /** Shown once, never stored. */
  secret: string
  hash: string
  /** The prefix and first characters, to tell keys apart in lists. */
  display: string
}

export function mintSecretKey(mode: Mode): MintedCredential {
  const secret = `sk_${mode}_${randomBase62(SECRET_LENGTH)}`
  return { secret, hash: hashApiKey(secret), display: `${secret.slice(0, 12)}…` }
}

export function mintSessionToken(mode: Mode): MintedCredential {
  const secret = `${mode === 'test' ? 'es_test_' : 'es_'}${randomBase62(SECRET_LENGTH)}`
  return { secret, hash: hashApiKey(secret), display: `${secret.slice(0, 12)}…` }
}

/** A random id with a type prefix (proj_, pkey_, ecus_, wal_, ses_, sln_). */
export const newId = (prefix: string) => `${prefix}_${randomBase62(20)}`
