// Views of a project's usage and money: the daily usage chart per model (with month, mode, customer and metric pickers) and the ledger (wallet totals, top-ups, margin, entries).
import { usageChart, METRICS } from './chart.js'
import { badge, h, mount, panel, shown, stat, table } from './dom.js'
import { count, sumUsd, usd, when, thisMonth } from './format.js'

const modePicker = (id, value) =>
  h('select', { id, 'aria-label': 'Mode' }, [['', 'Live and test'], ['live', 'Live'], ['test', 'Test']].map(([v, text]) => h('option', { value: v, selected: v === (value ?? '') }, text)))

export async function renderUsage(root, state, project, params) {
  const customers = (await state.api.customers(project.id)).data
  const period = h('input', { id: 'usage-period', type: 'month', value: params.period ?? thisMonth(), 'aria-label': 'Month' })
  const mode = modePicker('usage-mode', params.mode)
  const customer = h(
    'select',
    { id: 'usage-customer', 'aria-label': 'Customer' },
    h('option', { value: '' }, 'All customers'),
    customers.map((c) => h('option', { value: c.id, selected: c.id === params.customer }, `${c.external_id} (${c.mode})`)),
  )
  let metric = METRICS[params.metric] ? params.metric : 'cost'
  const metricButtons = h(
    'div',
    { class: 'segmented', role: 'group', 'aria-label': 'Metric' },
    Object.entries(METRICS).map(([id, m]) => h('button', { type: 'button', id: `metric-${id}`, class: id === metric ? 'active' : null, onclick: shown(() => ((metric = id), draw())) }, m.label.replace(/ \(.*\)/, ''))),
  )
  const body = h('div', { id: 'usage-body' })
  mount(root, h('div', { class: 'toolbar' }, period, mode, customer, metricButtons), body)
  for (const input of [period, mode, customer]) input.addEventListener('change', shown(draw))

  async function draw() {
    for (const button of metricButtons.children) button.classList.toggle('active', button.id === `metric-${metric}`)
    const daily = await state.api.dailyUsage(project.id, { period: period.value || thisMonth(), mode: mode.value, end_customer_id: customer.value })
    const models = daily.models.map((model) => {
      const totals = { requests: 0, input: 0, output: 0, cost: [] }
      for (const day of daily.days) {
        const t = day.by_model[model]
        if (!t) continue
        totals.requests += t.requests
        totals.input += t.input
        totals.output += t.output
        totals.cost.push(t.cost_usd)
      }
      return { model, ...totals }
    })
    const chosen = customers.find((c) => c.id === customer.value)
    mount(
      body,
      h(
        'div',
        { class: 'stats' },
        stat('Cost', usd(daily.totals.cost_usd), chosen ? `${chosen.external_id}'s wallet, before markup` : 'debited from wallets, before markup'),
        stat('Requests', count(daily.totals.requests)),
        stat('Input tokens', count(daily.totals.input)),
        stat('Output tokens', count(daily.totals.output)),
      ),
      panel(`${METRICS[metric].label} per day, by model — ${daily.period_start.slice(0, 7)}${chosen ? ` — ${chosen.external_id}` : ''}`, null, usageChart(daily, metric, body.clientWidth - 40)),
      panel(
        'By model',
        null,
        table(
          models,
          [
            ['Model', (m) => h('code', {}, m.model)],
            ['Requests', (m) => count(m.requests), { num: true }],
            ['Input tokens', (m) => count(m.input), { num: true }],
            ['Output tokens', (m) => count(m.output), { num: true }],
            ['Cost', (m) => usd(sumUsd(m.cost)), { num: true }],
          ],
          { empty: 'No requests in this period.', rowAttrs: (m) => ({ dataset: { model: m.model, requests: String(m.requests) } }) },
        ),
      ),
    )
  }
  await draw()
}

export async function renderLedger(root, state, project, params) {
  const mode = modePicker('ledger-mode', params.mode)
  const body = h('div', {})
  mount(root, h('div', { class: 'toolbar' }, mode), body)
  mode.addEventListener('change', shown(draw))
  async function draw() {
    const ledger = await state.api.ledger(project.id, { mode: mode.value })
    mount(
      body,
      h(
        'div',
        { class: 'stats' },
        stat('Credited to wallets', usd(ledger.wallets.credited_usd), 'top-ups (net) and grants'),
        stat('Spent by wallets', usd(ledger.wallets.spent_usd), 'usage debits'),
        stat('Held by wallets', usd(ledger.wallets.balance_usd), 'balance left'),
        h(
          'div',
          { id: 'ledger-margin' },
          stat('Margin earned', usd(ledger.margin.net_usd), h('span', {}, `${ledger.markup_bps / 100} % markup on live top-ups${ledger.margin.refunded_usd === '0.00' ? '' : `, less ${usd(ledger.margin.refunded_usd)} refunded`} · `, h('a', { href: '#/payouts' }, 'pay out'))),
        ),
      ),
      panel(
        'Top-ups',
        null,
        table(
          ledger.top_ups,
          [
            ['When', (t) => when(t.created_at)],
            ['Customer', (t) => t.external_id],
            ['Mode', (t) => badge(t.mode, t.mode)],
            ['Paid', (t) => usd(t.amount_usd), { num: true }],
            ['Credited', (t) => usd(t.net_usd), { num: true }],
            ['Margin', (t) => usd(t.margin_usd), { num: true }],
            ['Refunded', (t) => (t.refunded_usd === '0.00' ? '—' : usd(t.refunded_usd)), { num: true }],
            ['PaymentIntent', (t) => h('code', {}, t.payment_intent_id)],
          ],
          { empty: 'No top-up yet.' },
        ),
      ),
      panel(
        'Margin',
        null,
        table(
          ledger.margin_entries,
          [
            ['When', (m) => when(m.created_at)],
            ['Kind', (m) => badge(m.kind.replace('_', ' '), m.amount_usd.startsWith('-') ? 'off' : 'ok')],
            ['Amount', (m) => usd(m.amount_usd), { num: true }],
            ['Reference', (m) => h('code', {}, m.payment_intent_id ?? m.reference)],
          ],
          { empty: 'No margin yet: live top-ups earn it.' },
        ),
      ),
      panel(
        'Wallet entries',
        null,
        table(
          ledger.entries,
          [
            ['When', (e) => when(e.created_at)],
            ['Customer', (e) => e.external_id],
            ['Mode', (e) => badge(e.mode, e.mode)],
            ['Kind', (e) => badge(e.kind, e.kind === 'usage' ? '' : 'ok')],
            ['Amount', (e) => usd(e.amount_usd), { num: true }],
            ['Reason', (e) => e.reason || '—'],
            ['Reference', (e) => h('code', { class: 'excerpt' }, e.reference)],
          ],
          { empty: 'No wallet entry yet.', rowAttrs: (e) => ({ dataset: { kind: e.kind } }) },
        ),
      ),
    )
  }
  await draw()
}
