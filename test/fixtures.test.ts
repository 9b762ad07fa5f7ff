// The repo's copy of the provider fixtures must not drift from the shared originals (when those sit beside the clone).
import { expect, test } from 'bun:test'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { FIXTURES_DIR, SHARED_FIXTURES_DIR } from './helpers/fixtures'

test('test/fixtures/providers matches ../shared/fixtures/providers byte for byte', () => {
  const ours = readdirSync(FIXTURES_DIR).sort()
  expect(ours.length).toBeGreaterThan(10)
  if (!existsSync(SHARED_FIXTURES_DIR)) return
  expect(ours).toEqual(readdirSync(SHARED_FIXTURES_DIR).sort())
  for (const name of ours) {
    expect(readFileSync(join(FIXTURES_DIR, name))).toEqual(readFileSync(join(SHARED_FIXTURES_DIR, name)))
  }
})
