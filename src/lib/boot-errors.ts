// What a failed boot tells the operator: one line naming the setting, the address and what to do, never a stack trace.

/** A failure the boot cannot go on from; index.ts prints its message alone and exits 1. */
export class BootError extends Error {}

/** The URL without its password, safe to print. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url)
    if (parsed.password) parsed.password = '***'
    return parsed.toString()
  } catch {
    return '(unparseable URL)'
  }
}

const WHY_UNREACHABLE: Record<string, string> = {
  ECONNREFUSED: 'connection refused (nothing listens there)',
  ENOTFOUND: 'host name not found',
  EAI_AGAIN: 'host name not resolved (DNS)',
  ETIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  CONNECT_TIMEOUT: 'connection timed out',
}
/** SQLSTATEs of a server that answered but would not let us in. */
const WHY_REFUSED: Record<string, string> = {
  '28P01': 'password authentication failed',
  '28000': 'the server refused this user',
  '3D000': 'the database does not exist',
  '57P03': 'the server is starting up or shutting down',
  '53300': 'the server has no connection slots left',
}

/**
 * The BootError for a Postgres failure at boot, or null when the error is not about reaching Postgres (a failed
 * migration, say, which keeps its own message).
 */
export function postgresBootError(error: unknown, databaseUrl: string): BootError | null {
  const code = (error as { code?: unknown } | null)?.code
  if (typeof code !== 'string') return null
  const why = WHY_UNREACHABLE[code] ?? WHY_REFUSED[code]
  if (!why) return null
  let address = '(unknown address)'
  try {
    const parsed = new URL(databaseUrl)
    address = `${parsed.hostname}:${parsed.port || '5432'}${parsed.pathname}`
  } catch {
    // keep the placeholder
  }
  const fix =
    code in WHY_REFUSED
      ? 'check the user, password and database name in DATABASE_URL'
      : 'start PostgreSQL (e.g. `pg_ctlcluster 15 main start`, or `docker compose up -d postgres`) or point DATABASE_URL at a running one'
  return new BootError(`meterway: cannot connect to PostgreSQL at ${address} (DATABASE_URL=${redactUrl(databaseUrl)}): ${why}. To fix: ${fix}.`)
}
