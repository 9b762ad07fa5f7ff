// The discovery plugin: GET /.well-known/x402 lists the paid routes, their prices, the accepted payments and the facilitator (mounted only with gateway.discovery: true).
import { Elysia } from 'elysia'
import { discoveryDocument, withOrigin, type DiscoveryInput } from './service'

export type DiscoveryOptions = DiscoveryInput

/** Public, as the prices in a 402 are; cached briefly since the file only changes with a restart. */
export function discoveryPlugin(options: DiscoveryOptions) {
  const document = discoveryDocument(options)
  return new Elysia({ name: 'discovery' }).get(
    '/.well-known/x402',
    ({ request, set }) => {
      set.headers['cache-control'] = 'public, max-age=60'
      return withOrigin(document, new URL(request.url).origin)
    },
    { detail: { tags: ['x402'], summary: 'x402 discovery: every paid route with its pricing, the accepted networks and assets, payTo and the facilitator' } },
  )
}
