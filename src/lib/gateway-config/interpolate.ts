// ${VAR} in a config file's string values, replaced from the environment; an unset variable is an error naming it and where.
import type { KeySegment } from './key-path'

const REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g

export interface UnsetVariable {
  name: string
  at: KeySegment[]
}

/** A copy of `node` with every ${VAR} in a string value replaced; keys are left as written. */
export function interpolate(node: unknown, env: Record<string, string | undefined>, unset: UnsetVariable[], at: KeySegment[] = []): unknown {
  if (typeof node === 'string') {
    return node.replace(REFERENCE, (_, name: string) => {
      const value = env[name]
      // An empty value is as good as none: an empty API key or address is never what the file meant.
      if (value === undefined || value === '') {
        unset.push({ name, at })
        return ''
      }
      return value
    })
  }
  if (Array.isArray(node)) return node.map((item, index) => interpolate(item, env, unset, [...at, index]))
  if (node !== null && typeof node === 'object') {
    const copy: Record<string, unknown> = {}
    for (const [key, value] of Object.entries(node)) copy[key] = interpolate(value, env, unset, [...at, key])
    return copy
  }
  return node
}
