// The providers of a `type: metered` chat route: whatever the catalog model's provider, the route's own OpenAI-compatible upstream answers.
import type { UpstreamConfig } from '../lib/gateway-config/types'
import type { ProviderId } from '../pricing/catalog'
import { createOpenAiAdapter } from './openai'
import type { ProviderRegistry } from './registry'

const PROVIDERS: readonly ProviderId[] = ['openai', 'anthropic', 'google', 'mock']

/** Every provider id → one OpenAI-format adapter posting to `upstream.url + path` with the upstream's headers. */
export function routeProviders(upstream: UpstreamConfig, path: string): ProviderRegistry {
  const adapter = createOpenAiAdapter({ baseUrl: upstream.url, apiKey: '', route: { url: `${upstream.url}${path}`, headers: upstream.headers } })
  return Object.freeze(Object.fromEntries(PROVIDERS.map((id) => [id, adapter])) as Record<ProviderId, typeof adapter>)
}
