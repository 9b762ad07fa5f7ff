// The embeddings and images adapters read answers as the providers send them (the fixtures), and what they bill when
// an answer lacks usage, carries more images than asked for, or is not the provider's format.
import { describe, expect, test } from 'bun:test'
import { GatewayError } from '../../src/errors'
import { buildCatalog } from '../../src/pricing/catalog'
import { createGoogleEmbeddings } from '../../src/providers/google/embeddings'
import type { EmbeddingsCall, ImagesCall } from '../../src/providers/media'
import { createOpenAiImages } from '../../src/providers/openai/images'
import { readFixture } from '../helpers/fixtures'

const catalog = buildCatalog()
const images = createOpenAiImages({ baseUrl: 'http://upstream/v1', apiKey: 'sk-test-key-000000' })
const imagesCall = (model: string, n = 1): ImagesCall => ({ model: catalog.find(model)!, n, quality: 'medium', size: '1024x1024', body: { prompt: 'x' }, outputTokensPerImage: 1_056 })

describe('openai images', () => {
  test('gpt-image-1: the fixture usage, with the output as image tokens', () => {
    const { usage } = images.read(readFixture('openai.images.gpt-image-1.json'), imagesCall('openai/gpt-image-1'))
    expect(usage).toMatchObject({ inputTokens: 50, imageInputTokens: 0, outputTokens: 1_056, imageOutputTokens: 1_056, images: 1 })
  })

  test('gpt-image-1 without usage: billed the most its images could bill', () => {
    const body = JSON.stringify({ created: 1, data: [{ b64_json: 'x' }, { b64_json: 'y' }] })
    expect(images.read(body, imagesCall('openai/gpt-image-1', 2)).usage).toMatchObject({ outputTokens: 2_112, imageOutputTokens: 2_112, images: 2 })
  })

  test('dall-e-3: no tokens, one image; more images than asked for are not billed', () => {
    expect(images.read(readFixture('openai.images.dall-e-3.json'), imagesCall('openai/dall-e-3')).usage).toMatchObject({ inputTokens: 0, outputTokens: 0, images: 1 })
    const extra = JSON.stringify({ created: 1, data: [{ url: 'a' }, { url: 'b' }] })
    expect(images.read(extra, imagesCall('openai/dall-e-3')).usage?.images).toBe(1)
  })

  test('an answer that is not an image list is a 502', () => {
    expect(() => images.read('<html>', imagesCall('openai/dall-e-3'))).toThrow(GatewayError)
  })
})

describe('gemini batchEmbedContents', () => {
  const gemini = createGoogleEmbeddings({ baseUrl: 'http://upstream', apiKey: 'AIzaTestKey000000' })
  const call = (encodingFormat: 'float' | 'base64'): EmbeddingsCall => ({
    model: catalog.find('google/gemini-embedding-001')!,
    input: { texts: ['a', 'b'] },
    dimensions: undefined,
    encodingFormat,
    body: {},
    promptTokens: 2,
  })

  test('answered in OpenAI format, as floats or as base64 float32, with our count and no provider usage', () => {
    const fixture = JSON.parse(readFixture('gemini.batchEmbedContents.json')) as { embeddings: { values: number[] }[] }
    const asFloat = gemini.read(readFixture('gemini.batchEmbedContents.json'), call('float'))
    expect(asFloat.usage).toBeNull()
    const parsed = JSON.parse(asFloat.body) as { data: { embedding: number[] }[]; usage: { prompt_tokens: number }; model: string }
    expect(parsed.data.map((d) => d.embedding)).toEqual(fixture.embeddings.map((e) => e.values))
    expect(parsed).toMatchObject({ model: 'gemini-embedding-001', usage: { prompt_tokens: 2 } })

    const asBase64 = JSON.parse(gemini.read(readFixture('gemini.batchEmbedContents.json'), call('base64')).body) as { data: { embedding: string }[] }
    const bytes = Buffer.from(asBase64.data[1]!.embedding, 'base64')
    const floats = Array.from(new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4))
    floats.forEach((value, i) => expect(value).toBeCloseTo(fixture.embeddings[1]!.values[i]!, 6))
  })

  test('an answer without vectors is a 502', () => {
    expect(() => gemini.read('{"embeddings":[{"values":"nope"}]}', call('float'))).toThrow(GatewayError)
  })
})
