// Turns an upstream's error answer into the client-facing GatewayError, and scrubs anything key-like from its text.
import { GatewayError, UpstreamClientError, UpstreamError } from '../errors'

const KEY_LIKE = /\b(sk|sk-ant|AIza)[-_A-Za-z0-9*]{6,}/g

/** Removes our upstream credentials, and anything shaped like a provider key, from a message we relay. */
export function scrubSecrets(message: string, secrets: readonly string[]): string {
  let out = message
  for (const secret of secrets) if (secret.length >= 4) out = out.split(secret).join('[redacted]')
  return out.replace(KEY_LIKE, '[redacted]')
}

export interface UpstreamErrorInfo {
  provider: string
  status: number
  message: string
  type?: string | null
  code?: string | null
  param?: string | null
  retryAfter?: string | null
  /** The upstream says our credentials are bad, whatever status it used (Gemini answers 400 for that). */
  credentialsRejected?: boolean
}

/**
 * 4xx answers pass on with their status and message: they are about the request.
 * 401/403 (and credentialsRejected) are about *our* provider key, not the client's, so they become a 502.
 * 5xx and anything else become a 502 naming the provider.
 */
export function upstreamError(info: UpstreamErrorInfo, secrets: readonly string[]): GatewayError {
  const message = scrubSecrets(info.message || `HTTP ${info.status}`, secrets)
  if (info.credentialsRejected || info.status === 401 || info.status === 403) {
    return new UpstreamError(`The ${info.provider} upstream rejected the gateway's provider credentials.`, 'upstream_auth_failed')
  }
  if (info.status === 429) {
    const headers: Record<string, string> = info.retryAfter ? { 'retry-after': info.retryAfter } : {}
    return new UpstreamClientError(429, 'rate_limit_error', message, info.code ?? 'rate_limit_exceeded', info.param ?? null, headers)
  }
  if (info.status >= 400 && info.status < 500) {
    return new UpstreamClientError(info.status, info.type ?? 'invalid_request_error', message, info.code ?? null, info.param ?? null)
  }
  return new UpstreamError(`The ${info.provider} upstream failed (HTTP ${info.status}): ${message}`)
}

/** Parses a JSON error body; garbage yields null rather than throwing. */
export function parseJsonOrNull(body: string): unknown {
  try {
    return JSON.parse(body)
  } catch {
    return null
  }
}
