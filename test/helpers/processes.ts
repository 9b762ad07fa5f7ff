// Real Meterway processes for tests that kill them: `bun src/index.ts` with this run's database and queues, on a free port.
import type { Subprocess } from 'bun'
import { join } from 'node:path'
import { prepareTestDatabase, TEST_DATABASE_URL, TEST_QUEUE_PREFIX } from './db'
import { ADMIN_TOKEN } from './gateway'
import { START_ENV } from '../../src/lib/start-env'

const ENTRY = join(import.meta.dir, '..', '..', 'src', 'index.ts')

export interface GatewayProcess {
  child: Subprocess
  /** http://127.0.0.1:port (null for ROLE=worker). */
  url: string | null
  /** Resolves with the exit code. */
  exited: Promise<number>
  /** Everything the process wrote to stdout and stderr (JSON log lines), so far. */
  output(): string
}

/** A TCP port nothing listens on right now. */
export function freePort(): number {
  const probe = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => new Response('') })
  const port = probe.port
  probe.stop(true)
  return port!
}

/** Starts a gateway (or worker) process and resolves once it answers /healthz (or, for ROLE=worker, once it logged its start). */
export async function spawnMeterway(env: Record<string, string>, timeoutMs = 30_000, args: readonly string[] = []): Promise<GatewayProcess> {
  await prepareTestDatabase()
  const port = freePort()
  const child = Bun.spawn(['bun', ENTRY, ...args], {
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      DATABASE_URL: TEST_DATABASE_URL,
      QUEUE_PREFIX: TEST_QUEUE_PREFIX,
      ADMIN_TOKEN,
      LOG_LEVEL: 'info',
      DEFAULT_RPM: '100000000',
      // As `bun run start` and the Dockerfile start it: Bun's fetch pool and allocator are set only when the process starts.
      ...START_ENV,
      ...env,
    },
    stdout: 'pipe',
    stderr: 'pipe',
  })
  let output = ''
  const collect = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder()
    for await (const piece of stream) output += decoder.decode(piece, { stream: true })
  }
  void collect(child.stdout)
  void collect(child.stderr)
  const worker = env.ROLE === 'worker'
  const url = worker ? null : `http://127.0.0.1:${port}`
  const deadline = performance.now() + timeoutMs
  for (;;) {
    if (child.exitCode !== null) throw new Error(`meterway exited during startup (${child.exitCode}):\n${output}`)
    if (worker ? output.includes('workers started') : await fetch(`${url}/healthz`).then((r) => r.ok, () => false)) break
    if (performance.now() > deadline) throw new Error(`meterway did not start within ${timeoutMs} ms:\n${output}`)
    await Bun.sleep(50)
  }
  return { child, url, exited: child.exited, output: () => output }
}
