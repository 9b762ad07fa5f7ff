// rediss:// on the request path's connection, against a real redis-server speaking TLS with a certificate from a CA made for the test: trusted, it works; not trusted, it says why.
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from '../helpers/processes'
import { waitFor } from '../helpers/poll'

const dir = mkdtempSync(join(tmpdir(), 'mw-redis-tls-'))
const port = freePort()
let server: ReturnType<typeof Bun.spawn> | null = null

function run(cmd: string[]): void {
  const result = Bun.spawnSync(cmd, { cwd: dir, stderr: 'pipe' })
  if (result.exitCode !== 0) throw new Error(`${cmd.join(' ')} failed: ${result.stderr.toString()}`)
}

beforeAll(async () => {
  // A CA, and a certificate it signs for localhost and 127.0.0.1: made here, kept nowhere.
  run(['openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1', '-subj', '/CN=meterway-test-ca'])
  run(['openssl', 'req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'redis.key', '-out', 'redis.csr', '-subj', '/CN=localhost'])
  writeFileSync(join(dir, 'san.cnf'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n')
  run(['openssl', 'x509', '-req', '-in', 'redis.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'redis.crt', '-days', '1', '-extfile', 'san.cnf'])
  server = Bun.spawn(
    ['redis-server', '--port', '0', '--tls-port', String(port), '--tls-cert-file', 'redis.crt', '--tls-key-file', 'redis.key', '--tls-ca-cert-file', 'ca.crt', '--tls-auth-clients', 'no', '--requirepass', 'tls-s3cret', '--save', '', '--appendonly', 'no'],
    { cwd: dir, stdout: 'ignore', stderr: 'ignore' },
  )
  await waitFor(() => Bun.connect({ hostname: '127.0.0.1', port, socket: { data() {} } }).then((s) => (s.end(), true), () => false), 10_000, 'redis-server listening with TLS')
})

afterAll(() => {
  server?.kill()
  rmSync(dir, { recursive: true, force: true })
})

/** A fresh process (a CA is trusted from its start): connects over rediss://, sets and reads a key, prints what happened. */
async function connectFrom(env: Record<string, string>): Promise<string> {
  const script = `
    import { createHotRedis } from ${JSON.stringify(join(import.meta.dir, '../../src/lib/hot-redis'))}
    const hot = createHotRedis('rediss://:tls-s3cret@localhost:${port}/2')
    try {
      await hot.ready
      await hot.send('SET', ['tls:probe', 'over tls'])
      console.log('ok ' + (await hot.send('GET', ['tls:probe'])))
    } catch (error) {
      console.log('failed ' + error.message)
    }
    hot.close()
    process.exit(0)
  `
  const child = Bun.spawn(['bun', '-e', script], { env: { ...process.env, ...env }, stdout: 'pipe', stderr: 'pipe' })
  const [out] = await Promise.all([new Response(child.stdout).text(), child.exited])
  return out.trim()
}

test('with the CA trusted, rediss:// logs in, selects its database and answers', async () => {
  expect(await connectFrom({ NODE_EXTRA_CA_CERTS: join(dir, 'ca.crt') })).toBe('ok over tls')
})

test('without it, the connection is refused and the reason is the certificate, not a bare "closed"', async () => {
  const out = await connectFrom({ NODE_EXTRA_CA_CERTS: '' })
  expect(out).toStartWith('failed TLS handshake with Redis failed:')
  expect(out).toMatch(/certificate/)
})
