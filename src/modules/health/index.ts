// Health plugin: /healthz says the process is up; /readyz says Postgres and Redis answer (for load balancers).
import { Elysia } from 'elysia'

export type ReadinessCheck = () => Promise<unknown>

const CHECK_TIMEOUT_MS = 1_000

async function probe(check: ReadinessCheck): Promise<'ok' | string> {
  let timer: ReturnType<typeof setTimeout> | undefined
  try {
    await Promise.race([
      check(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS)
      }),
    ])
    return 'ok'
  } catch (error) {
    return (error as Error).message || 'failed'
  } finally {
    clearTimeout(timer)
  }
}

export function healthPlugin(checks: Record<string, ReadinessCheck>) {
  return new Elysia({ name: 'health' })
    .get('/healthz', () => ({ status: 'ok' }), { detail: { tags: ['health'], summary: 'The process is up' } })
    .get(
      '/readyz',
      async ({ set }) => {
        const names = Object.keys(checks)
        const results = await Promise.all(names.map((name) => probe(checks[name]!)))
        const report: Record<string, string> = {}
        names.forEach((name, i) => (report[name] = results[i]!))
        const ready = results.every((r) => r === 'ok')
        set.status = ready ? 200 : 503
        return { status: ready ? 'ready' : 'not_ready', checks: report }
      },
      { detail: { tags: ['health'], summary: 'Postgres and Redis answer' } },
    )
}
