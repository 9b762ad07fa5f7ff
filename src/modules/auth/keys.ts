// API key minting: a recognisable prefix, 192 bits of randomness, stored only as its SHA-256.
import { hashApiKey } from './service'

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'
const SECRET_LENGTH = 32
/** Every key we mint, and so every key Postgres can know. */
const MINTED_KEY = new RegExp(`^mw_(live|test)_[A-Za-z0-9]{${SECRET_LENGTH}}$`)

/** Whether a presented key has the shape mintApiKey gives; anything else is unknown without asking Postgres. */
export const isMintedKeyFormat = (apiKey: string): boolean => MINTED_KEY.test(apiKey)

export function randomBase62(length: number): string {
  // Rejection sampling keeps every character uniform (256 is not a multiple of 62).
  const out: string[] = []
  while (out.length < length) {
    for (const byte of crypto.getRandomValues(new Uint8Array(length * 2))) {
      if (byte < 248 && out.length < length) out.push(ALPHABET[byte % 62]!)
    }
  }
  return out.join('')
}

export interface MintedKey {
  id: string
  /** Shown once to the caller, never stored. */
  key: string
  hash: string
  /** The prefix and first characters, to tell keys apart in lists. */
  display: string
}

export function mintApiKey(mode: 'live' | 'test' = 'live'): MintedKey {
  const key = `mw_${mode}_${randomBase62(SECRET_LENGTH)}`
  return { id: `key_${randomBase62(16)}`, key, hash: hashApiKey(key), display: `${key.slice(0, 12)}…` }
}
