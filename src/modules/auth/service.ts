// Who is calling: the API key from the request headers, resolved to a principal by its SHA-256 (keys are never kept or logged in clear).

export interface Principal {
  accountId: string
  /** Stable id of the key (not the key): what usage records and logs name. */
  keyId: string
  mode: 'live' | 'test'
}

export type Authenticator = (apiKey: string) => Principal | null

export function hashApiKey(apiKey: string): string {
  return new Bun.CryptoHasher('sha256').update(apiKey).digest('hex')
}

/** The key from `Authorization: Bearer <key>` or `X-API-Key: <key>`; undefined if neither is there. */
export function extractApiKey(headers: Record<string, string | undefined>): string | undefined {
  const authorization = headers.authorization
  if (authorization && authorization.length > 7 && authorization.slice(0, 7).toLowerCase() === 'bearer ') {
    const key = authorization.slice(7).trim()
    if (key) return key
  }
  const apiKey = headers['x-api-key']?.trim()
  return apiKey || undefined
}

/**
 * Static keys from GATEWAY_API_KEYS (single-tenant use). Lookup is by hash, so the comparison never runs
 * over the secret itself and its timing says nothing about how much of a guess was right.
 */
export function createStaticKeyAuthenticator(keys: readonly string[]): Authenticator {
  const byHash = new Map<string, Principal>()
  for (const key of keys) {
    const hash = hashApiKey(key)
    byHash.set(hash, { accountId: 'static', keyId: `key_static_${hash.slice(0, 12)}`, mode: 'live' })
  }
  return (apiKey) => byHash.get(hashApiKey(apiKey)) ?? null
}
