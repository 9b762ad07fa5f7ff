// The process's Prometheus metrics (prom-client): every metric defined once here, updated through a few cheap calls.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import type { UsageRecord } from '../metering/usage-record'

export const registry = new Registry()
collectDefaultMetrics({ register: registry, prefix: 'meterway_process_' })

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300]

const requests = new Counter({ name: 'meterway_requests_total', help: 'Requests answered, by route, model and HTTP status', labelNames: ['route', 'model', 'status'] as const, registers: [registry] })
const requestSeconds = new Histogram({
  name: 'meterway_request_duration_seconds',
  help: 'Time from arrival to the end of the answer (a stream: to its last byte), by model',
  labelNames: ['model'] as const,
  buckets: LATENCY_BUCKETS,
  registers: [registry],
})
const firstTokenSeconds = new Histogram({
  name: 'meterway_time_to_first_token_seconds',
  help: 'Time from arrival to the first byte of the upstream answer, by model',
  labelNames: ['model'] as const,
  buckets: LATENCY_BUCKETS,
  registers: [registry],
})
const tokens = new Counter({ name: 'meterway_tokens_total', help: 'Tokens billed, by model and kind (input, output, cached_input, cache_write)', labelNames: ['model', 'kind'] as const, registers: [registry] })
const costNano = new Counter({ name: 'meterway_cost_nano_usd_total', help: 'Cost billed in nano-USD, by model', labelNames: ['model'] as const, registers: [registry] })
const refusals = new Counter({ name: 'meterway_admission_refusals_total', help: 'Requests admission refused, by reason', labelNames: ['reason'] as const, registers: [registry] })
const streams = new Gauge({ name: 'meterway_streams_in_flight', help: 'Streams being relayed right now', registers: [registry] })
const webhookDeliveries = new Counter({ name: 'meterway_webhook_deliveries_total', help: 'Webhook delivery attempts, by outcome', labelNames: ['outcome'] as const, registers: [registry] })
export const x402Payments = new Counter({ name: 'meterway_x402_payments_total', help: 'x402 payments, by outcome', labelNames: ['outcome'] as const, registers: [registry] })

/** Children of the per-model metrics, made on a model's first request: a request then costs a few increments, no label hashing. */
interface ModelMetrics {
  byStatus: Map<string, Counter.Internal>
  duration: Histogram.Internal<'model'>
  firstToken: Histogram.Internal<'model'>
  input: Counter.Internal
  output: Counter.Internal
  cachedInput: Counter.Internal
  cacheWrite: Counter.Internal
  cost: Counter.Internal
}
const perModel = new Map<string, ModelMetrics>()
function modelMetrics(model: string): ModelMetrics {
  let m = perModel.get(model)
  if (!m) {
    m = {
      byStatus: new Map(),
      duration: requestSeconds.labels(model),
      firstToken: firstTokenSeconds.labels(model),
      input: tokens.labels(model, 'input'),
      output: tokens.labels(model, 'output'),
      cachedInput: tokens.labels(model, 'cached_input'),
      cacheWrite: tokens.labels(model, 'cache_write'),
      cost: costNano.labels(model),
    }
    perModel.set(model, m)
  }
  return m
}

/** A request answered: its route, its model (a catalog id, or `none` when it named none we serve), its status. */
export function countRequest(route: string, model: string, status: number): void {
  const m = modelMetrics(model)
  const key = `${route} ${status}`
  let child = m.byStatus.get(key)
  if (!child) m.byStatus.set(key, (child = requests.labels(route, model, String(status))))
  child.inc()
}

/** A billable request ended: its time, its first token, its tokens and its cost, from its usage record. */
export function countUsage(record: UsageRecord): void {
  const m = modelMetrics(record.model)
  m.duration.observe(record.totalMs / 1000)
  if (record.ttfbMs !== null) m.firstToken.observe(record.ttfbMs / 1000)
  if (record.inputTokens > 0) m.input.inc(record.inputTokens)
  if (record.outputTokens > 0) m.output.inc(record.outputTokens)
  if (record.cachedInputTokens > 0) m.cachedInput.inc(record.cachedInputTokens)
  if (record.cacheWriteTokens > 0) m.cacheWrite.inc(record.cacheWriteTokens)
  if (record.costNano > 0) m.cost.inc(record.costNano)
}

export const countRefusal = (reason: string) => refusals.labels(reason).inc()
export const streamStarted = () => streams.inc()
export const streamEnded = () => streams.dec()
export const countWebhookDelivery = (outcome: string) => webhookDeliveries.labels(outcome).inc()

/** A gauge read when Prometheus scrapes (queue depths, reporting lag): `read` sets its values and may ask Redis or Postgres. */
export function scrapedGauge<L extends string>(name: string, help: string, labelNames: readonly L[], read: (gauge: Gauge<L>) => Promise<void>): Gauge<L> {
  // A second gateway in one process (tests) replaces the first one's reader.
  if (registry.getSingleMetric(name)) registry.removeSingleMetric(name)
  return new Gauge<L>({
    name,
    help,
    labelNames,
    registers: [registry],
    async collect() {
      await read(this)
    },
  })
}
