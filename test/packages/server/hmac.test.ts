// @meterway/server's own HMAC-SHA256 (no node:crypto): equal to node:crypto's on edge lengths, and constant-time comparison semantics.
import { expect, test } from 'bun:test'
import { createHash, createHmac } from 'node:crypto'
import { hmacSha256, sha256, timingSafeEqual } from '../../../packages/server/src/hmac'

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex')

test('sha256 equals node:crypto for lengths around every block and padding boundary', () => {
  for (const length of [0, 1, 3, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129, 1000, 100_000]) {
    const data = new Uint8Array(length).map((_, i) => (i * 31 + length) & 0xff)
    expect(hex(sha256(data)), `length ${length}`).toBe(createHash('sha256').update(data).digest('hex'))
  }
  // FIPS 180-2's first example.
  expect(hex(sha256(new TextEncoder().encode('abc')))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
})

test('hmacSha256 equals node:crypto for short, block-sized and long keys', () => {
  for (const keyLength of [0, 1, 24, 32, 63, 64, 65, 200]) {
    const key = new Uint8Array(keyLength).map((_, i) => (i * 7 + 1) & 0xff)
    const message = new TextEncoder().encode(`msg_${keyLength}.1700000000.{"type":"wallet.credited","data":{"amount_usd":"5.00"}} é ✓`)
    expect(hex(hmacSha256(key, message)), `key ${keyLength}`).toBe(createHmac('sha256', key).update(message).digest('hex'))
  }
})

test('timingSafeEqual: equal only for the same bytes of the same length', () => {
  expect(timingSafeEqual(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2, 3]))).toBe(true)
  expect(timingSafeEqual(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2, 4]))).toBe(false)
  expect(timingSafeEqual(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2]))).toBe(false)
})
