// A call's end told straight to whatever it holds (an upstream pool slot), so a call that ended cleanly is never aborted just to say so.

/**
 * Signals whose owner promises to call endCall() however the call ends. Listening for `abort` instead means an
 * AbortController.abort() and an event dispatch per request, plus adding and removing the listener: ~5% of a JSON
 * request's CPU through the gateway (bun --cpu-prof-md).
 */
const owned = new WeakSet<AbortSignal>()
const onEnd = new WeakMap<AbortSignal, () => void>()

/** Marks a signal as owned: its owner calls endCall() when the call is over, aborted or not. */
export function ownSignal(signal: AbortSignal): AbortSignal {
  owned.add(signal)
  return signal
}

/** Runs `release` when the call ends; false when nobody owns the signal (listen for its abort instead). */
export function whenCallEnds(signal: AbortSignal, release: () => void): boolean {
  if (!owned.has(signal)) return false
  onEnd.set(signal, release)
  return true
}

/** The call is over: whatever it held is released, once. */
export function endCall(signal: AbortSignal): void {
  const release = onEnd.get(signal)
  if (!release) return
  onEnd.delete(signal)
  release()
}
