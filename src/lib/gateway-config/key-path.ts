// How a config file names a key in an error: routes."POST /v1/messages".match[0].price, from path segments or a JSON pointer.

export type KeySegment = string | number

const BARE = /^[A-Za-z_][A-Za-z0-9_-]*$/

/** ['routes', 'POST /v1/messages', 'price'] → routes."POST /v1/messages".price; a number is a list index. */
export function formatKeyPath(segments: readonly KeySegment[]): string {
  let text = ''
  for (const segment of segments) {
    if (typeof segment === 'number') text += `[${segment}]`
    else text += `${text === '' ? '' : '.'}${BARE.test(segment) ? segment : JSON.stringify(segment)}`
  }
  return text === '' ? '(top level)' : text
}

/** A TypeBox error path (/routes/POST ~1v1~1messages/match/0) → its segments; digits under a list are indexes. */
export function pointerSegments(pointer: string, root: unknown): KeySegment[] {
  if (pointer === '' || pointer === '/') return []
  const segments: KeySegment[] = []
  let node: unknown = root
  for (const raw of pointer.slice(1).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~')
    if (Array.isArray(node) && /^\d+$/.test(key)) {
      segments.push(Number(key))
      node = node[Number(key)]
    } else {
      segments.push(key)
      node = node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined
    }
  }
  return segments
}
