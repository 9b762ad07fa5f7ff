// Which address a caller is counted by: the socket's (IPv4-mapped unwrapped, IPv6 by /64), or the last X-Forwarded-For hop when trusted.
import { expect, test } from 'bun:test'
import { clientAddressOf, rememberClientAddress, resolveClientAddress } from '../../src/lib/client-address'

const socket = (address: string) => ({ requestIP: () => ({ address }) })
const request = (forwardedFor?: string) => new Request('http://local/', forwardedFor ? { headers: { 'x-forwarded-for': forwardedFor } } : {})

test('IPv4 as is, also IPv4-mapped; IPv6 by its /64 however it is written', () => {
  expect(resolveClientAddress(request(), socket('203.0.113.7'), false)).toBe('203.0.113.7')
  expect(resolveClientAddress(request(), socket('::ffff:203.0.113.7'), false)).toBe('203.0.113.7')
  const a = resolveClientAddress(request(), socket('2001:db8:0:1::1'), false)
  expect(a).toBe('2001:db8:0:1::/64')
  expect(resolveClientAddress(request(), socket('2001:0db8:0000:0001:ffff:ffff:ffff:ffff'), false)).toBe(a)
  expect(resolveClientAddress(request(), socket('2001:db8:0:2::1'), false)).not.toBe(a)
  expect(resolveClientAddress(request(), socket('::1'), false)).toBe('0:0:0:0::/64')
})

test('X-Forwarded-For is ignored unless trusted; trusted, its last hop counts, and junk falls back to the socket', () => {
  expect(resolveClientAddress(request('198.51.100.1'), socket('10.0.0.1'), false)).toBe('10.0.0.1')
  expect(resolveClientAddress(request('198.51.100.1, 203.0.113.9'), socket('10.0.0.1'), true)).toBe('203.0.113.9')
  expect(resolveClientAddress(request('not-an-address'), socket('10.0.0.1'), true)).toBe('10.0.0.1')
  expect(resolveClientAddress(request(), null, false)).toBeNull()
})

test('an address is remembered per request', () => {
  const one = request()
  rememberClientAddress(one, '203.0.113.1')
  expect(clientAddressOf(one)).toBe('203.0.113.1')
  expect(clientAddressOf(request())).toBeNull()
})
