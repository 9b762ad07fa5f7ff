// Views of a project's people and hooks: its end customers with balances and lifetime spend, and its webhook endpoints with their delivery logs.
import { badge, h, mount, panel, shown, stat, table } from './dom.js'
import { spendChart } from './chart.js'
import { count, sumUsd, usd, when } from './format.js'

export async function renderCustomers(root, state, project) {
  const { data: customers, has_more } = await state.api.customers(project.id)
  const live = customers.filter((c) => c.mode === 'live')
  mount(
    root,
    h(
      'div',
      { class: 'stats' },
      stat('Customers', count(customers.length) + (has_more ? '+' : ''), `${live.length} live · ${customers.length - live.length} test`),
      stat('Live balances', usd(sumUsd(live.map((c) => c.wallet.balance_usd))), 'what live wallets hold now'),
      stat('Live lifetime spend', usd(sumUsd(live.map((c) => c.lifetime_spend_usd))), 'usage debited, ever'),
      stat('Live lifetime top-ups', usd(sumUsd(live.map((c) => c.lifetime_topped_up_usd))), 'credits, ever'),
    ),
    live.length ? panel('Lifetime spend per live customer', null, spendChart(live, root.clientWidth - 40)) : null,
    panel(
      'End customers',
      null,
      table(
        customers,
        [
          ['Customer', (c) => h('div', {}, h('strong', {}, c.external_id), c.email ? h('div', { class: 'muted' }, c.email) : null)],
          ['Mode', (c) => badge(c.mode, c.mode)],
          ['Balance', (c) => usd(c.wallet.balance_usd), { num: true }],
          ['Lifetime spend', (c) => usd(c.lifetime_spend_usd), { num: true }],
          ['Lifetime top-ups', (c) => usd(c.lifetime_topped_up_usd), { num: true }],
          ['Wallet', (c) => (c.wallet.status === 'active' ? badge('active', 'ok') : badge('frozen', 'off'))],
          ['Since', (c) => when(c.created_at)],
          ['', (c) => h('a', { href: `#/p/${encodeURIComponent(project.id)}/usage?customer=${encodeURIComponent(c.id)}`, class: 'customer-usage' }, 'Usage chart →')],
        ],
        { empty: 'No end customer yet: they appear when your backend mints their first session.', rowAttrs: (c) => ({ dataset: { customer: c.id, externalId: c.external_id } }) },
      ),
    ),
  )
}

export async function renderWebhooks(root, state, project) {
  const endpoints = (await state.api.webhookEndpoints(project.id)).data
  const log = h('div', { id: 'deliveries' })
  const show = async (endpoint) => {
    const deliveries = (await state.api.deliveries(project.id, endpoint.id)).data
    mount(
      log,
      panel(
        `Deliveries to ${endpoint.url}`,
        null,
        table(
          deliveries,
          [
            ['When', (d) => when(d.created_at)],
            ['Event', (d) => h('code', {}, d.event_type)],
            ['Attempt', (d) => d.attempt, { num: true }],
            ['Status', (d) => (d.status_code === null ? badge(d.error ?? 'no answer', 'off') : badge(String(d.status_code), d.status_code < 300 ? 'ok' : 'off'))],
            ['Latency', (d) => `${d.latency_ms} ms`, { num: true }],
            ['Response', (d) => h('code', { class: 'excerpt' }, d.response_excerpt || '—')],
          ],
          { empty: 'No delivery yet.' },
        ),
      ),
    )
  }
  mount(
    root,
    panel(
      'Webhook endpoints',
      null,
      h('p', { class: 'hint' }, 'Your backend registers endpoints with its secret key (POST /v1/webhook_endpoints); live keys get live events, test keys test events.'),
      table(
        endpoints,
        [
          ['URL', (e) => h('code', {}, e.url)],
          ['Mode', (e) => badge(e.mode, e.mode)],
          ['Events', (e) => e.enabled_events.join(', ')],
          ['Status', (e) => (e.status === 'enabled' ? badge('enabled', 'ok') : badge(`disabled${e.disabled_reason ? `: ${e.disabled_reason}` : ''}`, 'off'))],
          ['Last 24 h', (e) => `${count(e.deliveries_24h)} sent · ${count(e.failed_24h)} failed`],
          ['Last answer', (e) => (e.last_delivery_at ? `${e.last_status_code ?? 'none'} at ${when(e.last_delivery_at)}` : '—')],
          ['', (e) => h('button', { class: 'ghost small', onclick: shown(() => show(e)) }, 'Deliveries')],
        ],
        { empty: 'No webhook endpoint yet.' },
      ),
    ),
    log,
  )
}
