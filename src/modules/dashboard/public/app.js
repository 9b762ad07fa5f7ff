// The dashboard's entry point: sign-in with the account key, the shell (header, project switcher, tabs) and the hash routes that pick a view.
import { createApi, forgetKey, savedKey, saveKey, signInProblem } from './api.js'
import { renderPayouts } from './connect.js'
import { go, h, mount, toast } from './dom.js'
import { renderLedger, renderUsage } from './money-views.js'
import { renderKeys, renderProjects, renderSettings } from './project.js'
import { renderCustomers, renderWebhooks } from './views.js'

const root = document.getElementById('app')

/** Tabs of one project, in the order shown. */
const TABS = [
  ['usage', 'Usage', renderUsage],
  ['customers', 'Customers', renderCustomers],
  ['ledger', 'Ledger', renderLedger],
  ['keys', 'Keys', renderKeys],
  ['webhooks', 'Webhooks', renderWebhooks],
  ['settings', 'Settings', renderSettings],
]

/** "#/p/proj_1/usage?customer=ecus_2" → { view: 'project', projectId, tab, params }. */
function route() {
  const [path, search = ''] = location.hash.replace(/^#/, '').split('?')
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent)
  const params = Object.fromEntries(new URLSearchParams(search))
  if (parts[0] === 'p' && parts[1]) return { view: 'project', projectId: parts[1], tab: TABS.some(([id]) => id === parts[2]) ? parts[2] : 'usage', params }
  if (parts[0] === 'payouts') return { view: 'payouts', params }
  return { view: 'projects', params }
}

function signIn(message) {
  const input = h('input', { id: 'account-key', type: 'password', autocomplete: 'off', spellcheck: 'false', placeholder: 'mw_live_…', 'aria-label': 'Account key' })
  const problem = h('p', { class: 'problem', role: 'alert', id: 'sign-in-problem' }, message ?? '')
  const submit = async (event) => {
    event.preventDefault()
    const key = input.value.trim()
    if (!key) return mount(problem, 'Paste your account key (mw_live_…) to sign in.')
    const api = createApi(key)
    try {
      const projects = await api.projects()
      saveKey(key)
      start(api, projects.data)
    } catch (error) {
      mount(problem, signInProblem(key, error))
    }
  }
  mount(
    root,
    h(
      'main',
      { class: 'sign-in' },
      h(
        'form',
        { class: 'card', onsubmit: submit },
        h('div', { class: 'brand big' }, 'Meterway'),
        h('p', {}, 'Sign in with your account key to manage your projects, keys, customers and payouts.'),
        h('label', { for: 'account-key' }, 'Account key'),
        input,
        problem,
        h('button', { class: 'primary', type: 'submit', id: 'sign-in' }, 'Sign in'),
        h('p', { class: 'fine' }, 'The key is kept in this tab only (sessionStorage) and sent to this gateway alone.'),
      ),
    ),
  )
  input.focus()
}

function start(api, projects) {
  const state = { api, projects }
  const content = h('main', { class: 'content' })
  const switcher = h('select', { id: 'project-switcher', 'aria-label': 'Project' })
  const header = h(
    'header',
    { class: 'top' },
    h('a', { class: 'brand', href: '#/' }, 'Meterway'),
    switcher,
    h('nav', {}, h('a', { href: '#/', id: 'nav-projects' }, 'Projects'), h('a', { href: '#/payouts', id: 'nav-payouts' }, 'Payouts')),
    h('button', { class: 'ghost', id: 'sign-out', onclick: () => (forgetKey(), (location.hash = ''), signIn()) }, 'Sign out'),
  )
  switcher.addEventListener('change', () => go(switcher.value ? `#/p/${encodeURIComponent(switcher.value)}/usage` : '#/'))
  mount(root, header, content)

  state.refreshProjects = async () => {
    state.projects = (await api.projects()).data
    fillSwitcher()
  }
  function fillSwitcher() {
    const current = route().projectId ?? ''
    mount(switcher, h('option', { value: '' }, 'All projects'), state.projects.map((p) => h('option', { value: p.id }, p.name)))
    switcher.value = current
  }

  async function render() {
    const where = route()
    fillSwitcher()
    for (const link of header.querySelectorAll('nav a')) link.classList.toggle('active', link.getAttribute('href') === `#/${where.view === 'payouts' ? 'payouts' : ''}` && where.view !== 'project')
    try {
      if (where.view === 'payouts') return await renderPayouts(mount(content), state, where.params)
      if (where.view === 'projects') return await renderProjects(mount(content), state)
      const project = state.projects.find((p) => p.id === where.projectId)
      if (!project) return mount(content, h('p', { class: 'empty' }, 'No such project in this account.'), h('a', { href: '#/' }, 'Back to projects'))
      const body = h('div', { class: 'tab-body' })
      mount(
        content,
        h('div', { class: 'project-head' }, h('h1', {}, project.name), h('code', { class: 'muted' }, project.id)),
        h(
          'nav',
          { class: 'tabs', role: 'tablist' },
          TABS.map(([id, title]) => h('a', { href: `#/p/${encodeURIComponent(project.id)}/${id}`, role: 'tab', class: id === where.tab ? 'active' : null, 'aria-selected': String(id === where.tab), id: `tab-${id}` }, title)),
        ),
        body,
      )
      const [, , view] = TABS.find(([id]) => id === where.tab)
      await view(body, state, project, where.params)
    } catch (error) {
      if (error?.status === 401) {
        forgetKey()
        return signIn('Your key is no longer accepted (revoked or mistyped): sign in again.')
      }
      toast(error?.message ?? String(error), 'error')
      content.append(h('p', { class: 'problem', role: 'alert' }, error?.message ?? String(error)))
    }
  }
  state.render = render
  window.onhashchange = render
  render()
}

async function boot() {
  const key = savedKey()
  if (!key) return signIn()
  const api = createApi(key)
  try {
    start(api, (await api.projects()).data)
  } catch (error) {
    forgetKey()
    signIn(signInProblem(key, error))
  }
}

boot()
