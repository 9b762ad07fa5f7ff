// The Bun settings the gateway starts with: the allocator's read as Bun's mimalloc reads it, and every one set where a gateway is started.
import { describe, expect, test } from 'bun:test'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { ALLOCATOR_ENV, missingAllocatorSettings, purgesHoles, purgesSoon } from '../../src/lib/allocator'
import { START_ENV } from '../../src/lib/start-env'
import { loadConfig } from '../../src/config'

const ROOT = join(import.meta.dir, '..', '..')

describe('MIMALLOC_PURGE_HOLES', () => {
  test('off only for the values mimalloc reads as off; unset leaves Bun purging', () => {
    for (const off of ['0', 'false', 'OFF', ' no ']) expect(purgesHoles(off)).toBe(false)
    for (const on of ['', '1', 'true', 'yes']) expect(purgesHoles(on)).toBe(true)
  })

  test('what the gateway is started with turns it off, and the config carries the value it started with', () => {
    expect(purgesHoles(ALLOCATOR_ENV.MIMALLOC_PURGE_HOLES)).toBe(false)
    expect(START_ENV.MIMALLOC_PURGE_HOLES).toBe('0')
    expect(loadConfig({}).allocatorPurgeHoles).toBe('')
    expect(loadConfig({ MIMALLOC_PURGE_HOLES: '0' }).allocatorPurgeHoles).toBe('0')
  })
})

describe('MIMALLOC_PURGE_DELAY', () => {
  test('unset, unreadable or under 60 s returns free pages sooner than the gateway runs with; 60 s or more, or never (-1), does not', () => {
    for (const soon of ['', 'x', '0', '10', '10000', '59999']) expect(purgesSoon(soon)).toBe(true)
    for (const late of ['60000', ' 120000 ', '-1']) expect(purgesSoon(late)).toBe(false)
    expect(purgesSoon(ALLOCATOR_ENV.MIMALLOC_PURGE_DELAY)).toBe(false)
    expect(START_ENV.MIMALLOC_PURGE_DELAY).toBe('60000')
    expect(loadConfig({}).allocatorPurgeDelay).toBe('')
    expect(loadConfig({ MIMALLOC_PURGE_DELAY: '10000' }).allocatorPurgeDelay).toBe('10000')
  })

  test('the boot names each setting a process started without, and none when it has them all', () => {
    expect(missingAllocatorSettings({ purgeHoles: '', purgeDelay: '' })).toEqual(['MIMALLOC_PURGE_HOLES=0', 'MIMALLOC_PURGE_DELAY=60000'])
    expect(missingAllocatorSettings({ purgeHoles: '0', purgeDelay: '10000' })).toEqual(['MIMALLOC_PURGE_DELAY=60000'])
    expect(missingAllocatorSettings({ purgeHoles: '0', purgeDelay: '60000' })).toEqual([])
  })
})

describe('the start settings', () => {
  test('`bun run start` and the Dockerfile set every one, with the same value', () => {
    const start = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).scripts.start as string
    const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8')
    for (const [name, value] of Object.entries(START_ENV)) {
      expect(start).toContain(`${name}=${value} `)
      expect(dockerfile).toMatch(new RegExp(`^ENV ${name}=${value}$`, 'm'))
    }
  })
})
