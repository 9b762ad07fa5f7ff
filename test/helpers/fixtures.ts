// Reads the provider fixtures byte for byte: a copy of ../shared/fixtures/providers kept in the repo so a clone is self-contained.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'

export const FIXTURES_DIR = join(import.meta.dir, '..', 'fixtures', 'providers')
export const SHARED_FIXTURES_DIR = join(import.meta.dir, '..', '..', '..', 'shared', 'fixtures', 'providers')

export function readFixture(name: string): string {
  return readFileSync(join(FIXTURES_DIR, name), 'utf8')
}
