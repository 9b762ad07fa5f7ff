// The providers of a `type: metered` route: whatever the catalog model's provider, the route's own upstream answers (OpenAI-compatible for chat, Anthropic's Messages API for messages).
import type { UpstreamConfig } from '../lib/gateway-config/types'
import type { ProviderId } from '../pricing/catalog'
import { createAnthropicAdapter } from './anthropic'
import { createOpenAiAdapter } from './openai'
import type { ProviderRegistry } from './registry'

const PROVIDERS: readonly ProviderId[] = ['openai', 'anthropic', 'google', 'mock']

/** Every provider id → one adapter of the route's format posting to `upstream.url + path` with the upstream's headers. */
export function routeProviders(upstream: UpstreamConfig, path: string, format: 'openai' | 'anthropic' = 'openai'): ProviderRegistry {
  const route = { url: `${upstream.url}${path}`, headers: upstream.headers }
  const adapter = format === 'anthropic' ? createAnthropicAdapter({ baseUrl: upstream.url, apiKey: '', route }) : createOpenAiAdapter({ baseUrl: upstream.url, apiKey: '', route })
  return Object.freeze(Object.fromEntries(PROVIDERS.map((id) => [id, adapter])) as Record<ProviderId, typeof adapter>)
}
