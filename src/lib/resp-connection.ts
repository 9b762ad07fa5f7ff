// One pipelined RESP2 connection to one Redis: a batch of commands goes out in one write (one per 64 KB), replies come back in order to their targets; it reconnects by itself.
import type { Socket } from 'bun'
import { command, RespWriter, type OutgoingCommand } from './resp-encode'

/** Gets one command's reply: its value, or the error Redis (or a lost connection) gave it. */
export interface ReplyTarget {
  reply(value: unknown, error: Error | null): void
}

export interface RespConnection {
  /** Resolves once connected (and authenticated, and on its database); rejects if the first attempt fails. */
  readonly ready: Promise<void>
  /** Connected and past the handshake: a command given now is written now. */
  isOpen(): boolean
  /** Writes the commands, encoded as they go into the socket's buffer; each gets its reply, in the same order. */
  write(commands: readonly (OutgoingCommand & ReplyTarget)[]): void
  close(): void
}

export class RedisConnectionError extends Error {}

const RECONNECT_MIN_MS = 50
const RECONNECT_MAX_MS = 2_000

/** Where a parse stopped because the reply is not all here yet. */
const INCOMPLETE = Symbol('incomplete')

/**
 * Reads one reply at `at`: [value, next offset], or INCOMPLETE. RESP2 only (the connection never says HELLO 3): simple
 * strings, errors (as Error values), integers, bulk strings (UTF-8), arrays, and nil for both null forms.
 */
function parseReply(buf: Buffer, at: number): [unknown, number] | typeof INCOMPLETE {
  const lineEnd = buf.indexOf(13, at + 1)
  if (lineEnd < 0 || lineEnd + 1 >= buf.length) return INCOMPLETE
  const type = buf[at]
  const next = lineEnd + 2
  switch (type) {
    case 43: // +
      return [buf.toString('utf8', at + 1, lineEnd), next]
    case 45: // -
      return [new Error(buf.toString('utf8', at + 1, lineEnd)), next]
    case 58: // :
      return [readInteger(buf, at + 1, lineEnd), next]
    case 36: { // $
      const length = readInteger(buf, at + 1, lineEnd)
      if (length < 0) return [null, next]
      if (next + length + 2 > buf.length) return INCOMPLETE
      return [buf.toString('utf8', next, next + length), next + length + 2]
    }
    case 42: { // *
      const count = readInteger(buf, at + 1, lineEnd)
      if (count < 0) return [null, next]
      const items: unknown[] = new Array(count)
      let offset = next
      for (let i = 0; i < count; i++) {
        if (offset >= buf.length) return INCOMPLETE
        const item = parseReply(buf, offset)
        if (item === INCOMPLETE) return INCOMPLETE
        items[i] = item[0]
        offset = item[1]
      }
      return [items, offset]
    }
    default:
      throw new RedisConnectionError(`Redis sent an unknown reply type ${JSON.stringify(String.fromCharCode(type ?? 0))}`)
  }
}

function readInteger(buf: Buffer, from: number, to: number): number {
  let negative = false
  let i = from
  if (buf[i] === 45) {
    negative = true
    i++
  }
  let n = 0
  for (; i < to; i++) n = n * 10 + (buf[i]! - 48)
  return negative ? -n : n
}

interface Endpoint {
  hostname: string
  port: number
  tls: boolean
  username: string
  password: string
  db: number
}

function endpointOf(url: string): Endpoint {
  const u = new URL(url)
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new RedisConnectionError(`expected a redis:// or rediss:// URL, got ${u.protocol}`)
  const db = u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0
  if (!Number.isInteger(db) || db < 0) throw new RedisConnectionError(`the database in a Redis URL is a number, got ${JSON.stringify(u.pathname.slice(1))}`)
  return {
    hostname: u.hostname.replace(/^\[|\]$/g, ''),
    port: u.port ? Number(u.port) : 6379,
    tls: u.protocol === 'rediss:',
    username: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
    db,
  }
}

/** A target that only needs to know the handshake went through. */
const handshakeStep = (onError: (error: Error) => void): ReplyTarget => ({
  reply: (value, error) => {
    const failure = error ?? (value instanceof Error ? value : null)
    if (failure) onError(failure)
  },
})

/**
 * Opens the connection at once. While it is down, write() fails its targets at once (nothing is queued offline: the
 * caller decides what a missing Redis means) and it reconnects in the background, backing off to 2 s. Why not Bun's
 * own RedisClient: 50 loops each running EVALSHA back to back on this 2-core VM cost it ~10 µs of CPU per command
 * (5.8 µs of it in the kernel: its writes are not gathered) against ~3.7 µs (1.0 in the kernel) for a batch written
 * at once as here; admission is on every request's path.
 */
export function openRespConnection(url: string, options: { connectTimeoutMs: number }): RespConnection {
  const endpoint = endpointOf(url)
  let socket: Socket<undefined> | null = null
  let open = false
  let closed = false
  let retryMs = RECONNECT_MIN_MS
  let pending: ReplyTarget[] = []
  let head = 0
  let unread: Buffer | null = null
  /** Bytes the socket did not take yet: written, in order, when it drains. */
  let backlog: Buffer[] = []
  /** Encodes each batch into one kept buffer, handing it to the socket every time it fills. */
  const writer = new RespWriter(writeBytes)

  let settleReady: { resolve: () => void; reject: (error: Error) => void } | null = null
  const ready = new Promise<void>((resolve, reject) => (settleReady = { resolve, reject }))
  ready.catch(() => {})

  function failPending(error: Error): void {
    const targets = pending
    const from = head
    pending = []
    head = 0
    unread = null
    backlog = []
    for (let i = from; i < targets.length; i++) targets[i]!.reply(undefined, error)
  }

  /** The current attempt: events of an earlier socket (a late close, a connect given up on) change nothing. */
  let generation = 0

  function lost(attempt: number, error: Error): void {
    if (attempt !== generation) return
    generation++
    open = false
    socket?.terminate()
    socket = null
    failPending(error)
    settleReady?.reject(error)
    settleReady = null
    if (closed) return
    setTimeout(connect, retryMs)
    retryMs = Math.min(retryMs * 2, RECONNECT_MAX_MS)
  }

  function onData(data: Buffer): void {
    let buf = unread ? Buffer.concat([unread, data]) : data
    let offset = 0
    const attempt = generation
    try {
      while (offset < buf.length && attempt === generation) {
        const parsed = parseReply(buf, offset)
        if (parsed === INCOMPLETE) break
        offset = parsed[1]
        const target = pending[head]
        if (!target) throw new RedisConnectionError('Redis sent a reply nobody asked for')
        pending[head++] = undefined as never
        const value = parsed[0]
        if (value instanceof Error) target.reply(undefined, value)
        else target.reply(value, null)
      }
    } catch (error) {
      lost(attempt, error instanceof Error ? error : new RedisConnectionError(String(error)))
      return
    }
    // A reply's caller may have ended this connection: what is left of its bytes is not the next one's.
    if (attempt !== generation) return
    unread = offset < buf.length ? buf.subarray(offset) : null
    if (head === pending.length) {
      pending = []
      head = 0
    } else if (head > 1024) {
      pending = pending.slice(head)
      head = 0
    }
    buf = undefined as never
  }

  /** One write of bytes the writer encoded; what the socket does not take now is copied and goes when it drains. */
  function writeBytes(bytes: Uint8Array): void {
    if (!socket) return
    if (backlog.length > 0) {
      backlog.push(Buffer.from(bytes))
      return
    }
    const sent = socket.write(bytes)
    if (sent < bytes.length) backlog.push(Buffer.from(bytes.subarray(Math.max(0, sent))))
  }

  function flushBacklog(): void {
    while (socket && backlog.length > 0) {
      const next = backlog[0]!
      const written = socket.write(next)
      if (written < next.length) {
        backlog[0] = next.subarray(Math.max(0, written))
        return
      }
      backlog.shift()
    }
  }

  function handshake(s: Socket<undefined>, done: () => void): void {
    const steps: OutgoingCommand[] = []
    if (endpoint.password) steps.push(command('AUTH', endpoint.username ? [endpoint.username, endpoint.password] : [endpoint.password]))
    if (endpoint.db !== 0) steps.push(command('SELECT', [endpoint.db]))
    steps.push(command('PING', []))
    let failed = false
    const onError = (error: Error) => {
      // The connection itself went (a TLS certificate refused, a reset): lost() says so, with its own reason.
      if (failed || error instanceof RedisConnectionError) return
      failed = true
      const refused = new RedisConnectionError(`Redis refused the connection's setup: ${error.message}`)
      settleReady?.reject(refused)
      settleReady = null
      lost(generation, refused)
    }
    for (let i = 0; i < steps.length - 1; i++) pending.push(handshakeStep(onError))
    pending.push({
      reply: (value, error) => {
        if (error || failed) return error ? onError(error) : undefined
        open = true
        done()
        retryMs = RECONNECT_MIN_MS
        settleReady?.resolve()
        settleReady = null
      },
    })
    writer.write(steps)
  }

  function connect(): void {
    if (closed) return
    const attempt = generation
    const mine = (s: Socket<undefined>) => attempt === generation && (socket === null || socket === s)
    // Bun.connect has no timeout of its own: an attempt not through its handshake in time is given up and retried.
    const giveUp = setTimeout(() => {
      if (attempt === generation && !open) lost(attempt, new RedisConnectionError(`Connection not ready within ${options.connectTimeoutMs} ms`))
    }, options.connectTimeoutMs)
    Bun.connect<undefined>({
      hostname: endpoint.hostname,
      port: endpoint.port,
      ...(endpoint.tls ? { tls: { serverName: endpoint.hostname } } : {}),
      socket: {
        open: (s) => {
          if (!mine(s)) return void s.terminate()
          socket = s
          s.setNoDelay(true)
          handshake(s, () => clearTimeout(giveUp))
        },
        data: (s, data) => {
          if (mine(s)) onData(data)
        },
        drain: (s) => {
          if (mine(s)) flushBacklog()
        },
        // rediss:// only: a certificate that does not verify ends the connection, and this says why.
        handshake: (s, success, authorizationError) => {
          if (mine(s) && (!success || authorizationError)) lost(attempt, new RedisConnectionError(`TLS handshake with Redis failed: ${authorizationError?.message ?? 'refused'}`))
        },
        close: (s) => {
          if (mine(s)) lost(attempt, new RedisConnectionError('Connection closed'))
        },
        error: (s, error) => {
          if (mine(s)) lost(attempt, new RedisConnectionError(`Connection error: ${error.message}`))
        },
        connectError: (_s, error) => lost(attempt, new RedisConnectionError(`Connection failed: ${error.message}`)),
      },
    }).catch((error: Error) => lost(attempt, new RedisConnectionError(`Connection failed: ${error.message}`)))
  }

  connect()

  return {
    ready,
    isOpen: () => open,
    write(commands) {
      if (!open || !socket) {
        const error = new RedisConnectionError('Connection closed')
        for (const target of commands) target.reply(undefined, error)
        return
      }
      for (const target of commands) pending.push(target)
      writer.write(commands)
    },
    close() {
      closed = true
      lost(generation, new RedisConnectionError('Connection closed'))
    },
  }
}
