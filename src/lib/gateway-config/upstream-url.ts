// An upstream or facilitator URL from a config file: well formed, http(s), no credentials, and never an address no API lives at.
import { classifyAddress, type AddressClass } from '../ssrf'

/**
 * The config is the operator's own, so loopback and private networks are allowed (an upstream on the same host or
 * VPC is normal); addresses that are never an API (cloud metadata, unspecified, multicast, broadcast) are not.
 */
const NEVER: ReadonlySet<AddressClass> = new Set(['metadata', 'unspecified', 'multicast', 'broadcast', 'zone-id'])

/** The URL without a trailing slash, or what is wrong with it. */
export function checkServiceUrl(raw: string): { url: string } | { problem: string } {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    return { problem: `expected an absolute http(s) URL; got ${JSON.stringify(raw)}` }
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return { problem: `expected an http(s) URL; got ${JSON.stringify(raw)}` }
  if (url.username !== '' || url.password !== '') return { problem: 'expected a URL without user:password@ (put credentials in headers)' }
  if (url.search !== '' || url.hash !== '') return { problem: `expected a URL without ?query or #fragment; got ${JSON.stringify(raw)}` }
  const verdict = classifyAddress(url.hostname)
  if (NEVER.has(verdict)) return { problem: `expected an address an API can live at; ${url.hostname} is ${verdict === 'zone-id' ? 'an address with a zone id' : `a ${verdict} address`}` }
  return { url: url.href.replace(/\/+$/, '') }
}
