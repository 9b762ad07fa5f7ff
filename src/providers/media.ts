// The interfaces embedding and image upstreams implement (one file per provider folder), and their registry built at boot.
import type { GatewayError } from '../errors'
import type { CatalogModel, ProviderId } from '../pricing/catalog'
import type { ProviderUsage, UpstreamRequest } from './types'

/** What an embeddings request asks for, validated: texts, or token ids where the provider takes them. */
export interface EmbeddingsCall {
  model: CatalogModel
  input: { texts: string[] } | { tokenIds: number[][] }
  dimensions: number | undefined
  encodingFormat: 'float' | 'base64'
  /** The client's body, for fields passed through as they are (OpenAI: user). */
  body: Record<string, unknown>
  /** Our count of the input (reported as usage where the provider reports none). */
  promptTokens: number
}

/** The answer in OpenAI's embeddings format, and the provider's usage (null: it reports none; our count is billed). */
export interface MediaResult {
  body: string
  usage: ProviderUsage | null
}

export interface EmbeddingsAdapter {
  readonly id: ProviderId
  /** Our o200k count × this covers the provider's own tokenizer (the chat profile's margin). */
  readonly textMargin: number
  /** Inputs one request may carry. */
  readonly maxInputs: number
  /** Takes arrays of token ids as input (OpenAI's models count them as they are). */
  readonly takesTokenIds: boolean
  /** Builds the upstream request before admission; throws InvalidRequestError for what the provider cannot do. */
  prepare(call: EmbeddingsCall): UpstreamRequest
  send(request: UpstreamRequest, signal: AbortSignal): Promise<Response>
  read(body: string, call: EmbeddingsCall): MediaResult
  readError(status: number, body: string, headers: Headers): GatewayError
}

/** An image generation request, validated against the model's table. */
export interface ImagesCall {
  model: CatalogModel
  n: number
  quality: string
  size: string
  /** The client's body, for fields passed through as they are (style, background, output_format, user, ...). */
  body: Record<string, unknown>
  /** Token-billed models: the most output tokens one image may bill, used if the provider reports no usage. */
  outputTokensPerImage: number
}

export interface ImagesAdapter {
  readonly id: ProviderId
  readonly textMargin: number
  prepare(call: ImagesCall): UpstreamRequest
  send(request: UpstreamRequest, signal: AbortSignal): Promise<Response>
  /** The OpenAI images JSON for the client, and the usage: tokens for token-billed models, `images` for per-image ones. */
  read(body: string, call: ImagesCall): MediaResult
  readError(status: number, body: string, headers: Headers): GatewayError
}

export interface MediaProviders {
  embeddings: Readonly<Partial<Record<ProviderId, EmbeddingsAdapter>>>
  images: Readonly<Partial<Record<ProviderId, ImagesAdapter>>>
}
