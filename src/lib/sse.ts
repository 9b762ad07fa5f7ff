// Incremental Server-Sent Events parser: text in, (event, data) out; lines may end in \n, \r\n or \r, split anywhere.

export type SseHandler = (event: string, data: string) => void

export class SseParser {
  private pending = ''
  /** The previous piece ended in \r: a \n starting the next piece belongs to that line ending. */
  private skipLeadingNewline = false
  private eventName = ''
  private data = ''
  private hasData = false

  constructor(private readonly onEvent: SseHandler) {}

  /** Feeds decoded text; dispatches every event completed by it. */
  push(piece: string): void {
    let text = piece
    if (this.skipLeadingNewline) {
      this.skipLeadingNewline = false
      if (text.charCodeAt(0) === 10) text = text.slice(1)
    }
    if (this.pending) {
      text = this.pending + text
      this.pending = ''
    }
    const length = text.length
    let lineStart = 0
    // Positions of the next \n and \r, each found once and reused until passed: linear in the piece's length.
    let nextLf = text.indexOf('\n')
    let nextCr = text.indexOf('\r')
    while (lineStart < length) {
      if (nextLf !== -1 && nextLf < lineStart) nextLf = text.indexOf('\n', lineStart)
      if (nextCr !== -1 && nextCr < lineStart) nextCr = text.indexOf('\r', lineStart)
      let lineEnd: number
      let nextStart: number
      if (nextCr !== -1 && (nextLf === -1 || nextCr < nextLf)) {
        lineEnd = nextCr
        if (nextCr + 1 < length) nextStart = text.charCodeAt(nextCr + 1) === 10 ? nextCr + 2 : nextCr + 1
        else {
          nextStart = length
          this.skipLeadingNewline = true
        }
      } else if (nextLf !== -1) {
        lineEnd = nextLf
        nextStart = nextLf + 1
      } else {
        this.pending = text.slice(lineStart)
        return
      }
      this.line(text, lineStart, lineEnd)
      lineStart = nextStart
    }
  }

  /** The stream ended: a last unterminated line and event are still delivered. */
  end(): void {
    if (this.pending) {
      const rest = this.pending
      this.pending = ''
      this.line(rest, 0, rest.length)
    }
    this.dispatch()
  }

  private line(text: string, start: number, end: number): void {
    if (start === end) {
      this.dispatch()
      return
    }
    const first = text.charCodeAt(start)
    if (first === 58 /* ':' comment */) return
    const colon = text.indexOf(':', start)
    let field: string
    let value: string
    if (colon === -1 || colon >= end) {
      field = text.slice(start, end)
      value = ''
    } else {
      field = text.slice(start, colon)
      const valueStart = text.charCodeAt(colon + 1) === 32 ? colon + 2 : colon + 1
      value = text.slice(valueStart, end)
    }
    if (field === 'data') {
      this.data = this.hasData ? `${this.data}\n${value}` : value
      this.hasData = true
    } else if (field === 'event') {
      this.eventName = value
    }
    // id and retry mean nothing to a relay; unknown fields are ignored as the spec says.
  }

  private dispatch(): void {
    if (this.hasData) {
      const event = this.eventName || 'message'
      const data = this.data
      this.data = ''
      this.hasData = false
      this.eventName = ''
      this.onEvent(event, data)
    } else {
      this.eventName = ''
    }
  }
}
