// Reads a request body under a byte limit: a declared length over it is refused unread, a chunked body is cut at the limit.
import { PayloadTooLargeError } from '../errors'

/**
 * The body's bytes, at most `maxBytes`; over that, PayloadTooLargeError (413) without reading further. A body sent
 * with Content-Length is read in one piece (Bun holds it to that length); one sent chunked is counted as it arrives,
 * so a body without a length can never make us buffer more than the limit.
 */
export async function readBodyBytes(request: Request, maxBytes: number): Promise<Uint8Array> {
  const declared = request.headers.get('content-length')
  if (declared !== null) {
    if (Number(declared) > maxBytes) throw new PayloadTooLargeError(maxBytes)
    return new Uint8Array(await request.arrayBuffer())
  }
  if (!request.body) return new Uint8Array(0)
  const reader = request.body.getReader()
  const chunks: Uint8Array[] = []
  let length = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    length += value.byteLength
    if (length > maxBytes) {
      await reader.cancel().catch(() => {})
      throw new PayloadTooLargeError(maxBytes)
    }
    chunks.push(value)
  }
  if (chunks.length === 1) return chunks[0]!
  const bytes = new Uint8Array(length)
  let offset = 0
  for (const chunk of chunks) {
    bytes.set(chunk, offset)
    offset += chunk.byteLength
  }
  return bytes
}

const utf8 = new TextDecoder()

/** The body as UTF-8 text, at most `maxBytes` (413 beyond). */
export async function readBodyText(request: Request, maxBytes: number): Promise<string> {
  // With a declared length Bun decodes it natively, in one pass (both decodings drop a BOM and replace bad bytes).
  const declared = request.headers.get('content-length')
  if (declared !== null && Number(declared) <= maxBytes) return request.text()
  return utf8.decode(await readBodyBytes(request, maxBytes))
}
