// A real local Redis Cluster for tests: three redis-server processes in cluster mode on free ports, joined by redis-cli.
import type { Subprocess } from 'bun'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Redis from 'ioredis'
import { waitFor } from './poll'

const NODES = 3
/** Redis Cluster talks node to node on the client port + 10,000: both must be free, and under 65,536. */
const BUS_OFFSET = 10_000

export interface LocalRedisCluster {
  nodes: { host: string; port: number }[]
  /** REDIS_URL for Meterway: redis+cluster://127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3 */
  url: string
  /** Kills the servers and removes their directory. */
  stop(): Promise<void>
}

/** Resolves whether a TCP port on 127.0.0.1 can be bound right now. */
function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer()
    probe.once('error', () => resolve(false))
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)))
  })
}

/** A port free for clients whose bus port (+10,000) is free too, from a range clear of the kernel's ephemeral ports. */
async function freeClusterPort(taken: Set<number>): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000)
    if (taken.has(port) || taken.has(port + BUS_OFFSET)) continue
    if ((await portFree(port)) && (await portFree(port + BUS_OFFSET))) {
      taken.add(port)
      taken.add(port + BUS_OFFSET)
      return port
    }
  }
  throw new Error('no free port pair for a Redis Cluster node')
}

async function run(command: string[]): Promise<string> {
  const child = Bun.spawn(command, { stdout: 'pipe', stderr: 'pipe' })
  const [out, err, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited])
  if (code !== 0) throw new Error(`${command.join(' ')} exited with ${code}:\n${out}${err}`)
  return out
}

/** Starts three empty masters (no persistence), creates the cluster over them and waits until every node says it is ok. */
export async function startRedisCluster(): Promise<LocalRedisCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'meterway-cluster-'))
  const taken = new Set<number>()
  const ports: number[] = []
  for (let i = 0; i < NODES; i++) ports.push(await freeClusterPort(taken))
  const servers: Subprocess[] = ports.map((port) =>
    Bun.spawn(
      ['redis-server', '--cluster-enabled', 'yes', '--port', String(port), '--bind', '127.0.0.1', '--dir', dir,
        '--cluster-config-file', join(dir, `nodes-${port}.conf`), '--save', '', '--appendonly', 'no', '--daemonize', 'no'],
      { stdout: 'ignore', stderr: 'pipe' },
    ),
  )
  // A test process that dies without afterAll must not leave servers behind.
  const killAll = () => servers.forEach((server) => server.kill('SIGKILL'))
  process.once('exit', killAll)

  let stopped = false
  const stop = async () => {
    if (stopped) return
    stopped = true
    killAll()
    await Promise.all(servers.map((server) => server.exited))
    process.off('exit', killAll)
    rmSync(dir, { recursive: true, force: true })
  }

  try {
    const probes = ports.map((port) => new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => 200 }))
    // Refused connections while a server starts are expected; the polls below say when one never comes up.
    for (const probe of probes) probe.on('error', () => {})
    try {
      for (const [i, probe] of probes.entries()) {
        await waitFor(async () => {
          if (servers[i]!.exitCode !== null) throw new Error(`redis-server on port ${ports[i]} exited (${servers[i]!.exitCode})`)
          return probe.ping().then((pong) => pong === 'PONG', () => false)
        }, 10_000, `redis-server on port ${ports[i]}`)
      }
      await run(['redis-cli', '--cluster', 'create', ...ports.map((port) => `127.0.0.1:${port}`), '--cluster-replicas', '0', '--cluster-yes'])
      for (const [i, probe] of probes.entries()) {
        await waitFor(async () => /cluster_state:ok/.test(String(await probe.cluster('INFO'))), 15_000, `cluster_state:ok on port ${ports[i]}`)
      }
    } finally {
      for (const probe of probes) probe.disconnect()
    }
  } catch (error) {
    await stop()
    throw error
  }

  const nodes = ports.map((port) => ({ host: '127.0.0.1', port }))
  return { nodes, url: `redis+cluster://${nodes.map((n) => `${n.host}:${n.port}`).join(',')}`, stop }
}
