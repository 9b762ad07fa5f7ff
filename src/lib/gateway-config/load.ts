// Reads a gateway config file: YAML → ${VAR} interpolation → TypeBox shape → checks → catalog overrides; errors name the file and key.
import { readFileSync } from 'node:fs'
import { Value, type ValueError } from '@sinclair/typebox/value'
import { parseDocument } from 'yaml'
import { CATALOG_DATA, CATALOG_VERSION } from '../../pricing/catalog-data'
import { buildCatalog } from '../../pricing/catalog'
import { CatalogError } from '../../pricing/catalog-schema'
import { buildGatewayFile, type Problem } from './build'
import { interpolate, type UnsetVariable } from './interpolate'
import { formatKeyPath, pointerSegments } from './key-path'
import { GatewayFileSchema, type GatewayFileData } from './schema'
import type { GatewayFile } from './types'

/** A config file that cannot be used: `problems` are one line each ("file: key.path: what was expected"), the message is the first. */
export class GatewayConfigError extends Error {
  override name = 'GatewayConfigError'
  constructor(readonly problems: readonly string[]) {
    const more = problems.length > 1 ? ` (and ${problems.length - 1} more: bun run validate)` : ''
    super(`${problems[0]}${more}`)
  }
}

const ADDITIONAL_PROPERTIES = 42
const REQUIRED_PROPERTY = 45

function shown(value: unknown): string {
  if (Array.isArray(value)) return 'a list'
  if (value !== null && typeof value === 'object') return 'a mapping'
  // Strings are not echoed: after interpolation one may be a secret.
  return typeof value === 'string' ? 'a string' : JSON.stringify(value)
}

function describe(error: ValueError): string {
  const schema = error.schema as { description?: string; properties?: Record<string, unknown> }
  if (error.type === ADDITIONAL_PROPERTIES) return `unknown key (expected one of: ${Object.keys(schema.properties ?? {}).join(', ')})`
  if (error.type === REQUIRED_PROPERTY) return `missing (expected ${schema.description ?? 'a value'})`
  const expected = schema.description ? `expected ${schema.description}` : error.message.replace(/^Expected/, 'expected')
  return `${expected}; got ${shown(error.value)}`
}

/** Every shape error, one per key (the first TypeBox reports there). */
function shapeProblems(data: unknown): Problem[] {
  const seen = new Set<string>()
  const problems: Problem[] = []
  for (const error of Value.Errors(GatewayFileSchema, data)) {
    if (seen.has(error.path)) continue
    seen.add(error.path)
    problems.push({ at: pointerSegments(error.path, data), message: describe(error) })
  }
  return problems
}

function fail(path: string, problems: Problem[]): never {
  throw new GatewayConfigError(problems.map((p) => `${path}: ${formatKeyPath(p.at)}: ${p.message}`))
}

/** Parses and checks the file at `path`; `env` fills its ${VAR}s. Throws GatewayConfigError listing every problem found. */
export function loadGatewayConfigFile(path: string, env: Record<string, string | undefined>): GatewayFile {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    const code = (error as { code?: string }).code
    throw new GatewayConfigError([`${path}: cannot read the file (${code === 'ENOENT' ? 'no such file' : (code ?? 'unreadable')})`])
  }
  const document = parseDocument(text, { uniqueKeys: true })
  if (document.errors.length > 0) {
    throw new GatewayConfigError(
      document.errors.map((error) => {
        const where = error.linePos ? `:${error.linePos[0].line}:${error.linePos[0].col}` : ''
        const what = error.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')
        return `${path}${where}: YAML syntax: ${what}`
      }),
    )
  }
  let parsed: unknown
  try {
    // Aliases are expanded at most this often: a small file cannot unfold into a huge one.
    parsed = document.toJS({ maxAliasCount: 100 })
  } catch (error) {
    throw new GatewayConfigError([`${path}: YAML: ${(error as Error).message}`])
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    fail(path, [{ at: [], message: `expected a mapping of settings (gateway, wallets, accepts, facilitator, upstreams, routes, defaults, models); got ${shown(parsed)}` }])
  }
  const unset: UnsetVariable[] = []
  const data = interpolate(parsed, env, unset)
  if (unset.length > 0) fail(path, unset.map(({ name, at }) => ({ at, message: `\${${name}} is not set (set the environment variable ${name})` })))
  const shape = shapeProblems(data)
  if (shape.length > 0) fail(path, shape)
  const built = buildGatewayFile(path, data as GatewayFileData)
  if ('problems' in built) fail(path, built.problems)
  if (built.file.models.length > 0) {
    try {
      buildCatalog(CATALOG_DATA, CATALOG_VERSION, built.file.models)
    } catch (error) {
      if (error instanceof CatalogError) fail(path, [{ at: ['models'], message: error.message }])
      throw error
    }
  }
  return built.file
}
