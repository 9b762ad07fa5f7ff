// The payouts view: the account's Stripe Connect status, onboarding through Stripe's hosted page, and a payout of the accrued margin.
import { badge, h, mount, panel, stat, table, toast } from './dom.js'
import { usd, when } from './format.js'

/** Stripe transfers at least this much (POST /v1/connect/payouts refuses less). */
const MINIMUM_USD = 1

/** A payout moves whole cents: "2.006666667" pays "2.00" and leaves the rest for the next one. */
const wholeCents = (amount) => {
  const [whole, fraction = ''] = String(amount).split('.')
  return `${whole}.${fraction.padEnd(2, '0').slice(0, 2)}`
}

export async function renderPayouts(root, state) {
  let status
  try {
    status = await state.api.connectStatus()
  } catch (error) {
    if (error.status === 401) throw error
    const why = error.status === 404 ? 'Payouts are not available on this gateway (Stripe Connect is not set up).' : error.message
    return mount(root, h('h1', {}, 'Payouts'), h('p', { class: 'problem', role: 'alert' }, why))
  }
  const result = h('div', { id: 'payout-result' })
  const payable = wholeCents(status.margin_balance_usd)
  const margin = Number(payable)
  const payouts = status.account_id ? (await state.api.payouts()).data : []
  const onboard = async () => {
    try {
      const link = await state.api.connectOnboard(`${location.origin}/dashboard#/payouts`)
      location.assign(link.url)
    } catch (error) {
      toast(error.message, 'error')
    }
  }
  const payout = async (event) => {
    const button = event.target
    button.disabled = true
    try {
      const paid = await state.api.payout()
      toast(`Paid out ${usd(paid.amount_usd)}.`)
      await renderPayouts(root, state)
      mount(
        root.querySelector('#payout-result'),
        panel('Last payout', null, h('dl', { class: 'facts' }, h('dt', {}, 'Amount'), h('dd', { id: 'payout-amount' }, usd(paid.amount_usd)), h('dt', {}, 'Payout'), h('dd', {}, h('code', {}, paid.id)), h('dt', {}, 'Stripe transfer'), h('dd', {}, h('code', {}, paid.transfer_id)), h('dt', {}, 'To'), h('dd', {}, h('code', {}, paid.destination)), h('dt', {}, 'When'), h('dd', {}, when(paid.created_at)))),
      )
    } catch (error) {
      button.disabled = false
      toast(error.message, 'error')
    }
  }
  const canPay = status.onboarded && status.payouts_enabled && margin >= MINIMUM_USD
  mount(
    root,
    h('h1', {}, 'Payouts'),
    h(
      'div',
      { class: 'stats' },
      h('div', { id: 'margin-balance' }, stat('Margin balance', usd(status.margin_balance_usd), 'your markup on live top-ups, not yet paid out')),
      stat('Stripe account', status.account_id ? h('code', {}, status.account_id) : 'not set up'),
      h('div', { id: 'connect-onboarded' }, stat('Onboarding', status.onboarded ? badge('complete', 'ok') : badge('not finished', 'off'))),
      stat('Payouts', status.payouts_enabled ? badge('enabled', 'ok') : badge('not enabled', 'off')),
    ),
    panel(
      'Stripe Connect',
      null,
      status.onboarded
        ? h(
            'div',
            { class: 'row' },
            h('button', { class: 'primary', id: 'payout', disabled: !canPay, onclick: payout }, `Pay out ${usd(payable)}`),
            canPay ? null : h('span', { class: 'hint' }, status.payouts_enabled ? `Payouts start at ${usd(String(MINIMUM_USD))}.` : 'Stripe has not enabled payouts on the account yet.'),
          )
        : h('div', { class: 'row' }, h('button', { class: 'primary', id: 'onboard', onclick: onboard }, status.account_id ? 'Finish onboarding with Stripe' : 'Set up payouts with Stripe'), h('span', { class: 'hint' }, 'Stripe collects your payout details on its own page, then sends you back here.')),
    ),
    result,
    panel(
      'Payouts',
      null,
      table(
        payouts,
        [
          ['When', (p) => when(p.created_at)],
          ['Amount', (p) => usd(p.amount_usd), { num: true }],
          ['Status', (p) => badge(p.status, p.status === 'paid' ? 'ok' : p.status === 'failed' ? 'off' : '')],
          ['Stripe transfer', (p) => (p.transfer_id ? h('code', {}, p.transfer_id) : p.failure_reason ?? '—')],
          ['Payout', (p) => h('code', {}, p.id)],
        ],
        { empty: 'No payout yet.', rowAttrs: (p) => ({ dataset: { payout: p.id, status: p.status } }) },
      ),
    ),
  )
}
