// The request path's RESP connection against a fake Redis that misbehaves on purpose: replies cut into single bytes, a handshake to pass, a connection dropped mid-batch.
import { afterEach, expect, test } from 'bun:test'
import type { Socket, TCPSocketListener } from 'bun'
import { openRespConnection, type ReplyTarget, type RespConnection } from '../../src/lib/resp-connection'
import { command } from '../../src/lib/resp-encode'
import { waitFor } from '../helpers/poll'

/** Reads whole RESP commands (arrays of bulk strings) out of what arrived; returns them and what is left. */
function readCommands(buffer: string): { commands: string[][]; rest: string } {
  const commands: string[][] = []
  let at = 0
  outer: while (at < buffer.length) {
    const headEnd = buffer.indexOf('\r\n', at)
    if (headEnd < 0) break
    const count = Number(buffer.slice(at + 1, headEnd))
    let p = headEnd + 2
    const args: string[] = []
    for (let i = 0; i < count; i++) {
      const lenEnd = buffer.indexOf('\r\n', p)
      if (lenEnd < 0) break outer
      const length = Number(buffer.slice(p + 1, lenEnd))
      if (buffer.length < lenEnd + 2 + length + 2) break outer
      args.push(buffer.slice(lenEnd + 2, lenEnd + 2 + length))
      p = lenEnd + 2 + length + 2
    }
    commands.push(args)
    at = p
  }
  return { commands, rest: buffer.slice(at) }
}

interface FakeRedis {
  port: number
  seen: string[][]
  connections: number
  server: TCPSocketListener<{ buffer: string }>
}

/** A fake Redis, reading and writing latin1 (a character a byte): `answer` gives each command's raw reply; `send` writes it (at once, unless told otherwise). */
function fakeRedis(answer: (args: string[], connection: number) => string | null, send?: (socket: Socket<{ buffer: string }>, reply: string) => void): FakeRedis {
  const fake: FakeRedis = { port: 0, seen: [], connections: 0, server: null as never }
  fake.server = Bun.listen<{ buffer: string }>({
    hostname: '127.0.0.1',
    port: 0,
    socket: {
      open(socket) {
        socket.data = { buffer: '' }
        fake.connections++
      },
      data(socket, data) {
        const { commands, rest } = readCommands(socket.data.buffer + data.toString('latin1'))
        socket.data.buffer = rest
        let reply = ''
        for (const args of commands) {
          fake.seen.push(args)
          const one = answer(args, fake.connections)
          if (one === null) return void socket.end()
          reply += one
        }
        if (reply) (send ?? ((s, r) => s.write(Buffer.from(r, 'latin1'))))(socket, reply)
      },
    },
  })
  fake.port = fake.server.port
  return fake
}

const connections: RespConnection[] = []
const fakes: FakeRedis[] = []
afterEach(() => {
  for (const c of connections.splice(0)) c.close()
  for (const f of fakes.splice(0)) f.server.stop(true)
})

function open(url: string): RespConnection {
  const connection = openRespConnection(url, { connectTimeoutMs: 2_000 })
  connections.push(connection)
  return connection
}

/** Sends commands as one batch; resolves each reply (or its error) in order. */
function batch(connection: RespConnection, commands: (string | number)[][]): Promise<{ value: unknown; error: Error | null }[]> {
  return new Promise((resolve) => {
    const replies: { value: unknown; error: Error | null }[] = []
    const target: ReplyTarget = {
      reply(value, error) {
        replies.push({ value, error })
        if (replies.length === commands.length) resolve(replies)
      },
    }
    connection.write(commands.map(([name, ...args]) => ({ ...command(String(name), args), ...target })))
  })
}

test('replies cut into single bytes, nested arrays, nils, integers and errors reach the right caller, in order', async () => {
  const reply = (args: string[]) => {
    if (args[0] === 'PING') return '+PONG\r\n'
    // The fake speaks in latin1, one character a byte: 'hé!' is these 4 UTF-8 bytes.
    if (args[0] === 'NESTED') return `*3\r\n:-42\r\n*2\r\n$4\r\n${Buffer.from('hé!').toString('latin1')}\r\n$-1\r\n*-1\r\n`
    if (args[0] === 'FAIL') return '-NOSCRIPT No matching script\r\n'
    return `$${args[1]!.length}\r\n${args[1]}\r\n`
  }
  // Every byte its own write, a tick apart: every reply arrives in pieces.
  const fake = fakeRedis(reply, (socket, text) => {
    const bytes = Buffer.from(text, 'latin1')
    let i = 0
    const next = () => {
      if (i < bytes.length) socket.write(bytes.subarray(i, ++i))
      if (i < bytes.length) setTimeout(next, 0)
    }
    next()
  })
  fakes.push(fake)
  const connection = open(`redis://127.0.0.1:${fake.port}`)
  await connection.ready
  const replies = await batch(connection, [['ECHO', 'first'], ['NESTED'], ['FAIL'], ['ECHO', 'ünïcode ✓']])
  expect(replies[0]).toEqual({ value: 'first', error: null })
  expect(replies[1]).toEqual({ value: [-42, ['hé!', null], null], error: null })
  expect(replies[2]!.value).toBeUndefined()
  expect(replies[2]!.error?.message).toBe('NOSCRIPT No matching script')
  expect(replies[3]).toEqual({ value: 'ünïcode ✓', error: null })
})

test('the URL says how to log in and which database: AUTH and SELECT go first, and a refused login fails ready', async () => {
  const fake = fakeRedis((args) => {
    if (args[0] === 'AUTH') return args[1] === 'app' && args[2] === 's3cret/x' ? '+OK\r\n' : '-WRONGPASS invalid username-password pair\r\n'
    if (args[0] === 'SELECT') return '+OK\r\n'
    return '+PONG\r\n'
  })
  fakes.push(fake)
  const connection = open(`redis://app:s3cret%2Fx@127.0.0.1:${fake.port}/15`)
  await connection.ready
  expect(fake.seen.slice(0, 3)).toEqual([['AUTH', 'app', 's3cret/x'], ['SELECT', '15'], ['PING']])

  const refused = open(`redis://app:wrong@127.0.0.1:${fake.port}/15`)
  await expect(refused.ready).rejects.toThrow(/WRONGPASS/)
})

test('a connection dropped mid-batch fails what it had not answered, fails new commands at once while down, then reconnects', async () => {
  let dropped = false
  const fake = fakeRedis((args) => {
    if (args[0] === 'PING') return '+PONG\r\n'
    // The first connection dies at the first DROP; later connections answer it.
    if (args[0] === 'DROP' && !dropped) {
      dropped = true
      return null
    }
    return `:${args.length}\r\n`
  })
  fakes.push(fake)
  const connection = open(`redis://127.0.0.1:${fake.port}`)
  await connection.ready
  const replies = await batch(connection, [['DROP'], ['COUNT', 'a', 'b']])
  for (const reply of replies) expect(reply.error?.message).toMatch(/Connection/)
  // Down: nothing is queued for later, the caller hears at once.
  if (!connection.isOpen()) {
    const whileDown = await batch(connection, [['COUNT']])
    expect(whileDown[0]!.error?.message).toMatch(/Connection/)
  }
  await waitFor(() => connection.isOpen(), 5_000, 'the connection back')
  expect(fake.connections).toBeGreaterThanOrEqual(2)
  expect(await batch(connection, [['DROP'], ['COUNT', 'a', 'b']])).toEqual([{ value: 1, error: null }, { value: 3, error: null }])
})
