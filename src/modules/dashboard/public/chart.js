// The usage chart: one bar per UTC day of the month, stacked by model, drawn as SVG by Observable Plot (served from node_modules); every bar says its day, model and value in aria-label and a tooltip.
import { h } from './dom.js'
import { count, usd } from './format.js'

export const METRICS = {
  cost: { label: 'Cost (USD)', value: (t) => Number(t.cost_usd), show: (t) => usd(t.cost_usd) },
  requests: { label: 'Requests', value: (t) => t.requests, show: (t) => `${count(t.requests)} request${t.requests === 1 ? '' : 's'}` },
  tokens: { label: 'Tokens (input + output)', value: (t) => t.input + t.output, show: (t) => `${count(t.input + t.output)} tokens` },
}

/** `daily` is GET /v1/projects/{id}/usage/daily; `metric` a key of METRICS. */
export function usageChart(daily, metric, width) {
  const { label, value, show } = METRICS[metric]
  const rows = []
  for (const day of daily.days) {
    for (const model of daily.models) {
      const totals = day.by_model[model]
      if (!totals || value(totals) <= 0) continue
      rows.push({ day: day.date, model, value: value(totals), label: `${day.date} · ${model} · ${show(totals)}` })
    }
  }
  const total = rows.reduce((sum, row) => sum + row.value, 0)
  const holder = h('div', { id: 'usage-chart', class: 'chart', dataset: { metric, bars: String(rows.length), total: String(total) } })
  const Plot = window.Plot
  if (!Plot) {
    holder.append(h('p', { class: 'problem' }, 'The chart library did not load.'))
    return holder
  }
  const days = daily.days.map((d) => d.date)
  holder.append(
    Plot.plot({
      width: Math.max(560, width),
      height: 320,
      marginLeft: 70,
      marginBottom: 40,
      style: { fontSize: '12px', background: 'transparent' },
      x: { type: 'band', domain: days, label: null, padding: 0.2, tickFormat: (d) => String(Number(d.slice(8))), ticks: days.filter((_, i) => i % 2 === 0) },
      y: { grid: true, label, nice: true, ...(total === 0 ? { domain: [0, 1] } : {}) },
      color: { type: 'ordinal', legend: true, domain: daily.models.length ? daily.models : ['no usage'], scheme: 'tableau10' },
      marks: [Plot.barY(rows, { x: 'day', y: 'value', fill: 'model', ariaLabel: 'label', title: 'label', rx: 2 }), Plot.ruleY([0])],
    }),
  )
  if (rows.length === 0) holder.append(h('p', { class: 'empty' }, 'No requests in this period.'))
  return holder
}
