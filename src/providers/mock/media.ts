// Built-in free embedding and image models answered in process: mock/embed gives each input a deterministic unit vector,
// mock/image a 1×1 PNG per image asked for.
import { InvalidRequestError, UpstreamError } from '../../errors'
import { embeddingsJson } from '../embeddings-format'
import type { EmbeddingsAdapter, ImagesAdapter } from '../media'

/** mock/embed's vectors have this many dimensions unless `dimensions` asks for others. */
export const MOCK_EMBEDDING_DIMENSIONS = 16
const MAX_DIMENSIONS = 4_096

/** A transparent 1×1 PNG. */
export const MOCK_PNG_BASE64 = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=='

/** The same input always gives the same unit vector: xorshift64 seeded by a hash of the input. */
export function mockVector(input: string, dimensions: number): number[] {
  let state = BigInt.asUintN(64, BigInt(Bun.hash(input)) || 1n)
  const values: number[] = []
  for (let i = 0; i < dimensions; i++) {
    state ^= BigInt.asUintN(64, state << 13n)
    state ^= state >> 7n
    state ^= BigInt.asUintN(64, state << 17n)
    values.push(Number(state % 2_000_001n) / 1_000_000 - 1)
  }
  const norm = Math.hypot(...values) || 1
  return values.map((value) => value / norm)
}

const failure = () => new UpstreamError('The mock model failed.')
const json = (body: string) => new Response(body, { headers: { 'content-type': 'application/json' } })

export function createMockEmbeddings(): EmbeddingsAdapter {
  return {
    id: 'mock',
    textMargin: 1,
    maxInputs: 2_048,
    takesTokenIds: true,
    // The "request" is the answer itself, decided up front: the mock is its own upstream.
    prepare(call) {
      const dimensions = call.dimensions ?? MOCK_EMBEDDING_DIMENSIONS
      if (dimensions > MAX_DIMENSIONS) throw new InvalidRequestError(`'mock/embed' makes at most ${MAX_DIMENSIONS} dimensions.`, 'dimensions', 'unsupported_value')
      const inputs = 'texts' in call.input ? call.input.texts : call.input.tokenIds.map((ids) => ids.join(','))
      const body = embeddingsJson(inputs.map((input) => mockVector(input, dimensions)), call.model.id, call.promptTokens, call.encodingFormat)
      return { url: `mock:${call.model.upstreamModel}`, headers: {}, body }
    },
    send: async (request) => json(request.body),
    read: (body, call) => ({
      body,
      usage: { inputTokens: call.promptTokens, outputTokens: 0, cachedInputTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 },
    }),
    readError: failure,
  }
}

export function createMockImages(): ImagesAdapter {
  return {
    id: 'mock',
    textMargin: 1,
    prepare(call) {
      const asUrl = call.body.response_format === 'url'
      const image = asUrl ? { url: `data:image/png;base64,${MOCK_PNG_BASE64}` } : { b64_json: MOCK_PNG_BASE64 }
      const body = JSON.stringify({ created: Math.floor(Date.now() / 1000), data: Array.from({ length: call.n }, () => image), size: call.size, quality: call.quality })
      return { url: `mock:${call.model.upstreamModel}`, headers: {}, body }
    },
    send: async (request) => json(request.body),
    read: (body, call) => ({
      body,
      usage: { inputTokens: 0, outputTokens: 0, cachedInputTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0, images: call.n },
    }),
    readError: failure,
  }
}
