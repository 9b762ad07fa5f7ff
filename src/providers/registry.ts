// The providers built once at boot from config, looked up by the catalog model's provider id.
import type { Config } from '../config'
import type { ProviderId } from '../pricing/catalog'
import { createAnthropicAdapter } from './anthropic'
import { createGoogleAdapter } from './google'
import { createMockAdapter } from './mock'
import { createOpenAiAdapter } from './openai'
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
