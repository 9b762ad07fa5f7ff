// One HTTP(S) request to the address the SSRF guard checked: no re-resolution, no redirects, a deadline and a bounded body read.
import http from 'node:http'
import https from 'node:https'
import type { LookupFunction } from 'node:net'
import type { CheckedTarget } from './ssrf'

export const RESPONSE_EXCERPT_BYTES = 4096

export interface PinnedFetchInit {
  method: string
  headers?: Record<string, string>
  body?: string | Uint8Array
  timeoutMs: number
  /** Aborts the request early (e.g. worker shutdown); the timeout still applies. */
  signal?: AbortSignal
  /** Extra trusted CA certificates (PEM) for https; for tests and private CAs, never to skip verification. */
  ca?: string | string[]
}

export interface PinnedResponse {
  status: number
  headers: Record<string, string>
  /** The first RESPONSE_EXCERPT_BYTES of the body as UTF-8 (the rest is never read). */
  bodyExcerpt: string
  truncated: boolean
}

/** The request did not produce a response: `timeout` (deadline hit), `aborted` (caller's signal) or `network` (connect, TLS, reset). */
export class PinnedFetchError extends Error {
  constructor(
    message: string,
    readonly kind: 'timeout' | 'aborted' | 'network',
    override readonly cause?: unknown,
  ) {
    super(message)
    this.name = 'PinnedFetchError'
  }
}

/**
 * Sends one request to `checked.address`. The URL's hostname still drives the Host header, TLS SNI and certificate
 * verification; only the socket's destination is pinned, through a `lookup` that ignores DNS and answers the checked address.
 * Redirects are never followed (node:http does not follow them): a 3xx comes back as is.
 */
export function pinnedFetch(checked: CheckedTarget, init: PinnedFetchInit): Promise<PinnedResponse> {
  const { url, address, family } = checked
  const secure = url.protocol === 'https:'
  const hostname = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname

  // Whatever name the socket layer asks for, answer the checked address: DNS is never consulted again.
  const lookup: LookupFunction = (_host, options, callback) => {
    if (options.all) (callback as (e: null, a: { address: string; family: number }[]) => void)(null, [{ address, family }])
    else callback(null, address, family)
  }

  // The caller must not steer Host away from the checked name; node sets it from `host` and the port.
  const headers: Record<string, string> = {}
  for (const [name, value] of Object.entries(init.headers ?? {})) if (name.toLowerCase() !== 'host') headers[name] = value

  const signals = [AbortSignal.timeout(init.timeoutMs)]
  if (init.signal) signals.push(init.signal)
  const signal = AbortSignal.any(signals)

  return new Promise<PinnedResponse>((resolve, reject) => {
    let settled = false
    const fail = (error: PinnedFetchError) => {
      if (settled) return
      settled = true
      reject(error)
    }

    const options: https.RequestOptions = {
      method: init.method,
      // An IP literal host needs no lookup; a name goes through the pinned lookup above.
      host: isIp(hostname) ? address : hostname,
      port: url.port === '' ? (secure ? 443 : 80) : Number(url.port),
      path: `${url.pathname}${url.search}`,
      headers,
      lookup,
      family,
      // A pooled socket could have been opened for another check of the same name; every delivery connects afresh.
      agent: false,
      ...(secure ? { servername: isIp(hostname) ? undefined : hostname, ca: init.ca, rejectUnauthorized: true } : {}),
    }

    const request = (secure ? https : http).request(options, (response) => {
      const chunks: Buffer[] = []
      let kept = 0
      let truncated = false
      const finish = () => {
        if (settled) return
        settled = true
        signal.removeEventListener('abort', onAbort)
        const responseHeaders: Record<string, string> = {}
        for (const [name, value] of Object.entries(response.headers)) {
          if (value !== undefined) responseHeaders[name] = Array.isArray(value) ? value.join(', ') : value
        }
        resolve({
          status: response.statusCode ?? 0,
          headers: responseHeaders,
          bodyExcerpt: Buffer.concat(chunks).toString('utf8'),
          truncated,
        })
        // Stop reading: the receiver may stream an unbounded body, and we keep only the excerpt.
        if (truncated) response.destroy()
      }
      response.on('data', (chunk: Buffer) => {
        if (truncated) return
        const room = RESPONSE_EXCERPT_BYTES - kept
        if (chunk.length > room) {
          chunks.push(chunk.subarray(0, room))
          kept += room
          truncated = true
          finish()
          return
        }
        chunks.push(chunk)
        kept += chunk.length
      })
      response.on('end', finish)
      response.on('error', (error) => fail(new PinnedFetchError(`Reading the response from ${url.host} failed: ${error.message}`, 'network', error)))
    })

    const onAbort = () => {
      const timedOut = signal.reason instanceof DOMException && signal.reason.name === 'TimeoutError'
      const error = timedOut
        ? new PinnedFetchError(`No response from ${url.host} within ${init.timeoutMs} ms.`, 'timeout', signal.reason)
        : new PinnedFetchError(`Request to ${url.host} was aborted.`, 'aborted', signal.reason)
      fail(error)
      request.destroy(error)
    }
    if (signal.aborted) return onAbort()
    signal.addEventListener('abort', onAbort, { once: true })

    request.on('error', (error) => {
      signal.removeEventListener('abort', onAbort)
      fail(error instanceof PinnedFetchError ? error : new PinnedFetchError(`Request to ${url.host} failed: ${error.message}`, 'network', error))
    })
    request.end(init.body)
  })
}

const isIp = (host: string) => host.includes(':') || /^\d+\.\d+\.\d+\.\d+$/.test(host)
