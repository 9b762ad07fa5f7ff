// The caller's network address, resolved once per request (src/app.ts) and read by whatever limits callers by address.
import { isIP } from 'node:net'

interface AddressSource {
  requestIP(request: Request): { address: string } | null
}

const addresses = new WeakMap<Request, string>()

/**
 * The address to count a caller by: IPv4 as is (also when it arrives IPv4-mapped), IPv6 by its /64, since one
 * customer holds a whole /64 and could otherwise spread attempts over 2^64 addresses. With `trustForwardedFor`,
 * the last X-Forwarded-For hop — what the one proxy in front of us saw; earlier hops are whatever the client wrote.
 */
export function resolveClientAddress(request: Request, server: AddressSource | null | undefined, trustForwardedFor: boolean): string | null {
  if (trustForwardedFor) {
    const hops = request.headers.get('x-forwarded-for')?.split(',')
    const last = hops?.[hops.length - 1]?.trim()
    if (last && isIP(last)) return addressKey(last)
  }
  const socket = server?.requestIP(request)?.address
  return socket ? addressKey(socket) : null
}

function addressKey(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)
  if (mapped) return mapped[1]!
  if (isIP(address) !== 6) return address
  const prefix = expandIpv6(address).slice(0, 4).map((group) => parseInt(group, 16).toString(16))
  return `${prefix.join(':')}::/64`
}

/** "2001:db8::1" → ["2001","db8","0","0","0","0","0","1"] (a zone id is dropped). */
function expandIpv6(address: string): string[] {
  const [head = '', tail] = address.split('%')[0]!.split('::') as [string, string | undefined]
  const left = head ? head.split(':') : []
  const right = tail ? tail.split(':') : []
  if (tail === undefined) return left
  return [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right]
}

export function rememberClientAddress(request: Request, address: string | null): void {
  if (address) addresses.set(request, address)
}

/** The address app.ts resolved for this request; null when none was (an app handled without a server, in tests). */
export function clientAddressOf(request: Request): string | null {
  return addresses.get(request) ?? null
}
