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
  return scan(json, 0, json.length, 0, 0, false, 0) === json.length && scanDepth === 0 ? scanBytes : Number.POSITIVE_INFINITY
}

/**
 * The same bound for the chunks of one stream, cheaper: OpenAI repeats the same envelope (id, object, created, model,
 * system_fingerprint) in front of every chunk of a stream, and it is scanned once. The first chunk's text up to its
 * `"choices"` key is kept with the scan's state there; a later chunk that starts with exactly that text is scanned
 * from there on. The scan reads the text in order and never looks past a string it is in, so its state after the same
 * text is the same: the bound is the one generatedBytesAtMost gives, at a third of the work (its envelope is most of a
 * chunk). One per stream (the translator).
 *
 * Most chunks of a stream go further: the same text around one generated string (`…"delta":{"content":"` and
 * `"},"logprobs":null,"finish_reason":null}]…`). A chunk scanned whole leaves that shape as a template (the text
 * before and after its last generated string, and the bytes each adds); a chunk that starts and ends with the
 * template's text, and whose middle is one string's content (no quote in it that ends the string, no escape cut at its
 * end), is bounded by the template's bytes and its middle's, read a character at a time: the same bound again, since
 * the scan would reach the middle in the same state, weigh it the same, and leave it in the same state. In a loop over
 * the bench's 22 chunks, ~2 µs less a stream; a prepaid stream through the gateway, 0.953 of the full scan's CPU against
 * an identical build's 0.983 (bench:ab --together; a constant bound in its place: 0.945).
 */
export class EnvelopeBound {
  /** The first chunk's text before `"choices"`, null until learnt, '' when the first chunk had no usable one. */
  private envelope: string | null = null
  private depth = 0
  private objects = 0
  private expectKey = false
  private bytes = 0
  /** The template: the text before and after the last generated string of the last chunk scanned whole, and their bytes. */
  private head: string | null = null
  private tail = ''
  private headBytes = 0
  private tailBytes = 0

  atMost(json: string): number {
    const head = this.head
    if (head !== null && json.length >= head.length + this.tail.length && json.startsWith(head) && json.endsWith(this.tail)) {
      const middle = stringContentBytes(json, head.length, json.length - this.tail.length)
      if (middle >= 0) return this.headBytes + middle + this.tailBytes
    }
    lastStringFrom = -1
    const bound = this.scanned(json)
    if (bound !== Number.POSITIVE_INFINITY && lastStringFrom >= 0) {
      this.head = json.slice(0, lastStringFrom)
      this.tail = json.slice(lastStringTo)
      this.headBytes = lastStringBytesBefore
      this.tailBytes = bound - lastStringBytesBefore - lastStringBytes
    }
    return bound
  }

  /** The bound by scanning: from the envelope's state when the chunk starts with it, else all of it. */
  private scanned(json: string): number {
    const envelope = this.envelope
    if (envelope !== null && envelope !== '' && json.startsWith(envelope)) {
      const end = scan(json, envelope.length, json.length, this.depth, this.objects, this.expectKey, this.bytes)
      return end === json.length && scanDepth === 0 ? scanBytes : Number.POSITIVE_INFINITY
    }
    if (envelope === null) this.learn(json)
    lastStringFrom = -1
    return generatedBytesAtMost(json)
  }

  private learn(json: string): void {
    this.envelope = ''
    const cut = json.indexOf('"choices"')
    // Kept only if the scan stops right there, between tokens (not inside a string), in the top-level object.
    if (cut <= 0 || scan(json, 0, cut, 0, 0, false, 0) !== cut || scanDepth !== 1) return
    this.envelope = json.slice(0, cut)
    this.depth = scanDepth
    this.objects = scanObjects
    this.expectKey = scanExpectKey
    this.bytes = scanBytes
  }
}

/**
 * What scan() adds for the content of a counted string in json[from, to), which must end right before its closing
 * quote: -1 if it does not (a quote that ends it earlier, an escape whose character is past `to`).
 */
function stringContentBytes(json: string, from: number, to: number): number {
  let weight = 0
  for (let j = from; j < to; j++) {
    const s = json.charCodeAt(j)
    if (s === 34 /* " */) return -1
    if (s === 92 /* \ */) {
      if (++j >= to) return -1
      weight += 2
      continue
    }
    weight += s < 0x80 ? 1 : 3
  }
  return weight
}

/* The state scan() ends in (module-level, so a scan allocates nothing; JavaScript runs one scan at a time). */
let scanDepth = 0
let scanObjects = 0
let scanExpectKey = false
let scanBytes = 0
/** The last counted string a scan passed: its content's start and end (its closing quote), the bytes before it and its own. */
let lastStringFrom = -1
let lastStringTo = -1
let lastStringBytesBefore = 0
let lastStringBytes = 0

/**
 * Scans json[from, to) from the given state and leaves the state it reached in the scan* variables. Returns where it
 * stopped: `to` when it reached it between tokens; past `to` when a string ran across it; -1 for text it cannot follow.
 */
function scan(json: string, from: number, to: number, depth: number, objects: number, expectKey: boolean, bytes: number): number {
  const length = json.length
  let i = from
  for (; i < to; i++) {
    const c = json.charCodeAt(i)
    if (c === 34 /* " */) {
      const isKey = expectKey && depth > 0 && (objects & (1 << (depth - 1))) !== 0
      let j = i + 1
      if (isKey || depth < 2) {
        // Not counted (a key, or the envelope's id, model, fingerprint): only its end is looked for, natively.
        for (;;) {
          j = json.indexOf('"', j)
          if (j === -1) return -1
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
        if (j >= length) return -1
        lastStringFrom = i + 1
        lastStringTo = j
        lastStringBytesBefore = bytes
        lastStringBytes = weight
        bytes += weight
      }
      i = j
      continue
    }
    if (c === 123 /* { */ || c === 91 /* [ */) {
      // Deeper than a chunk ever nests: not followed, the caller parses.
      if (depth === MAX_DEPTH) return -1
      if (c === 123) objects |= 1 << depth
      else objects &= ~(1 << depth)
      depth++
      expectKey = c === 123
    } else if (c === 125 /* } */ || c === 93 /* ] */) {
      if (depth === 0) return -1
      depth--
    } else if (c === 58 /* : */) {
      expectKey = false
    } else if (c === 44 /* , */) {
      expectKey = depth > 0 && (objects & (1 << (depth - 1))) !== 0
    }
  }
  scanDepth = depth
  scanObjects = objects
  scanExpectKey = expectKey
  scanBytes = bytes
  return i
}
