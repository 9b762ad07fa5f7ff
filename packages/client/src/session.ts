// The session a client holds: its token and expiry, normalised from whatever a backend's session route returns.

export interface ClientSession {
  token: string
  /** When the token stops working (ms since the epoch). */
  expiresAt: number
}

/** `{ token, expiresAt }`, `@meterway/server`'s `{ sessionToken, expiresAt }`, or the gateway's `{ session_token, expires_at }`. */
export type SessionInput =
  | { token: string; expiresAt: string | number | Date }
  | { sessionToken: string; expiresAt: string | number | Date }
  | { session_token: string; expires_at: string | number | Date }

const toMs = (value: string | number | Date): number => (value instanceof Date ? value.getTime() : typeof value === 'number' ? value : Date.parse(value))

export function normaliseSession(input: SessionInput): ClientSession {
  const raw = input as Record<string, unknown>
  const token = raw.token ?? raw.sessionToken ?? raw.session_token
  const expires = (raw.expiresAt ?? raw.expires_at) as string | number | Date | undefined
  if (typeof token !== 'string' || token === '') throw new TypeError('A Meterway session needs a token (sessionToken or session_token).')
  const expiresAt = expires === undefined ? Number.NaN : toMs(expires)
  if (!Number.isFinite(expiresAt)) throw new TypeError('A Meterway session needs expiresAt (a date, an ISO string or ms since the epoch).')
  return { token, expiresAt }
}
