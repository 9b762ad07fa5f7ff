// Lower layers stay below: nothing in providers, metering, limits, pricing, lib, db, exchange, openai, anthropic or x402 imports src/modules.
import { expect, test } from 'bun:test'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'

const SRC = join(import.meta.dir, '..', 'src')
const LOWER = ['providers', 'metering', 'limits', 'pricing', 'lib', 'db', 'exchange', 'openai', 'anthropic', 'x402']
const MODULES = join(SRC, 'modules')

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? filesUnder(path) : path.endsWith('.ts') ? [path] : []
  })
}

/** Every module specifier of a file: static imports and exports, dynamic import() and require(). */
function specifiers(source: string): string[] {
  const found: string[] = []
  for (const match of source.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|^\s*import\s+)['"]([^'"]+)['"]/gm)) found.push(match[1]!)
  return found
}

test('no lower layer imports from src/modules', () => {
  const files = LOWER.flatMap((layer) => filesUnder(join(SRC, layer)))
  expect(files.length).toBeGreaterThan(40)
  const upward: string[] = []
  for (const file of files) {
    for (const specifier of specifiers(readFileSync(file, 'utf8'))) {
      if (!specifier.startsWith('.')) continue
      const target = resolve(dirname(file), specifier)
      if (target === MODULES || target.startsWith(`${MODULES}/`)) upward.push(`${relative(SRC, file)} → ${specifier}`)
    }
  }
  expect(upward).toEqual([])
})

test('the check sees an upward import when there is one', () => {
  expect(specifiers(`import type { Principal } from '../modules/auth/service'\nconst x = await import("../../modules/chat")`)).toEqual([
    '../modules/auth/service',
    '../../modules/chat',
  ])
})
