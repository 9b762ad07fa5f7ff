// The usage chart: one bar per UTC day of the month, stacked by model, drawn as SVG by Observable Plot (served from node_modules); every bar says its day, model and value in aria-label and a tooltip.
import { h } from './dom.js'
import { count } from './format.js'

export const METRICS = {
  cost: { label: 'Cost (USD)', value: (t) => Number(t.cost_usd), show: (t) => `$${t.cost_usd}` },
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
  const tallest = Math.max(0, ...daily.days.map((day) => Object.values(day.by_model).reduce((sum, t) => sum + value(t), 0)))
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
      // Counts are whole: at most one tick per unit, so no "0.5 requests".
      y: { grid: true, label, nice: true, ...(total === 0 ? { domain: [0, 1] } : {}), ...(metric === 'cost' ? {} : { ticks: Math.max(1, Math.min(8, Math.ceil(tallest))), tickFormat: ',d' }) },
      color: { type: 'ordinal', legend: true, domain: daily.models.length ? daily.models : ['no usage'], scheme: 'tableau10' },
      marks: [Plot.barY(rows, { x: 'day', y: 'value', fill: 'model', ariaLabel: 'label', title: 'label', rx: 2 }), Plot.ruleY([0])],
    }),
  )
  if (rows.length === 0) holder.append(h('p', { class: 'empty' }, 'No requests in this period.'))
  return holder
}

/** Lifetime spend per customer, one horizontal bar each (largest first), labelled with the exact amount. */
export function spendChart(customers, width) {
  const Plot = window.Plot
  if (!Plot) return h('p', { class: 'problem' }, 'The chart library did not load.')
  const rows = customers
    .map((c) => ({ customer: c.external_id, spend: Number(c.lifetime_spend_usd), label: `${c.external_id} · $${c.lifetime_spend_usd}` }))
    .sort((a, b) => b.spend - a.spend)
    .slice(0, 20)
  return h(
    'div',
    { id: 'spend-chart', class: 'chart', dataset: { bars: String(rows.length) } },
    Plot.plot({
      width: Math.max(560, width),
      height: 40 + rows.length * 28,
      marginLeft: 140,
      style: { fontSize: '12px', background: 'transparent' },
      x: { grid: true, label: 'Lifetime spend (USD)', nice: true },
      y: { label: null, domain: rows.map((r) => r.customer) },
      marks: [Plot.barX(rows, { y: 'customer', x: 'spend', fill: '#4f46e5', ariaLabel: 'label', title: 'label', rx: 2 }), Plot.ruleX([0])],
    }),
  )
}
