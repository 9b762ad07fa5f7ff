// RESP commands encoded straight into one kept buffer as they are written: no command, and no batch, is ever a string of its own.

/**
 * A command to write: `head` is its start, encoded once and often kept (the command's name and any fixed first
 * arguments, see encodeCommandHead), and `args` the rest, encoded into the buffer when the command is written.
 */
export interface OutgoingCommand {
  readonly head: string
  readonly args: readonly (string | number)[]
}

const CRLF = '\r\n'
const CR = 13
const LF = 10
const DOLLAR = 36
/** The most bytes an argument's length prefix ($<digits>\r\n) and its ending \r\n take. */
const ARGUMENT_OVERHEAD = 24
/** Room for a whole number's argument (its 16 digits at most, and the overhead) in a buffer of any size allowed. */
const MIN_BYTES = 64

/**
 * The start of a command whose first arguments are always the same (a script's SHA and an account's keys), for a
 * command of `total` arguments in all: its head, with the rest of its arguments in `args`.
 */
export function encodeCommandHead(command: string, first: readonly (string | number)[], total: number): string {
  let out = `*${total + 1}${CRLF}$${command.length}${CRLF}${command}${CRLF}`
  for (const arg of first) {
    const text = String(arg)
    out += `$${Buffer.byteLength(text)}${CRLF}${text}${CRLF}`
  }
  return out
}

/** A command as Redis names it, all its arguments encoded when it is written. */
export function command(name: string, args: readonly (string | number)[]): OutgoingCommand {
  return { head: encodeCommandHead(name, [], args.length), args }
}

/**
 * Encodes commands into one buffer kept for the purpose and hands it to `out` each time it fills, and once at the end.
 * `out` must be done with the bytes when it returns (write them, or copy what it keeps): the buffer is reused.
 *
 * Why not a string per command, joined into one string per batch: with 10,000 streams open, each turn of checkpoints
 * (a tenth of them, every 100 ms) was a ~1 MB batch, built from ~1 KB strings, flattened, and encoded into a buffer
 * grown to 3 MB for it. With every stream's 64 KB read buffer counted in the heap, the GC lets such garbage pile up for
 * seconds: the gateway's RSS grew ~1.3 KB a stream for each second 4,000 streams of bench/slow-upstream.ts stayed
 * open, ~1.05 KB with this writer.
 */
export class RespWriter {
  private readonly buffer: Buffer
  private filled = 0

  constructor(
    private readonly out: (bytes: Uint8Array) => void,
    bytes = 64 * 1024,
  ) {
    this.buffer = Buffer.allocUnsafe(Math.max(bytes, MIN_BYTES))
  }

  write(commands: readonly OutgoingCommand[]): void {
    for (const c of commands) {
      this.raw(c.head)
      for (const arg of c.args) {
        if (typeof arg === 'number' && Number.isSafeInteger(arg) && arg >= 0) this.integer(arg)
        else this.bulk(typeof arg === 'string' ? arg : String(arg))
      }
    }
    this.flush()
  }

  private flush(): void {
    if (this.filled === 0) return
    const bytes = this.buffer.subarray(0, this.filled)
    this.filled = 0
    this.out(bytes)
  }

  /** Makes room for `bytes` more, if they can fit at all. */
  private room(bytes: number): boolean {
    if (this.filled + bytes > this.buffer.length) this.flush()
    return bytes <= this.buffer.length
  }

  private raw(text: string): void {
    const length = Buffer.byteLength(text)
    if (this.room(length)) this.filled += this.buffer.write(text, this.filled)
    else this.out(Buffer.from(text))
  }

  /**
   * A whole number as a bulk string, its digits written straight into the buffer. Split at 10^9 so that every division
   * is on an int32: a double's `%` and Math.floor cost ~150 ns an argument (a request sends about ten: Date.now(), the
   * limits, the costs), int32 arithmetic a tenth of it.
   */
  private integer(n: number): void {
    this.room(ARGUMENT_OVERHEAD + 16)
    // A safe integer over 10^9 splits exactly: high < 2^53 / 10^9 < 2^31, low < 10^9.
    const high = n >= BILLION ? Math.floor(n / BILLION) : 0
    const low = n - high * BILLION
    const highDigits = high > 0 ? digitCount(high) : 0
    const lowDigits = high > 0 ? 9 : digitCount(low)
    const b = this.buffer
    b[this.filled++] = DOLLAR
    this.digits(highDigits + lowDigits)
    b[this.filled++] = CR
    b[this.filled++] = LF
    if (high > 0) this.digits(high, highDigits)
    this.digits(low, lowDigits)
    b[this.filled++] = CR
    b[this.filled++] = LF
  }

  private bulk(text: string): void {
    const length = Buffer.byteLength(text)
    if (length + ARGUMENT_OVERHEAD > this.buffer.length) return this.oversized(text, length)
    this.room(length + ARGUMENT_OVERHEAD)
    const b = this.buffer
    b[this.filled++] = DOLLAR
    this.digits(length)
    b[this.filled++] = CR
    b[this.filled++] = LF
    this.filled += b.write(text, this.filled)
    b[this.filled++] = CR
    b[this.filled++] = LF
  }

  /**
   * An argument longer than the buffer (a big usage batch): it goes out in one write with what the buffer holds before
   * it, in the one copy it needs anyway. Written apart, the command's start, its length and the argument were three
   * writes (four with the rest of the batch), each waking Redis to read an unfinished command.
   */
  private oversized(text: string, length: number): void {
    const prefix = `$${length}${CRLF}`
    const whole = Buffer.allocUnsafe(this.filled + prefix.length + length + 2)
    let at = this.buffer.copy(whole, 0, 0, this.filled)
    at += whole.write(prefix, at, 'latin1')
    at += whole.write(text, at)
    whole[at++] = CR
    whole[at] = LF
    this.filled = 0
    this.out(whole)
  }

  /** Writes the decimal digits of a whole number below 2^31 (`count` of them, zero-padded, when given). */
  private digits(n: number, count: number = digitCount(n)): void {
    const b = this.buffer
    let at = this.filled + count
    this.filled = at
    let rest = n | 0
    for (let i = 0; i < count; i++) {
      const tenth = (rest / 10) | 0
      b[--at] = 48 + (rest - tenth * 10)
      rest = tenth
    }
  }
}

const BILLION = 1_000_000_000

/** Decimal digits of a whole number below 2^31. */
function digitCount(n: number): number {
  let digits = 1
  for (let rest = n | 0; rest >= 10; rest = (rest / 10) | 0) digits++
  return digits
}
