// <Chat model/>: a conversation with one model, its replies streamed in as they arrive, paid from the session's wallet.
import { useState, type FormEvent } from 'react'
import { useChat } from './hooks'

export interface ChatProps {
  model: string
  system?: string
  maxTokens?: number
  placeholder?: string
}

export function Chat({ model, system, maxTokens, placeholder = 'Ask anything…' }: ChatProps) {
  const chat = useChat({ model, ...(system ? { system } : {}), ...(maxTokens ? { maxTokens } : {}) })
  const [draft, setDraft] = useState('')
  const submit = (event: FormEvent) => {
    event.preventDefault()
    const text = draft.trim()
    if (!text || chat.streaming) return
    setDraft('')
    void chat.send(text)
  }
  return (
    <section className="mw-chat" data-testid="mw-chat" aria-busy={chat.streaming}>
      <ol className="mw-chat-turns" style={{ listStyle: 'none', padding: 0 }}>
        {chat.turns.map((turn, index) => (
          <li key={index} className={`mw-turn mw-turn-${turn.role}`} data-role={turn.role} style={{ margin: '0.5em 0', fontWeight: turn.role === 'user' ? 600 : 400 }}>
            {turn.content}
          </li>
        ))}
      </ol>
      {chat.error ? (
        <p role="alert" className="mw-error" data-code={(chat.error as { code?: string }).code ?? ''} style={{ color: '#b00020' }}>
          {chat.error.message}
        </p>
      ) : null}
      <form onSubmit={submit} style={{ display: 'flex', gap: '0.5em' }}>
        <input aria-label="Message" value={draft} placeholder={placeholder} onChange={(event) => setDraft(event.target.value)} style={{ flex: 1 }} />
        {chat.streaming ? (
          <button type="button" onClick={chat.stop}>
            Stop
          </button>
        ) : (
          <button type="submit">Send</button>
        )}
      </form>
    </section>
  )
}
