// Per-request metrics as plain numbers: a counter child is one addition, a histogram observation a bucket search and three; prom-client's registry reads them when scraped.
import type { Registry } from 'prom-client'

/**
 * prom-client's label children re-hash and re-validate their labels on every inc() and observe(): on the chat route
 * that was ~4% of the gateway's CPU (bun --cpu-prof-md, bench/run.ts). These keep each label set's numbers in an
 * object made once, and hand prom-client's registry the same values, in the same exposition, when it is scraped.
 */
interface Exported {
  name: string
  help: string
  type: 'counter' | 'histogram'
  values: { labels: Record<string, string | number>; sharedLabels?: Record<string, string>; value: number; metricName?: string }[]
  aggregator: 'sum'
}

function labelsOf(names: readonly string[], values: readonly string[]): Record<string, string> {
  const labels: Record<string, string> = {}
  names.forEach((name, i) => (labels[name] = values[i]!))
  return labels
}

export interface CounterCell {
  value: number
}

export class TallyCounter {
  readonly type = 'counter'
  private readonly cells = new Map<string, { labels: Record<string, string>; cell: CounterCell }>()

  constructor(registry: Registry, readonly name: string, readonly help: string, private readonly labelNames: readonly string[]) {
    registry.registerMetric(this as never)
  }

  /** The cell of one label set (made once): add to its value. */
  cell(...labelValues: string[]): CounterCell {
    const key = labelValues.join('\u0000')
    let entry = this.cells.get(key)
    if (!entry) this.cells.set(key, (entry = { labels: labelsOf(this.labelNames, labelValues), cell: { value: 0 } }))
    return entry.cell
  }

  get(): Exported {
    return { name: this.name, help: this.help, type: 'counter', values: [...this.cells.values()].map(({ labels, cell }) => ({ labels, value: cell.value })), aggregator: 'sum' }
  }

  reset(): void {
    for (const { cell } of this.cells.values()) cell.value = 0
  }
}

export class HistogramCell {
  sum = 0
  count = 0
  readonly buckets: Float64Array

  constructor(private readonly bounds: readonly number[]) {
    this.buckets = new Float64Array(bounds.length)
  }

  observe(value: number): void {
    if (!Number.isFinite(value)) return
    this.sum += value
    this.count++
    const bounds = this.bounds
    for (let i = 0; i < bounds.length; i++) {
      if (value <= bounds[i]!) {
        this.buckets[i]!++
        return
      }
    }
  }
}

export class TallyHistogram {
  readonly type = 'histogram'
  private readonly cells = new Map<string, { labels: Record<string, string>; cell: HistogramCell }>()

  constructor(registry: Registry, readonly name: string, readonly help: string, private readonly labelNames: readonly string[], private readonly bounds: readonly number[]) {
    registry.registerMetric(this as never)
  }

  cell(...labelValues: string[]): HistogramCell {
    const key = labelValues.join('\u0000')
    let entry = this.cells.get(key)
    if (!entry) this.cells.set(key, (entry = { labels: labelsOf(this.labelNames, labelValues), cell: new HistogramCell(this.bounds) }))
    return entry.cell
  }

  /** As prom-client's Histogram exports it: cumulative buckets with `le`, then +Inf, _sum and _count, per label set. */
  getForPromString(): Exported {
    const values: Exported['values'] = []
    for (const { labels, cell } of this.cells.values()) {
      let cumulative = 0
      this.bounds.forEach((bound, i) => {
        cumulative += cell.buckets[i]!
        values.push({ labels: { le: bound }, sharedLabels: labels, value: cumulative, metricName: `${this.name}_bucket` })
      })
      values.push({ labels: { le: '+Inf' }, sharedLabels: labels, value: cell.count, metricName: `${this.name}_bucket` })
      values.push({ labels: {}, sharedLabels: labels, value: cell.sum, metricName: `${this.name}_sum` })
      values.push({ labels: {}, sharedLabels: labels, value: cell.count, metricName: `${this.name}_count` })
    }
    return { name: this.name, help: this.help, type: 'histogram', values, aggregator: 'sum' }
  }

  /** As JSON (getMetricsAsJSON): each value's labels with its shared labels folded in, as prom-client does. */
  get(): Exported {
    const data = this.getForPromString()
    data.values = data.values.map(({ labels, sharedLabels, ...rest }) => ({ ...rest, labels: { ...labels, ...sharedLabels } }))
    return data
  }

  reset(): void {
    for (const { cell } of this.cells.values()) {
      cell.sum = 0
      cell.count = 0
      cell.buckets.fill(0)
    }
  }
}
