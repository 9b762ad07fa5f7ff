// Views of projects themselves: the list and the create form, one project's settings (sessions, markup, origins), and its secret keys (created once-shown, revoked).
import { badge, go, h, mount, panel, table, toast } from './dom.js'
import { percent, when } from './format.js'

/** Origins typed one per line (or separated by commas or spaces). */
const originsOf = (text) => text.split(/[\s,]+/).map((o) => o.trim()).filter(Boolean)

export async function renderProjects(root, state) {
  await state.refreshProjects()
  const name = h('input', { id: 'new-project-name', required: true, maxlength: 200, placeholder: 'My app' })
  const markup = h('input', { id: 'new-project-markup', type: 'number', min: 0, max: 1000, step: '0.01', value: '20' })
  const sessions = h('input', { id: 'new-project-sessions', type: 'checkbox', checked: true })
  const origins = h('textarea', { id: 'new-project-origins', rows: 2, placeholder: 'https://app.example.com' })
  const create = async (event) => {
    event.preventDefault()
    try {
      const project = await state.api.createProject({ name: name.value.trim(), markup_percent: Number(markup.value || 0), end_user_sessions: sessions.checked, allowed_origins: originsOf(origins.value) })
      await state.refreshProjects()
      toast(`Project “${project.name}” created.`)
      go(`#/p/${encodeURIComponent(project.id)}/keys`)
    } catch (error) {
      toast(error.message, 'error')
    }
  }
  mount(
    root,
    h('h1', {}, 'Projects'),
    panel(
      'Your projects',
      null,
      table(
        state.projects,
        [
          ['Name', (p) => h('a', { href: `#/p/${encodeURIComponent(p.id)}/usage`, class: 'project-link' }, p.name)],
          ['Id', (p) => h('code', {}, p.id)],
          ['End-user sessions', (p) => (p.end_user_sessions ? badge('on', 'ok') : badge('off'))],
          ['Markup', (p) => percent(p.markup_percent), { num: true }],
          ['Allowed origins', (p) => p.allowed_origins.length ? p.allowed_origins.join(', ') : '—'],
          ['Created', (p) => when(p.created_at)],
        ],
        { empty: 'No project yet: create your first one below.' },
      ),
    ),
    panel(
      'New project',
      null,
      h(
        'form',
        { class: 'grid-form', id: 'new-project', onsubmit: create },
        h('label', { for: 'new-project-name' }, 'Name'),
        name,
        h('label', { for: 'new-project-markup' }, 'Markup on top-ups (%)'),
        markup,
        h('label', { for: 'new-project-sessions' }, 'End-user sessions'),
        h('div', {}, sessions, ' Secret keys may mint session tokens for your users'),
        h('label', { for: 'new-project-origins' }, 'Allowed origins'),
        origins,
        h('div', {}),
        h('button', { class: 'primary', type: 'submit', id: 'create-project' }, 'Create project'),
      ),
    ),
  )
}

export async function renderSettings(root, state, project) {
  const sessions = h('input', { id: 'settings-sessions', type: 'checkbox', checked: project.end_user_sessions, role: 'switch' })
  const markup = h('input', { id: 'settings-markup', type: 'number', min: 0, max: 1000, step: '0.01', value: String(project.markup_percent) })
  const origins = h('textarea', { id: 'settings-origins', rows: 4 }, project.allowed_origins.join('\n'))
  const threshold = h('input', { id: 'settings-threshold', inputmode: 'decimal', placeholder: 'none', value: project.low_balance_threshold_usd ?? '' })
  const save = async (event) => {
    event.preventDefault()
    try {
      const lowBalance = threshold.value.trim()
      await state.api.updateProject(project.id, {
        end_user_sessions: sessions.checked,
        markup_percent: Number(markup.value || 0),
        allowed_origins: originsOf(origins.value),
        low_balance_threshold_usd: lowBalance === '' ? null : lowBalance,
      })
      await state.refreshProjects()
      toast('Settings saved.')
      state.render()
    } catch (error) {
      toast(error.param ? `${error.param}: ${error.message}` : error.message, 'error')
    }
  }
  mount(
    root,
    panel(
      'Settings',
      null,
      h(
        'form',
        { class: 'grid-form', id: 'settings', onsubmit: save },
        h('label', { for: 'settings-sessions' }, 'End-user sessions'),
        h('div', {}, sessions, ' On: your backend may mint session tokens (es_…) for signed-in users. Off stops live tokens at once.'),
        h('label', { for: 'settings-markup' }, 'Markup on top-ups (%)'),
        h('div', {}, markup, h('span', { class: 'hint' }, ' A $10 top-up credits the wallet $10 ÷ (1 + markup); the rest is your margin.')),
        h('label', { for: 'settings-origins' }, 'Allowed origins'),
        h('div', {}, origins, h('div', { class: 'hint' }, 'One per line, e.g. https://app.example.com — browsers elsewhere are refused.')),
        h('label', { for: 'settings-threshold' }, 'Low-balance alert (USD)'),
        h('div', {}, threshold, h('span', { class: 'hint' }, ' wallet.low_balance is sent when a wallet goes below it; empty: never.')),
        h('div', {}),
        h('button', { class: 'primary', type: 'submit', id: 'save-settings' }, 'Save settings'),
      ),
    ),
  )
}

export async function renderKeys(root, state, project) {
  const keys = (await state.api.keys(project.id)).data
  const reveal = h('div', { id: 'new-key' })
  const create = async (mode) => {
    try {
      const created = await state.api.createKey(project.id, mode)
      await renderKeys(root, state, project)
      const secret = h('code', { class: 'secret', id: 'new-key-secret' }, created.secret_key)
      mount(
        root.querySelector('#new-key'),
        h(
          'div',
          { class: 'reveal', role: 'status' },
          h('strong', {}, `New ${mode} key — copy it now, it is shown only once.`),
          secret,
          h('div', { class: 'row' },
            h('button', { class: 'ghost', onclick: () => navigator.clipboard?.writeText(created.secret_key).then(() => toast('Copied.'), () => toast('Select the key and copy it.', 'error')) }, 'Copy'),
            h('button', { class: 'ghost', id: 'dismiss-key', onclick: (event) => event.target.closest('.reveal').remove() }, 'I have stored it'),
          ),
          h('p', { class: 'hint' }, 'Keep it on your backend (e.g. METERWAY_SECRET_KEY). Never put it in a browser bundle.'),
        ),
      )
    } catch (error) {
      toast(error.message, 'error')
    }
  }
  const revoke = async (key) => {
    if (!confirm(`Revoke ${key.display}? Every gateway refuses it within a second.`)) return
    try {
      await state.api.revokeKey(project.id, key.id)
      toast('Key revoked.')
      await renderKeys(root, state, project)
    } catch (error) {
      toast(error.message, 'error')
    }
  }
  mount(
    root,
    panel(
      'Secret keys',
      [
        h('button', { class: 'primary', id: 'create-live-key', onclick: () => create('live') }, 'Create live key'),
        h('button', { class: 'secondary', id: 'create-test-key', onclick: () => create('test') }, 'Create test key'),
      ],
      reveal,
      table(
        keys,
        [
          ['Key', (k) => h('code', {}, k.display)],
          ['Mode', (k) => badge(k.mode, k.mode === 'live' ? 'live' : 'test')],
          ['Created', (k) => when(k.created_at)],
          ['Status', (k) => (k.revoked_at ? badge(`revoked ${when(k.revoked_at)}`, 'off') : badge('active', 'ok'))],
          ['', (k) => (k.revoked_at ? '' : h('button', { class: 'danger small', onclick: () => revoke(k), dataset: { key: k.id } }, 'Revoke'))],
        ],
        { empty: 'No key yet. A secret key (sk_…) lets your backend mint end-user sessions.', rowAttrs: (k) => ({ dataset: { keyId: k.id } }) },
      ),
    ),
  )
}
