// How deep a parsed JSON value nests, found with an explicit stack: a hostile body cannot overflow ours the way it would a recursive walk.

/**
 * Levels of nesting a request body may have: the body itself is level 1, each object or array inside adds one.
 * Real requests stay far below it (an OpenAI chat request with a tool schema nested 25 levels is ~55); what goes past
 * it is an attack on the recursive code downstream (JSON.stringify, schema converters, token counters).
 */
export const MAX_JSON_DEPTH = 64

/** A key longer than this is shortened in the path we report, so an error cannot echo megabytes back. */
const MAX_KEY_IN_PATH = 64

interface Frame {
  value: object
  depth: number
  key: string | number | null
  parent: Frame | null
}

/** The first container (in document order) deeper than `maxDepth`, as path segments from the root; null if none. */
export function firstTooDeep(root: unknown, maxDepth = MAX_JSON_DEPTH): (string | number)[] | null {
  if (root === null || typeof root !== 'object') return null
  const stack: Frame[] = [{ value: root, depth: 1, key: null, parent: null }]
  while (stack.length > 0) {
    const frame = stack.pop()!
    if (frame.depth > maxDepth) return pathOf(frame)
    const childDepth = frame.depth + 1
    // Children are pushed last-first, so they are popped in document order.
    if (Array.isArray(frame.value)) {
      for (let i = frame.value.length - 1; i >= 0; i--) {
        const child: unknown = frame.value[i]
        if (child !== null && typeof child === 'object') stack.push({ value: child, depth: childDepth, key: i, parent: frame })
      }
    } else {
      const keys = Object.keys(frame.value)
      for (let i = keys.length - 1; i >= 0; i--) {
        const child: unknown = (frame.value as Record<string, unknown>)[keys[i]!]
        if (child !== null && typeof child === 'object') stack.push({ value: child, depth: childDepth, key: keys[i]!, parent: frame })
      }
    }
  }
  return null
}

function pathOf(frame: Frame): (string | number)[] {
  const path: (string | number)[] = []
  for (let at: Frame | null = frame; at && at.key !== null; at = at.parent) path.push(at.key)
  return path.reverse()
}

/** ["tools", 0, "function", "parameters"] → "tools[0].function.parameters", as our `param` names fields. */
export function pathToParam(path: readonly (string | number)[]): string {
  let param = ''
  for (const segment of path) {
    if (typeof segment === 'number') param += `[${segment}]`
    else {
      const key = segment.length > MAX_KEY_IN_PATH ? `${segment.slice(0, MAX_KEY_IN_PATH)}…` : segment
      param += param === '' ? key : `.${key}`
    }
  }
  return param
}
