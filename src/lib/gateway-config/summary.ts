// What a loaded config file holds, in words: the boot log line and `bun run validate`'s summary.
import type { Config } from '../../config'
import type { Logger } from '../logger'
import { formatMarkup } from './markup'
import type { GatewayFile, RoutePricing } from './types'

const count = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`

function describePricing(pricing: RoutePricing): string {
  switch (pricing.kind) {
    case 'static':
      return `$${pricing.price.usd} per request`
    case 'match':
      return `${count(pricing.rules.length, 'match rule')}, fallback $${pricing.fallback.usd}`
    case 'token-based':
      return `token-based, ${count(Object.keys(pricing.models).length, 'model')}${pricing.fallback ? `, fallback $${pricing.fallback.usd}` : ''}`
    case 'metered':
      return pricing.markupBps ? `metered by tokens, markup ${formatMarkup(pricing.markupBps)}` : 'metered by tokens'
  }
}

/** "2 routes, 1 upstream, 1 wallet (base), 3 models overridden". */
export function summarize(file: GatewayFile): string {
  const wallets = file.wallets.length ? ` (${file.wallets.map((w) => w.network).join(', ')})` : ''
  const models = file.models.length ? `, ${count(file.models.length, 'catalog override')}` : ''
  return `${count(file.routes.length, 'route')}, ${count(Object.keys(file.upstreams).length, 'upstream')}, ${count(file.wallets.length, 'wallet')}${wallets}${models}`
}

/** One line per route: "POST /v1/messages → anthropic /v1/messages: 3 match rules, fallback $0.015". */
export function describeRoutes(file: GatewayFile): string[] {
  return file.routes.map((r) => `${r.key} → ${r.upstream} ${r.upstreamPath}: ${describePricing(r.pricing)}`)
}

/** Says at boot which config file was loaded (or none) and what in it looks wrong. */
export function logConfigFile(config: Readonly<Config>, logger: Logger): void {
  const file = config.gatewayFile
  if (!file) {
    logger.info('no gateway config file (--config, GATEWAY_CONFIG or ./meterway.yaml)')
    return
  }
  logger.info('gateway config file loaded', { path: file.path, summary: summarize(file) })
  for (const warning of file.warnings) logger.warn(`gateway config: ${warning}`)
}
