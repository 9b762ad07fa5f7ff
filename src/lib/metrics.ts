// The process's Prometheus metrics (prom-client): every metric defined once here, updated through a few cheap calls.
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client'
import type { UsageRecord } from '../metering/usage-record'
import { TallyCounter, TallyHistogram, type CounterCell, type HistogramCell } from './metric-tallies'

export const registry = new Registry()
collectDefaultMetrics({ register: registry, prefix: 'meterway_process_' })

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300]

// The per-request metrics: tallies (./metric-tallies), one addition each on the request path.
const requests = new TallyCounter(registry, 'meterway_requests_total', 'Requests answered, by route, model and HTTP status', ['route', 'model', 'status'])
const requestSeconds = new TallyHistogram(registry, 'meterway_request_duration_seconds', 'Time from arrival to the end of the answer (a stream: to its last byte), by model', ['model'], LATENCY_BUCKETS)
const firstTokenSeconds = new TallyHistogram(registry, 'meterway_time_to_first_token_seconds', 'Time from arrival to the first byte of the upstream answer, by model', ['model'], LATENCY_BUCKETS)
const tokens = new TallyCounter(registry, 'meterway_tokens_total', 'Tokens billed, by model and kind (input, output, cached_input, cache_write)', ['model', 'kind'])
const costNano = new TallyCounter(registry, 'meterway_cost_nano_usd_total', 'Cost billed in nano-USD, by model', ['model'])
const refusals = new Counter({ name: 'meterway_admission_refusals_total', help: 'Requests admission refused, by reason', labelNames: ['reason'] as const, registers: [registry] })
const streams = new Gauge({ name: 'meterway_streams_in_flight', help: 'Streams being relayed right now', registers: [registry] })
const webhookDeliveries = new Counter({ name: 'meterway_webhook_deliveries_total', help: 'Webhook delivery attempts, by outcome', labelNames: ['outcome'] as const, registers: [registry] })
export const x402Payments = new Counter({ name: 'meterway_x402_payments_total', help: 'x402 payments, by outcome', labelNames: ['outcome'] as const, registers: [registry] })

/** Cells of the per-model metrics, made on a model's first request: a request then costs a few additions. */
interface ModelMetrics {
  byStatus: Map<string, CounterCell>
  duration: HistogramCell
  firstToken: HistogramCell
  input: CounterCell
  output: CounterCell
  cachedInput: CounterCell
  cacheWrite: CounterCell
  cost: CounterCell
}
const perModel = new Map<string, ModelMetrics>()
function modelMetrics(model: string): ModelMetrics {
  let m = perModel.get(model)
  if (!m) {
    m = {
      byStatus: new Map(),
      duration: requestSeconds.cell(model),
      firstToken: firstTokenSeconds.cell(model),
      input: tokens.cell(model, 'input'),
      output: tokens.cell(model, 'output'),
      cachedInput: tokens.cell(model, 'cached_input'),
      cacheWrite: tokens.cell(model, 'cache_write'),
      cost: costNano.cell(model),
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
  if (!child) m.byStatus.set(key, (child = requests.cell(route, model, String(status))))
  child.value++
}

/** A billable request ended: its time, its first token, its tokens and its cost, from its usage record. */
export function countUsage(record: UsageRecord): void {
  const m = modelMetrics(record.model)
  m.duration.observe(record.totalMs / 1000)
  if (record.ttfbMs !== null) m.firstToken.observe(record.ttfbMs / 1000)
  if (record.inputTokens > 0) m.input.value += record.inputTokens
  if (record.outputTokens > 0) m.output.value += record.outputTokens
  if (record.cachedInputTokens > 0) m.cachedInput.value += record.cachedInputTokens
  if (record.cacheWriteTokens > 0) m.cacheWrite.value += record.cacheWriteTokens
  if (record.costNano > 0) m.cost.value += record.costNano
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
