// An upper bound on the generated text in an OpenAI stream chunk, found by scanning its JSON without parsing it.

/** Containers nested deeper than this are not followed (a chunk nests about six deep). */
const MAX_DEPTH = 30

/**
 * At least the UTF-8 bytes of everything readChunkOutput can return for this chunk (so, a token being at least a byte,
 * at least its tokens), found in one pass over the text that allocates nothing: a progressive hold far from its end
 * needs no more, and parsing each chunk to learn it cost a prepaid stream ~20 µs (bench:ab --kind stream --method
 * prepaid, a parse-free stand-in in turns).
 *
 * What it adds up: every string VALUE nested below the top level (the top level holds id, model, object,
 * system_fingerprint; everything a choice generated is deeper), each UTF-16 unit as 1 byte if ASCII and 3 otherwise,
 * escape sequences at their raw length (never less than what they decode to). Keys are names, not output, and are left
 * out at every depth. No key is looked up by name, so a key spelt with escapes ("d\u0065lta") is still inside the
 * bound. Text it cannot follow (a string or object left open) gives Infinity: the caller then parses and counts.
 */
export function generatedBytesAtMost(json: string): number {
  const length = json.length
  let depth = 0
  /** Bit d set: the container open at depth d is an object (whose strings alternate key, value), else an array. */
  let objects = 0
  /** In an object, the next string is a key (after `{` or `,`), not a value (after `:`). */
  let expectKey = false
  let bytes = 0
  for (let i = 0; i < length; i++) {
    const c = json.charCodeAt(i)
    if (c === 34 /* " */) {
      const isKey = expectKey && depth > 0 && (objects & (1 << (depth - 1))) !== 0
      let j = i + 1
      if (isKey || depth < 2) {
        // Not counted (a key, or the envelope's id, model, fingerprint): only its end is looked for, natively.
        for (;;) {
          j = json.indexOf('"', j)
          if (j === -1) return Number.POSITIVE_INFINITY
          let backslashes = 0
          while (json.charCodeAt(j - 1 - backslashes) === 92) backslashes++
          // An odd run of backslashes escapes this quote: the string goes on.
          if (backslashes % 2 === 0) break
          j++
        }
      } else {
        let weight = 0
        for (; j < length; j++) {
          const s = json.charCodeAt(j)
          if (s === 34) break
          if (s === 92 /* \ */) {
            // The escape and the character it escapes, at their raw length: \n is 2 (decodes to 1), \u00e9 is 6 (to 2).
            j++
            weight += 2
            continue
          }
          weight += s < 0x80 ? 1 : 3
        }
        if (j >= length) return Number.POSITIVE_INFINITY
        bytes += weight
      }
      i = j
      continue
    }
    if (c === 123 /* { */ || c === 91 /* [ */) {
      // Deeper than a chunk ever nests: not followed, the caller parses.
      if (depth === MAX_DEPTH) return Number.POSITIVE_INFINITY
      if (c === 123) objects |= 1 << depth
      else objects &= ~(1 << depth)
      depth++
      expectKey = c === 123
    } else if (c === 125 /* } */ || c === 93 /* ] */) {
      if (depth === 0) return Number.POSITIVE_INFINITY
      depth--
    } else if (c === 58 /* : */) {
      expectKey = false
    } else if (c === 44 /* , */) {
      expectKey = depth > 0 && (objects & (1 << (depth - 1))) !== 0
    }
  }
  return depth === 0 ? bytes : Number.POSITIVE_INFINITY
}
