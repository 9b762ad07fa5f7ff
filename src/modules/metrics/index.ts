// The metrics plugin: GET /metrics in Prometheus's text format, behind METRICS_TOKEN when one is set.
import { Elysia } from 'elysia'
import { registry } from '../../lib/metrics'
import { adminGuard } from '../auth/admin-guard'
import type { FailedAttempts } from '../auth/failed-attempts'

export interface MetricsOptions {
  /** Empty: /metrics is open (keep it on a private network); else `Authorization: Bearer <token>`. */
  token: string
  failedAttempts?: FailedAttempts
}

export function metricsPlugin({ token, failedAttempts }: MetricsOptions) {
  const guard = token === '' ? null : adminGuard(token, failedAttempts, 'metrics token (METRICS_TOKEN)')
  return new Elysia({ name: 'metrics' }).get(
    '/metrics',
    async ({ headers, request }) => {
      guard?.({ headers, request })
      return new Response(await registry.metrics(), { headers: { 'content-type': registry.contentType } })
    },
    {
      detail: {
        tags: ['health'],
        summary: 'Prometheus metrics',
        description: 'Requests, latency and time to first token, tokens and cost by model, admission refusals, streams in flight, queues, webhook deliveries, Stripe reporting lag.',
      },
    },
  )
}
