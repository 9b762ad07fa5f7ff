// The allocator setting the gateway checks at boot: read as Bun's mimalloc reads it.
import { describe, expect, test } from 'bun:test'
import { ALLOCATOR_ENV, purgesHoles } from '../../src/lib/allocator'
import { loadConfig } from '../../src/config'

describe('MIMALLOC_PURGE_HOLES', () => {
  test('off only for the values mimalloc reads as off; unset leaves Bun purging', () => {
    for (const off of ['0', 'false', 'OFF', ' no ']) expect(purgesHoles(off)).toBe(false)
    for (const on of ['', '1', 'true', 'yes']) expect(purgesHoles(on)).toBe(true)
  })

  test('what the gateway is started with turns it off, and the config carries the value it started with', () => {
    expect(purgesHoles(ALLOCATOR_ENV.MIMALLOC_PURGE_HOLES)).toBe(false)
    expect(loadConfig({}).allocatorPurgeHoles).toBe('')
    expect(loadConfig({ MIMALLOC_PURGE_HOLES: '0' }).allocatorPurgeHoles).toBe('0')
  })
})
