// The providers built once at boot from config, looked up by the catalog model's provider id.
import type { Config } from '../config'
import type { ProviderId } from '../pricing/catalog'
import { createAnthropicAdapter } from './anthropic'
import { createGoogleAdapter } from './google'
import { createMockAdapter } from './mock'
import { createOpenAiAdapter } from './openai'
import { createGoogleEmbeddings } from './google/embeddings'
import type { MediaProviders } from './media'
import { createMockEmbeddings, createMockImages } from './mock/media'
import { createOpenAiEmbeddings } from './openai/embeddings'
import { createOpenAiImages } from './openai/images'
import type { ProviderAdapter } from './types'

export type ProviderRegistry = Readonly<Record<ProviderId, ProviderAdapter>>

export function buildProviders(config: Pick<Config, 'providers'>): ProviderRegistry {
  return Object.freeze({
    openai: createOpenAiAdapter(config.providers.openai),
    anthropic: createAnthropicAdapter(config.providers.anthropic),
    google: createGoogleAdapter(config.providers.google),
    mock: createMockAdapter(),
  })
}

/** The embedding and image upstreams; a provider missing here serves no model of that kind. */
export function buildMediaProviders(config: Pick<Config, 'providers'>): MediaProviders {
  return Object.freeze({
    embeddings: Object.freeze({
      openai: createOpenAiEmbeddings(config.providers.openai),
      google: createGoogleEmbeddings(config.providers.google),
      mock: createMockEmbeddings(),
    }),
    images: Object.freeze({ openai: createOpenAiImages(config.providers.openai), mock: createMockImages() }),
  })
}
