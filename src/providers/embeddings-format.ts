// OpenAI's embeddings answer built from plain vectors (for upstreams that speak another format, and the mock).

/** A vector as OpenAI sends it with encoding_format "base64": its float32 values, little-endian, base64-encoded. */
export function float32Base64(vector: readonly number[]): string {
  const bytes = new Uint8Array(vector.length * 4)
  const view = new DataView(bytes.buffer)
  vector.forEach((value, i) => view.setFloat32(i * 4, value, true))
  return Buffer.from(bytes).toString('base64')
}

export function embeddingsJson(vectors: readonly (readonly number[])[], model: string, promptTokens: number, format: 'float' | 'base64'): string {
  return JSON.stringify({
    object: 'list',
    data: vectors.map((vector, index) => ({ object: 'embedding', index, embedding: format === 'base64' ? float32Base64(vector) : vector })),
    model,
    usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
  })
}
