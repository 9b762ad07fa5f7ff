// SSRF guard for webhook target URLs: URL policy, IP address classification and one-shot checked DNS resolution.
import { promises as dns } from 'node:dns'
import { GatewayError } from '../errors'

/** Why an address or URL is refused; `dns_failure` means the name did not resolve (maybe temporarily), not that it is hostile. */
export type RefusalReason =
  | 'invalid'
  | 'zone-id'
  | 'unspecified'
  | 'loopback'
  | 'private'
  | 'cgnat'
  | 'link-local'
  | 'metadata'
  | 'reserved'
  | 'documentation'
  | 'benchmarking'
  | 'multicast'
  | 'broadcast'
  | 'ipv4-mapped'
  | 'ipv4-compatible'
  | 'ipv4-translated'
  | 'unique-local'
  | 'site-local'
  | 'teredo'

export type AddressClass = 'public' | RefusalReason

export type UrlRefusal = RefusalReason | 'bad_url' | 'scheme' | 'credentials' | 'localhost' | 'dns_failure' | 'http_not_loopback'

/** 400 for a webhook URL the gateway will not call; `reason` lets the delivery worker tell DNS trouble from a hostile target. */
export class UnsafeUrlError extends GatewayError {
  constructor(
    message: string,
    readonly reason: UrlRefusal,
  ) {
    super(400, 'invalid_request_error', message, 'unsafe_url', 'url')
  }
}

export interface SsrfOptions {
  /** Dev/test only: allow loopback targets, and plain http when the target is loopback. */
  allowHttpLoopback: boolean
}

export type LookupFn = (host: string) => Promise<{ address: string; family: 4 | 6 }[]>

export interface CheckedTarget {
  url: URL
  /** The one address every connection for this delivery must go to. */
  address: string
  family: 4 | 6
}

// ---------------------------------------------------------------- IPv4

/** Strict dotted-decimal only: DNS answers are canonical, so any other spelling (octal, hex, short) is treated as invalid, not guessed at. */
function parseIPv4(text: string): number | null {
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text)
  if (!match) return null
  let value = 0
  for (let i = 1; i <= 4; i++) {
    const part = match[i]!
    if (part.length > 1 && part.startsWith('0')) return null
    const n = Number(part)
    if (n > 255) return null
    value = value * 256 + n
  }
  return value
}

const ipv4 = (a: number, b: number, c: number, d: number) => ((a << 24) >>> 0) + (b << 16) + (c << 8) + d

// Order matters: the first matching range names the reason (broadcast and metadata before their wider blocks).
const IPV4_RANGES: [base: number, prefix: number, reason: RefusalReason][] = [
  [ipv4(255, 255, 255, 255), 32, 'broadcast'],
  [ipv4(169, 254, 169, 254), 32, 'metadata'],
  [ipv4(0, 0, 0, 0), 8, 'unspecified'],
  [ipv4(10, 0, 0, 0), 8, 'private'],
  [ipv4(100, 64, 0, 0), 10, 'cgnat'],
  [ipv4(127, 0, 0, 0), 8, 'loopback'],
  [ipv4(169, 254, 0, 0), 16, 'link-local'],
  [ipv4(172, 16, 0, 0), 12, 'private'],
  [ipv4(192, 0, 0, 0), 24, 'reserved'],
  [ipv4(192, 0, 2, 0), 24, 'documentation'],
  [ipv4(192, 88, 99, 0), 24, 'reserved'],
  [ipv4(192, 168, 0, 0), 16, 'private'],
  [ipv4(198, 18, 0, 0), 15, 'benchmarking'],
  [ipv4(198, 51, 100, 0), 24, 'documentation'],
  [ipv4(203, 0, 113, 0), 24, 'documentation'],
  [ipv4(224, 0, 0, 0), 4, 'multicast'],
  [ipv4(240, 0, 0, 0), 4, 'reserved'],
]

function classifyIPv4(value: number): AddressClass {
  for (const [base, prefix, reason] of IPV4_RANGES) {
    const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0
    if (((value & mask) >>> 0) === base) return reason
  }
  return 'public'
}

// ---------------------------------------------------------------- IPv6

/** Eight 16-bit groups, or null. Handles `::` and a trailing dotted quad; zone ids are the caller's concern. */
function parseIPv6(text: string): number[] | null {
  let body = text
  let tail: number[] = []
  const lastColon = body.lastIndexOf(':')
  if (lastColon >= 0 && body.slice(lastColon + 1).includes('.')) {
    const v4 = parseIPv4(body.slice(lastColon + 1))
    if (v4 === null) return null
    tail = [v4 >>> 16, v4 & 0xffff]
    // Keep the colon so "::1.2.3.4" still has its "::"; a lone trailing ":" is dropped below.
    body = body.slice(0, lastColon + 1)
    if (body.endsWith(':') && !body.endsWith('::')) body = body.slice(0, -1)
  }
  const halves = body.split('::')
  if (halves.length > 2) return null
  const groups = (half: string): number[] | null => {
    if (half === '') return []
    const out: number[] = []
    for (const g of half.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null
      out.push(parseInt(g, 16))
    }
    return out
  }
  const head = groups(halves[0]!)
  if (!head) return null
  if (halves.length === 1) {
    const all = [...head, ...tail]
    return all.length === 8 ? all : null
  }
  const rest = groups(halves[1]!)
  if (!rest) return null
  const known = head.length + rest.length + tail.length
  if (known > 7) return null
  return [...head, ...new Array<number>(8 - known).fill(0), ...rest, ...tail]
}

const embeddedV4 = (hi: number, lo: number) => ((hi << 16) >>> 0) + lo

function classifyIPv6(g: number[]): AddressClass {
  const [g0, g1, g2, g3, g4, g5, g6, g7] = g as [number, number, number, number, number, number, number, number]
  const first80Zero = g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0 && g4 === 0
  if (first80Zero && g5 === 0 && g6 === 0 && g7 === 0) return 'unspecified'
  if (first80Zero && g5 === 0 && g6 === 0 && g7 === 1) return 'loopback'
  // A mapped address reaches IPv4 on a dual-stack socket; no real webhook host publishes one, so refuse them all.
  if (first80Zero && g5 === 0xffff) return 'ipv4-mapped'
  if (first80Zero && g5 === 0) return 'ipv4-compatible'
  if (g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0 && g4 === 0xffff && g5 === 0) return 'ipv4-translated'
  // NAT64 well-known prefix: the gateway's NAT64 would connect to the embedded IPv4, so judge that instead.
  if (g0 === 0x64 && g1 === 0xff9b && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0) return classifyIPv4(embeddedV4(g6, g7))
  if ((g0 & 0xfe00) === 0xfc00) return 'unique-local'
  if ((g0 & 0xffc0) === 0xfe80) return 'link-local'
  if ((g0 & 0xffc0) === 0xfec0) return 'site-local'
  if ((g0 & 0xff00) === 0xff00) return 'multicast'
  if (g0 === 0x2001 && g1 === 0x0db8) return 'documentation'
  if (g0 === 0x2001 && g1 === 0) return 'teredo'
  if (g0 === 0x2001 && g1 === 2 && g2 === 0) return 'benchmarking'
  // 6to4 tunnels to the embedded IPv4 address.
  if (g0 === 0x2002) {
    const inner = classifyIPv4(embeddedV4(g1, g2))
    if (inner !== 'public') return inner
  }
  // Only 2000::/3 is allocated global unicast; everything else (100::/64 discard, 64:ff9b:1::/48 local NAT64, unassigned) is refused.
  if ((g0 & 0xe000) !== 0x2000) return 'reserved'
  return 'public'
}

/** 'public' if a webhook may connect to this IP literal (IPv4 dotted-decimal or IPv6, brackets allowed), else why not. */
export function classifyAddress(ip: string): AddressClass {
  let text = ip.trim()
  if (text.startsWith('[') && text.endsWith(']')) text = text.slice(1, -1)
  // A zone id pins a link-local interface; no public address needs one.
  if (text.includes('%')) return 'zone-id'
  if (text.includes(':')) {
    const groups = parseIPv6(text)
    return groups ? classifyIPv6(groups) : 'invalid'
  }
  const v4 = parseIPv4(text)
  return v4 === null ? 'invalid' : classifyIPv4(v4)
}

/** True if `host` (URL hostname, brackets allowed) is an IP literal rather than a name. */
function isIpLiteral(host: string): boolean {
  const text = host.startsWith('[') ? host.slice(1, -1) : host
  return text.includes(':') || parseIPv4(text) !== null
}

const stripBrackets = (host: string) => (host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host)

// RFC 6761: localhost and *.localhost are loopback by definition, whatever a resolver says.
const isLocalhostName = (host: string) => /(^|\.)localhost\.?$/i.test(host)

const DESCRIBE: Record<RefusalReason, string> = {
  invalid: 'is not a valid IP address',
  'zone-id': 'carries an IPv6 zone id',
  unspecified: 'is an unspecified address',
  loopback: 'is a loopback address',
  private: 'is a private network address',
  cgnat: 'is a carrier-grade NAT address',
  'link-local': 'is a link-local address',
  metadata: 'is a cloud metadata address',
  reserved: 'is a reserved address',
  documentation: 'is a documentation address',
  benchmarking: 'is a benchmarking address',
  multicast: 'is a multicast address',
  broadcast: 'is the broadcast address',
  'ipv4-mapped': 'is an IPv4-mapped IPv6 address',
  'ipv4-compatible': 'is an IPv4-compatible IPv6 address',
  'ipv4-translated': 'is an IPv4-translated IPv6 address',
  'unique-local': 'is an IPv6 unique-local address',
  'site-local': 'is an IPv6 site-local address',
  teredo: 'is a Teredo tunnel address',
}

function refuseAddress(host: string, address: string, reason: RefusalReason): UnsafeUrlError {
  const subject = stripBrackets(host) === address ? `Webhook URL host ${address}` : `Webhook URL host ${host} resolves to ${address}, which`
  return new UnsafeUrlError(`${subject} ${DESCRIBE[reason]}; webhooks must target a public address.`, reason)
}

// ---------------------------------------------------------------- URL policy

/**
 * Parses and vets a webhook URL without touching DNS. WHATWG parsing already turns `2130706433`, `0177.0.0.1`, `0x7f.1`
 * and `127.1` into `127.0.0.1`, so IP literals are judged in their canonical form.
 */
export function parseWebhookUrl(raw: string, options: SsrfOptions): URL {
  let url: URL
  try {
    url = new URL(raw.trim())
  } catch {
    throw new UnsafeUrlError('Webhook URL is not a valid absolute URL.', 'bad_url')
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new UnsafeUrlError(`Webhook URL must use https (got ${url.protocol}).`, 'scheme')
  }
  if (url.username !== '' || url.password !== '') {
    throw new UnsafeUrlError('Webhook URL must not contain credentials (user:password@); use the signing secret to authenticate.', 'credentials')
  }
  const host = url.hostname
  if (host === '') throw new UnsafeUrlError('Webhook URL has no host.', 'bad_url')

  let loopback = false
  if (isIpLiteral(host)) {
    const verdict = classifyAddress(host)
    loopback = verdict === 'loopback'
    if (verdict !== 'public' && !(loopback && options.allowHttpLoopback)) throw refuseAddress(host, stripBrackets(host), verdict)
  } else if (isLocalhostName(host)) {
    loopback = true
    if (!options.allowHttpLoopback) throw new UnsafeUrlError(`Webhook URL host ${host} is loopback; webhooks must target a public address.`, 'localhost')
  }
  if (url.protocol === 'http:') {
    // Dev mode admits http for loopback only; a name is allowed here and must then resolve to loopback only (resolveChecked).
    const maybeLoopback = loopback || !isIpLiteral(host)
    if (!options.allowHttpLoopback || !maybeLoopback) throw new UnsafeUrlError('Webhook URL must use https.', 'scheme')
  }
  return url
}

// ---------------------------------------------------------------- resolution

const defaultLookup: LookupFn = async (host) => {
  const answers = await dns.lookup(host, { all: true, verbatim: true })
  return answers.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }))
}

/**
 * Resolves the URL's host exactly once and vets every answer (an attacker may mix a public and a private record).
 * Connect only to the returned `address` (pinnedFetch does); never re-resolve the name for the same delivery.
 */
export async function resolveChecked(url: URL, options: SsrfOptions & { lookup?: LookupFn }): Promise<CheckedTarget> {
  // Re-run the URL policy so a URL that skipped parseWebhookUrl (or came from the database) is still vetted.
  const vetted = parseWebhookUrl(url.href, options)
  const host = vetted.hostname

  let answers: { address: string; family: 4 | 6 }[]
  if (isIpLiteral(host)) {
    const address = stripBrackets(host)
    answers = [{ address, family: address.includes(':') ? 6 : 4 }]
  } else {
    try {
      answers = await (options.lookup ?? defaultLookup)(host.replace(/\.$/, ''))
    } catch (error) {
      const code = (error as { code?: string }).code
      throw new UnsafeUrlError(`Webhook URL host ${host} could not be resolved${code ? ` (${code})` : ''}.`, 'dns_failure')
    }
    if (answers.length === 0) throw new UnsafeUrlError(`Webhook URL host ${host} has no addresses.`, 'dns_failure')
  }

  for (const answer of answers) {
    const verdict = classifyAddress(answer.address)
    const devLoopback = verdict === 'loopback' && options.allowHttpLoopback
    if (verdict !== 'public' && !devLoopback) throw refuseAddress(host, answer.address, verdict)
    if (vetted.protocol === 'http:' && verdict !== 'loopback') {
      throw new UnsafeUrlError(`Webhook URL host ${host} resolves to ${answer.address}; plain http is allowed only to loopback in dev mode.`, 'http_not_loopback')
    }
  }
  const chosen = answers[0]!
  return { url: vetted, address: stripBrackets(chosen.address), family: chosen.family }
}
