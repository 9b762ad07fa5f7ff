// The SSRF guard: every refused address form, mixed and rebinding DNS answers, and pinnedFetch's pinning, redirects and timeouts.
import { afterAll, describe, expect, test } from 'bun:test'
import { PinnedFetchError, RESPONSE_EXCERPT_BYTES, pinnedFetch } from '../../src/lib/pinned-fetch'
import { type AddressClass, type LookupFn, UnsafeUrlError, type UrlRefusal, classifyAddress, parseWebhookUrl, resolveChecked } from '../../src/lib/ssrf'

const PROD = { allowHttpLoopback: false }
const DEV = { allowHttpLoopback: true }
const PUBLIC_IP = '93.184.216.34'

/** A fake resolver whose answers can be swapped mid-test, counting every call (to prove nothing re-resolves). */
function fakeDns(table: Record<string, string[]>) {
  const calls: string[] = []
  const lookup: LookupFn = async (host) => {
    calls.push(host)
    const answers = table[host]
    if (!answers) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' })
    return answers.map((address) => ({ address, family: address.includes(':') ? (6 as const) : (4 as const) }))
  }
  return { lookup, calls, table }
}

/** Registration as the API does it: parse, then resolve once; returns the refusal or null. */
async function register(raw: string, options = PROD, lookup?: LookupFn): Promise<UnsafeUrlError | null> {
  try {
    await resolveChecked(parseWebhookUrl(raw, options), { ...options, lookup })
    return null
  } catch (error) {
    if (error instanceof UnsafeUrlError) return error
    throw error
  }
}

describe('classifyAddress', () => {
  const cases: [string, AddressClass][] = [
    ['8.8.8.8', 'public'],
    [PUBLIC_IP, 'public'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['10.0.0.1', 'private'],
    ['100.64.0.1', 'cgnat'],
    ['100.127.255.255', 'cgnat'],
    ['100.128.0.1', 'public'],
    ['127.0.0.1', 'loopback'],
    ['127.255.1.2', 'loopback'],
    ['169.254.169.254', 'metadata'],
    ['169.254.1.1', 'link-local'],
    ['172.16.5.4', 'private'],
    ['172.31.255.255', 'private'],
    ['172.32.0.1', 'public'],
    ['192.0.0.8', 'reserved'],
    ['192.0.2.1', 'documentation'],
    ['192.168.1.1', 'private'],
    ['198.18.0.1', 'benchmarking'],
    ['198.19.255.1', 'benchmarking'],
    ['198.51.100.7', 'documentation'],
    ['203.0.113.9', 'documentation'],
    ['224.0.0.1', 'multicast'],
    ['240.0.0.1', 'reserved'],
    ['255.255.255.255', 'broadcast'],
    // Non-canonical IPv4 spellings are never guessed at.
    ['0177.0.0.1', 'invalid'],
    ['2130706433', 'invalid'],
    ['0x7f.1', 'invalid'],
    ['127.1', 'invalid'],
    ['256.1.1.1', 'invalid'],
    ['2606:4700:4700::1111', 'public'],
    ['[2606:4700:4700::1111]', 'public'],
    ['::', 'unspecified'],
    ['::1', 'loopback'],
    ['0:0:0:0:0:0:0:1', 'loopback'],
    ['fc00::1', 'unique-local'],
    ['fd12::1', 'unique-local'],
    ['fd00:ec2::254', 'unique-local'],
    ['fe80::1', 'link-local'],
    ['febf::1', 'link-local'],
    ['fe80::1%eth0', 'zone-id'],
    ['fec0::1', 'site-local'],
    ['ff02::1', 'multicast'],
    ['::ffff:127.0.0.1', 'ipv4-mapped'],
    ['::ffff:7f00:1', 'ipv4-mapped'],
    ['::ffff:8.8.8.8', 'ipv4-mapped'],
    ['0:0:0:0:0:ffff:a9fe:a9fe', 'ipv4-mapped'],
    ['::127.0.0.1', 'ipv4-compatible'],
    ['::7f00:1', 'ipv4-compatible'],
    ['::ffff:0:7f00:1', 'ipv4-translated'],
    ['64:ff9b::7f00:1', 'loopback'],
    ['64:ff9b::127.0.0.1', 'loopback'],
    ['64:ff9b::a9fe:a9fe', 'metadata'],
    ['64:ff9b::808:808', 'public'],
    ['64:ff9b:1::1', 'reserved'],
    ['2002:7f00:1::1', 'loopback'],
    ['2002:808:808::1', 'public'],
    ['2001:db8::1', 'documentation'],
    ['2001:0::1', 'teredo'],
    ['100::1', 'reserved'],
    ['1:2:3:4:5:6:7:8', 'reserved'],
    ['1::2::3', 'invalid'],
    ['12345::1', 'invalid'],
    ['1:2:3:4:5:6:7:8:9', 'invalid'],
    ['2001:db8::1.2.3.999', 'invalid'],
    ['', 'invalid'],
    ['example.com', 'invalid'],
  ]
  for (const [ip, expected] of cases) test(`${ip || '(empty)'} → ${expected}`, () => expect(classifyAddress(ip)).toBe(expected))
})

describe('WHATWG URL parsing normalises numeric tricks before we classify', () => {
  for (const host of ['2130706433', '0177.0.0.1', '0x7f.1', '0x7f000001', '127.1', '0x7F.0.0.1', '017700000001']) {
    test(host, () => expect(new URL(`https://${host}/`).hostname).toBe('127.0.0.1'))
  }
  test('[::ffff:127.0.0.1] is spelled in hex', () => expect(new URL('https://[::ffff:127.0.0.1]/').hostname).toBe('[::ffff:7f00:1]'))
})

describe('registration refuses every form in the issue', () => {
  // `localhost` is refused by name; the DNS table also says what a resolver would answer, to show it would not matter.
  const dns = fakeDns({ localhost: ['127.0.0.1', '::1'] })
  const refused: [url: string, reason: UrlRefusal][] = [
    ['https://127.0.0.1/hook', 'loopback'],
    ['https://localhost/hook', 'localhost'],
    ['https://LOCALHOST./hook', 'localhost'],
    ['https://api.localhost/hook', 'localhost'],
    ['https://10.0.0.1/hook', 'private'],
    ['https://172.16.5.4/hook', 'private'],
    ['https://192.168.1.1/hook', 'private'],
    ['https://169.254.169.254/latest/meta-data/', 'metadata'],
    ['https://100.64.0.1/hook', 'cgnat'],
    ['https://0.0.0.0/hook', 'unspecified'],
    ['https://0/hook', 'unspecified'],
    ['https://[::1]/hook', 'loopback'],
    ['https://[::]/hook', 'unspecified'],
    ['https://[fc00::1]/hook', 'unique-local'],
    ['https://[fd12::1]/hook', 'unique-local'],
    ['https://[fe80::1]/hook', 'link-local'],
    ['https://[fe80::1%25eth0]/hook', 'bad_url'],
    ['https://[::ffff:127.0.0.1]/hook', 'ipv4-mapped'],
    ['https://[::ffff:7f00:1]/hook', 'ipv4-mapped'],
    ['https://[64:ff9b::7f00:1]/hook', 'loopback'],
    ['https://2130706433/hook', 'loopback'],
    ['https://0177.0.0.1/hook', 'loopback'],
    ['https://0x7f.1/hook', 'loopback'],
    ['https://0x7f000001/hook', 'loopback'],
    ['https://127.1/hook', 'loopback'],
    ['https://[::127.0.0.1]/hook', 'ipv4-compatible'],
    ['http://example.com/hook', 'scheme'],
    ['http://8.8.8.8/hook', 'scheme'],
    ['ftp://example.com/hook', 'scheme'],
    ['file:///etc/passwd', 'scheme'],
    ['https://user:pass@example.com/hook', 'credentials'],
    ['https://user@example.com/hook', 'credentials'],
    ['not a url', 'bad_url'],
    ['/relative/path', 'bad_url'],
  ]
  for (const [url, reason] of refused) {
    test(`${url} (${reason})`, async () => {
      const error = await register(url, PROD, dns.lookup)
      expect(error).toBeInstanceOf(UnsafeUrlError)
      expect(error?.reason).toBe(reason)
      expect(error?.toBody()).toEqual({ error: { message: error!.message, type: 'invalid_request_error', param: 'url', code: 'unsafe_url' } })
      expect(error?.status).toBe(400)
    })
  }

  test('a name resolving to a private address is refused, with the address in the message', async () => {
    const { lookup } = fakeDns({ 'intranet.example.com': ['10.1.2.3'] })
    const error = await register('https://intranet.example.com/hook', PROD, lookup)
    expect(error?.reason).toBe('private')
    expect(error?.message).toContain('intranet.example.com resolves to 10.1.2.3')
  })

  test('a name whose answers mix public and loopback is refused (any bad answer refuses)', async () => {
    for (const answers of [[PUBLIC_IP, '127.0.0.1'], ['127.0.0.1', PUBLIC_IP], ['2606:4700::1', '::1'], [PUBLIC_IP, '::ffff:10.0.0.1']]) {
      const { lookup } = fakeDns({ 'mixed.example.com': answers })
      expect((await register('https://mixed.example.com/hook', PROD, lookup))?.reason).not.toBeUndefined()
    }
  })

  test('a name that does not resolve is refused as dns_failure', async () => {
    const { lookup } = fakeDns({})
    expect((await register('https://nowhere.example.com/hook', PROD, lookup))?.reason).toBe('dns_failure')
    const empty = fakeDns({ 'empty.example.com': [] })
    expect((await register('https://empty.example.com/hook', PROD, empty.lookup))?.reason).toBe('dns_failure')
  })
})

describe('registration accepts public targets', () => {
  test('https names resolving to public addresses, any port, path and query kept', async () => {
    const { lookup, calls } = fakeDns({ 'hooks.example.com': [PUBLIC_IP, '2606:2800:220:1::1'] })
    const checked = await resolveChecked(parseWebhookUrl('https://hooks.example.com:8443/in?x=1', PROD), { ...PROD, lookup })
    expect(checked).toEqual({ url: new URL('https://hooks.example.com:8443/in?x=1'), address: PUBLIC_IP, family: 4 })
    expect(calls).toEqual(['hooks.example.com'])
  })

  test('public IP literals need no lookup', async () => {
    const { lookup, calls } = fakeDns({})
    expect((await resolveChecked(new URL('https://8.8.8.8/h'), { ...PROD, lookup })).address).toBe('8.8.8.8')
    expect(await resolveChecked(new URL('https://[2606:4700:4700::1111]/h'), { ...PROD, lookup })).toMatchObject({ address: '2606:4700:4700::1111', family: 6 })
    expect(calls).toEqual([])
  })

  test('resolveChecked re-applies the URL policy to URLs that skipped parseWebhookUrl', async () => {
    await expect(resolveChecked(new URL('http://8.8.8.8/'), PROD)).rejects.toBeInstanceOf(UnsafeUrlError)
    await expect(resolveChecked(new URL('https://127.0.0.1/'), PROD)).rejects.toBeInstanceOf(UnsafeUrlError)
  })
})

describe('dev mode (allowHttpLoopback)', () => {
  test('http and https to loopback literals and localhost are allowed', async () => {
    const { lookup } = fakeDns({ localhost: ['127.0.0.1', '::1'] })
    for (const url of ['http://127.0.0.1:3000/h', 'http://localhost:3000/h', 'http://[::1]:3000/h', 'https://127.0.0.1/h']) {
      expect(await register(url, DEV, lookup)).toBeNull()
    }
  })

  test('a name is allowed over http only if every answer is loopback', async () => {
    const { lookup } = fakeDns({ 'hooks.example.test': ['127.0.0.1'], 'public.example.test': [PUBLIC_IP], 'mixed.example.test': ['127.0.0.1', PUBLIC_IP] })
    expect(await register('http://hooks.example.test/h', DEV, lookup)).toBeNull()
    expect((await register('http://public.example.test/h', DEV, lookup))?.reason).toBe('http_not_loopback')
    expect((await register('http://mixed.example.test/h', DEV, lookup))?.reason).toBe('http_not_loopback')
    expect(await register('https://public.example.test/h', DEV, lookup)).toBeNull()
  })

  test('everything else is still refused', async () => {
    for (const url of ['http://8.8.8.8/h', 'http://10.0.0.1/h', 'https://10.0.0.1/h', 'https://169.254.169.254/h', 'https://[::ffff:127.0.0.1]/h', 'https://u:p@127.0.0.1/h']) {
      expect(await register(url, DEV)).toBeInstanceOf(UnsafeUrlError)
    }
  })
})

// ---------------------------------------------------------------- pinnedFetch against local servers

interface Seen {
  method: string
  path: string
  host: string | null
  body: string
}

const servers: { stop(force?: boolean): void }[] = []
afterAll(() => {
  for (const server of servers) server.stop(true)
})

function recorder(hostname: string, handler: (req: Request) => Response | Promise<Response> = () => new Response('ok'), port = 0) {
  const seen: Seen[] = []
  const server = Bun.serve({
    hostname,
    port,
    async fetch(req) {
      const url = new URL(req.url)
      seen.push({ method: req.method, path: url.pathname + url.search, host: req.headers.get('host'), body: await req.text() })
      return handler(req)
    },
  })
  servers.push(server)
  return { server, seen, port: server.port as number }
}

describe('pinnedFetch', () => {
  test('http: connects to the checked address with Host = the original name, and never resolves again', async () => {
    const { seen, port } = recorder('127.0.0.1', () => new Response('accepted', { status: 202, headers: { 'x-reply': 'yes' } }))
    const { lookup, calls } = fakeDns({ 'hooks.example.test': ['127.0.0.1'] })
    const checked = await resolveChecked(parseWebhookUrl(`http://hooks.example.test:${port}/in?x=1`, DEV), { ...DEV, lookup })
    const response = await pinnedFetch(checked, {
      method: 'POST',
      headers: { 'content-type': 'application/json', host: 'evil.example', 'webhook-id': 'msg_1' },
      body: '{"a":1}',
      timeoutMs: 5000,
    })
    expect(response).toMatchObject({ status: 202, bodyExcerpt: 'accepted', truncated: false })
    expect(response.headers['x-reply']).toBe('yes')
    expect(seen).toEqual([{ method: 'POST', path: '/in?x=1', host: `hooks.example.test:${port}`, body: '{"a":1}' }])
    // `.test` names do not exist in real DNS: the request only reached the server because the socket was pinned.
    expect(calls).toEqual(['hooks.example.test'])
  })

  test('DNS rebinding in dev mode: after the answer flips, the request still goes to the address that was checked', async () => {
    // Two loopback addresses on one port: 127.0.0.2 is the address that was checked, 127.0.0.1 the rebinding target.
    const checkedServer = recorder('127.0.0.2')
    const rebindTarget = recorder('127.0.0.1', undefined, checkedServer.port)
    const dns = fakeDns({ 'rebind.example.test': ['127.0.0.2'] })
    const checked = await resolveChecked(parseWebhookUrl(`http://rebind.example.test:${checkedServer.port}/h`, DEV), { ...DEV, lookup: dns.lookup })
    dns.table['rebind.example.test'] = ['127.0.0.1']
    const response = await pinnedFetch(checked, { method: 'POST', body: 'x', timeoutMs: 5000 })
    expect(response.status).toBe(200)
    expect(checkedServer.seen).toHaveLength(1)
    expect(rebindTarget.seen).toHaveLength(0)
    expect(dns.calls).toEqual(['rebind.example.test'])
  })

  test('DNS rebinding in production: public at registration, 127.0.0.1 later → never connected on loopback, and a re-check refuses', async () => {
    const loopback = recorder('127.0.0.1')
    const dns = fakeDns({ 'rebind.example.com': [PUBLIC_IP] })
    const url = parseWebhookUrl(`https://rebind.example.com:${loopback.port}/h`, PROD)
    const checked = await resolveChecked(url, { ...PROD, lookup: dns.lookup })
    expect(checked.address).toBe(PUBLIC_IP)

    dns.table['rebind.example.com'] = ['127.0.0.1']
    // There is no internet here: the pinned request to the public address fails or times out, but it never lands on loopback.
    const outcome = await pinnedFetch(checked, { method: 'POST', body: 'x', timeoutMs: 300 }).then(
      () => 'answered',
      (error: unknown) => (error instanceof PinnedFetchError ? error.kind : 'other'),
    )
    expect(['timeout', 'network']).toContain(outcome)
    expect(loopback.seen).toHaveLength(0)
    expect(dns.calls).toEqual(['rebind.example.com'])

    // The next delivery re-checks (as the worker must) and is refused before connecting.
    const error = await resolveChecked(url, { ...PROD, lookup: dns.lookup }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(UnsafeUrlError)
    expect((error as UnsafeUrlError).reason).toBe('loopback')
    expect(loopback.seen).toHaveLength(0)
  })

  test('a redirect is returned, not followed', async () => {
    const target = recorder('127.0.0.1')
    const redirector = recorder('127.0.0.1', () => new Response(null, { status: 302, headers: { location: `http://127.0.0.1:${target.port}/stolen` } }))
    const checked = await resolveChecked(parseWebhookUrl(`http://127.0.0.1:${redirector.port}/h`, DEV), DEV)
    const response = await pinnedFetch(checked, { method: 'POST', body: 'x', timeoutMs: 5000 })
    expect(response.status).toBe(302)
    expect(response.headers.location).toBe(`http://127.0.0.1:${target.port}/stolen`)
    expect(redirector.seen).toHaveLength(1)
    expect(target.seen).toHaveLength(0)
  })

  test('a receiver that never answers is aborted at the timeout', async () => {
    const { port } = recorder('127.0.0.1', () => new Promise<Response>(() => {}))
    const checked = await resolveChecked(parseWebhookUrl(`http://127.0.0.1:${port}/h`, DEV), DEV)
    const started = performance.now()
    const error = await pinnedFetch(checked, { method: 'POST', body: 'x', timeoutMs: 200 }).catch((e: unknown) => e)
    const elapsed = performance.now() - started
    expect(error).toBeInstanceOf(PinnedFetchError)
    expect((error as PinnedFetchError).kind).toBe('timeout')
    expect(elapsed).toBeGreaterThanOrEqual(150)
    expect(elapsed).toBeLessThan(3000)
  })

  test("the caller's signal aborts too", async () => {
    const { port } = recorder('127.0.0.1', () => new Promise<Response>(() => {}))
    const checked = await resolveChecked(new URL(`http://127.0.0.1:${port}/h`), DEV)
    const controller = new AbortController()
    setTimeout(() => controller.abort(), 50)
    const error = await pinnedFetch(checked, { method: 'POST', timeoutMs: 5000, signal: controller.signal }).catch((e: unknown) => e)
    expect((error as PinnedFetchError).kind).toBe('aborted')
  })

  test('a refused connection is a network error', async () => {
    const { server, port } = recorder('127.0.0.1')
    server.stop(true)
    const checked = await resolveChecked(new URL(`http://127.0.0.1:${port}/h`), DEV)
    const error = await pinnedFetch(checked, { method: 'POST', timeoutMs: 2000 }).catch((e: unknown) => e)
    expect((error as PinnedFetchError).kind).toBe('network')
  })

  test('only the first 4 KiB of a large or endless body is read', async () => {
    const big = recorder('127.0.0.1', () => new Response('a'.repeat(1_000_000), { status: 500 }))
    const checked = await resolveChecked(new URL(`http://127.0.0.1:${big.port}/h`), DEV)
    const response = await pinnedFetch(checked, { method: 'POST', timeoutMs: 5000 })
    expect(response.status).toBe(500)
    expect(response.bodyExcerpt).toHaveLength(RESPONSE_EXCERPT_BYTES)
    expect(response.truncated).toBe(true)

    const endless = recorder(
      '127.0.0.1',
      () =>
        new Response(
          new ReadableStream({
            pull(controller) {
              controller.enqueue(new TextEncoder().encode('b'.repeat(1024)))
            },
          }),
        ),
    )
    const streaming = await pinnedFetch(await resolveChecked(new URL(`http://127.0.0.1:${endless.port}/h`), DEV), { method: 'POST', timeoutMs: 5000 })
    expect(streaming.bodyExcerpt).toBe('b'.repeat(RESPONSE_EXCERPT_BYTES))
    expect(streaming.truncated).toBe(true)
  })

  describe('https', () => {
    // A throwaway CA and a leaf for hooks.example.test (valid to 2126), used only by these tests.
    const CA = `-----BEGIN CERTIFICATE-----
MIIBnDCCAUKgAwIBAgITXUd61RmNc+0xo8mqLRo/5en56DAKBggqhkjOPQQDAjAb
MRkwFwYDVQQDDBBNZXRlcndheSBUZXN0IENBMCAXDTI2MTEyMjA1MzQyN1oYDzIx
MjYxMDI5MDUzNDI3WjAbMRkwFwYDVQQDDBBNZXRlcndheSBUZXN0IENBMFkwEwYH
KoZIzj0CAQYIKoZIzj0DAQcDQgAECEQFLyyBMyUhHbkllHo4rwgkM2Ltc6TrMkg+
YU+B5HSpROd+VlJ2txn0+xxhfLPUQTSGm3ufyG/p/lEKx/cAWqNjMGEwHQYDVR0O
BBYEFF70uZTtqRTH9WGFPImr3AK2xZEQMB8GA1UdIwQYMBaAFF70uZTtqRTH9WGF
PImr3AK2xZEQMA8GA1UdEwEB/wQFMAMBAf8wDgYDVR0PAQH/BAQDAgIEMAoGCCqG
SM49BAMCA0gAMEUCIHECaGiGrv+68kldr1tfTXu9hkZJNQ6TSGjLYBbKkojsAiEA
07h+QeKS2e0G9fLedfVVm7juvtLfi9cwtO8ieuz0Mcg=
-----END CERTIFICATE-----`
    const CERT = `-----BEGIN CERTIFICATE-----
MIIBvjCCAWSgAwIBAgIUJnj3ZByA2AS+tVnfBn+cg8JhZlYwCgYIKoZIzj0EAwIw
GzEZMBcGA1UEAwwQTWV0ZXJ3YXkgVGVzdCBDQTAgFw0yNjExMjIwNTM0MjdaGA8y
MTI2MTAyOTA1MzQyN1owHTEbMBkGA1UEAwwSaG9va3MuZXhhbXBsZS50ZXN0MFkw
EwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEvllCc65bnfrSu0h/Y1kyI/KUex3COxdz
AOAVhMHXv+pvp8TQQ4P1JmGDV8KGfb9ltNPv2y/5cQ8n8g0W3aSCDKOBgTB/MB0G
A1UdEQQWMBSCEmhvb2tzLmV4YW1wbGUudGVzdDAJBgNVHRMEAjAAMBMGA1UdJQQM
MAoGCCsGAQUFBwMBMB0GA1UdDgQWBBQDT2Q4TIzt1T6qQFWvZ5e5SN3LVzAfBgNV
HSMEGDAWgBRe9LmU7akUx/VhhTyJq9wCtsWREDAKBggqhkjOPQQDAgNIADBFAiAk
3C4RX7h2vYDwXXL8evWXBd61W15Ew+OMFeTul8pndgIhAMBeYFcRGGB4jKschPwq
C79QxRpb7sdK0ZmVqJppleCJ
-----END CERTIFICATE-----`
    const KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg9hDSyw3C/IqZO63+
LZH3M2wq1/ERpf+TiXSLtiz3ohOhRANCAAS+WUJzrlud+tK7SH9jWTIj8pR7HcI7
F3MA4BWEwde/6m+nxNBDg/UmYYNXwoZ9v2W00+/bL/lxDyfyDRbdpIIM
-----END PRIVATE KEY-----`

    function tlsRecorder() {
      const seen: Seen[] = []
      const server = Bun.serve({
        hostname: '127.0.0.1',
        port: 0,
        tls: { cert: CERT, key: KEY },
        async fetch(req) {
          const url = new URL(req.url)
          seen.push({ method: req.method, path: url.pathname, host: req.headers.get('host'), body: await req.text() })
          return new Response('tls ok')
        },
      })
      servers.push(server)
      return { seen, port: server.port as number }
    }

    test('pinned to the checked address, certificate verified against the original name', async () => {
      const { seen, port } = tlsRecorder()
      const dns = fakeDns({ 'hooks.example.test': ['127.0.0.1'] })
      const checked = await resolveChecked(parseWebhookUrl(`https://hooks.example.test:${port}/in`, DEV), { ...DEV, lookup: dns.lookup })
      const response = await pinnedFetch(checked, { method: 'POST', body: 'sig', timeoutMs: 5000, ca: CA })
      expect(response).toMatchObject({ status: 200, bodyExcerpt: 'tls ok' })
      expect(seen).toEqual([{ method: 'POST', path: '/in', host: `hooks.example.test:${port}`, body: 'sig' }])
      expect(dns.calls).toEqual(['hooks.example.test'])
    })

    test('a certificate for another name is rejected (verification stays on)', async () => {
      const { seen, port } = tlsRecorder()
      const dns = fakeDns({ 'other.example.test': ['127.0.0.1'] })
      const checked = await resolveChecked(parseWebhookUrl(`https://other.example.test:${port}/in`, DEV), { ...DEV, lookup: dns.lookup })
      const error = await pinnedFetch(checked, { method: 'POST', timeoutMs: 5000, ca: CA }).catch((e: unknown) => e)
      expect((error as PinnedFetchError).kind).toBe('network')
      expect(seen).toHaveLength(0)
    })

    test('an untrusted certificate is rejected', async () => {
      const { port } = tlsRecorder()
      const dns = fakeDns({ 'hooks.example.test': ['127.0.0.1'] })
      const checked = await resolveChecked(parseWebhookUrl(`https://hooks.example.test:${port}/in`, DEV), { ...DEV, lookup: dns.lookup })
      const error = await pinnedFetch(checked, { method: 'POST', timeoutMs: 5000 }).catch((e: unknown) => e)
      expect((error as PinnedFetchError).kind).toBe('network')
    })
  })
})
