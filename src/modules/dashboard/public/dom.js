// DOM helpers of the dashboard: elements are built with text nodes only (never innerHTML), so whatever the API returns is shown, not run.

/**
 * h('button', { class: 'primary', onclick: fn, dataset: { id } }, 'Save'): attributes are set as attributes (or
 * listeners for on*), children are nodes or text; null, undefined and false children are skipped.
 */
export function h(tag, attrs = {}, ...children) {
  const svg = tag === 'svg' || tag === 'path'
  const node = svg ? document.createElementNS('http://www.w3.org/2000/svg', tag) : document.createElement(tag)
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue
    if (name.startsWith('on') && typeof value === 'function') node.addEventListener(name.slice(2), value)
    else if (name === 'dataset') Object.assign(node.dataset, value)
    else if (name === 'value' && 'value' in node) node.value = value
    else if (name === 'checked') node.checked = Boolean(value)
    else node.setAttribute(name, value === true ? '' : String(value))
  }
  append(node, children)
  return node
}

function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue
    node.append(child instanceof Node ? child : document.createTextNode(String(child)))
  }
}

/** Replaces everything in `node` with `children`. */
export function mount(node, ...children) {
  node.replaceChildren()
  append(node, children)
  return node
}

/** A short message in the corner; `kind` error stays longer. */
export function toast(message, kind = 'info') {
  const box = document.getElementById('toasts')
  const item = h('div', { class: `toast ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, message)
  box.append(item)
  setTimeout(() => item.remove(), kind === 'error' ? 8000 : 4000)
}

/** A table: columns are [title, (row) => cell, options?]; an empty list shows `empty`. */
export function table(rows, columns, { empty = 'Nothing yet.', rowAttrs } = {}) {
  if (rows.length === 0) return h('p', { class: 'empty' }, empty)
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      {},
      h('thead', {}, h('tr', {}, columns.map(([title, , options]) => h('th', { class: options?.num ? 'num' : null }, title)))),
      h('tbody', {}, rows.map((row) => h('tr', rowAttrs ? rowAttrs(row) : {}, columns.map(([, cell, options]) => h('td', { class: options?.num ? 'num' : null }, cell(row)))))),
    ),
  )
}

/** A figure card: a label and a big value. */
export const stat = (label, value, note) => h('div', { class: 'stat' }, h('div', { class: 'stat-label' }, label), h('div', { class: 'stat-value' }, value), note ? h('div', { class: 'stat-note' }, note) : null)

export const badge = (text, kind = '') => h('span', { class: `badge ${kind}` }, text)

/** A panel with a title, optional actions on its right, and a body. */
export const panel = (title, actions, ...body) => h('section', { class: 'panel' }, h('header', {}, h('h2', {}, title), actions ? h('div', { class: 'actions' }, actions) : null), body)

/** Goes to a hash route; the same route again renders it again. */
export const go = (hash) => (location.hash === hash ? window.dispatchEvent(new HashChangeEvent('hashchange')) : (location.hash = hash))

/** For work started by a click or a change: a failure is shown, not lost in the console. */
export const shown = (work) => () => Promise.resolve().then(work).catch((error) => toast(error?.message ?? String(error), 'error'))
