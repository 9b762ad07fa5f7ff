// A local stand-in for Stripe.js, put into a page through @meterway/elements' loadStripe seam: what @stripe/react-stripe-js, PaymentElement and confirmPayment need, confirming against the fake Stripe.

// The page's globals; this runs in Chromium, and the file is typed without the DOM library.
declare const window: any, document: any
type HTMLElement = { appendChild(node: unknown): void }

/**
 * Page script (for page.addInitScript) defining `window.meterwayLoadStripe`, the seam the example page hands to
 * <MeterwayProvider loadStripe>. Its PaymentElement is a plain test-card form; confirmPayment confirms the
 * PaymentIntent on the fake Stripe as Stripe.js does from a browser (publishable key and client secret, no secret
 * key), and the fake then sends its signed payment_intent.succeeded to the gateway.
 */
export function stripeStandInScript(fakeStripeUrl: string): string {
  return `(${standIn.toString()})(${JSON.stringify(fakeStripeUrl)})`
}

/** Runs in the page: no imports, no closures over this module. */
function standIn(apiBase: string): void {
  type Handler = (event?: unknown) => void
  const w = window as { meterwayLoadStripe: (key: string) => Promise<unknown>; stripeStandIn: { loads: string[]; confirms: string[] } }
  const record = { loads: [] as string[], confirms: [] as string[] }
  w.stripeStandIn = record
  w.meterwayLoadStripe = async (publishableKey: string) => {
    record.loads.push(publishableKey)
    const notInStandIn = (name: string) => () => {
      throw new Error(`stripe stand-in: ${name} is not implemented`)
    }
    return {
      _registerWrapper() {},
      registerAppInfo() {},
      createToken: notInStandIn('createToken'),
      createPaymentMethod: notInStandIn('createPaymentMethod'),
      confirmCardPayment: notInStandIn('confirmCardPayment'),
      elements(options: { clientSecret?: string }) {
        const created: unknown[] = []
        return {
          clientSecret: options.clientSecret,
          update() {},
          getElement: () => created[0] ?? null,
          submit: async () => ({}),
          create(type: string) {
            const handlers = new Map<string, Handler[]>()
            let node: { remove(): void } | null = null
            const element = {
              mount(target: HTMLElement) {
                const form = document.createElement('div')
                form.setAttribute('data-testid', 'stripe-stand-in-' + type)
                form.style.cssText = 'border:1px solid #ccc;border-radius:6px;padding:12px;margin:8px 0;font:14px system-ui'
                form.textContent = 'Card 4242 4242 4242 4242 · 12/34 · 123 (Stripe.js stand-in, test mode)'
                target.appendChild(form)
                node = form
                setTimeout(() => handlers.get('ready')?.forEach((handler) => handler({ elementType: type })), 0)
              },
              on(event: string, handler: Handler) {
                handlers.set(event, [...(handlers.get(event) ?? []), handler])
                return element
              },
              off(event: string, handler: Handler) {
                handlers.set(event, (handlers.get(event) ?? []).filter((h) => h !== handler))
                return element
              },
              update() {},
              unmount() {
                node?.remove()
              },
              destroy() {
                node?.remove()
              },
            }
            created.push(element)
            return element
          },
        }
      },
      async confirmPayment(params: { elements?: { clientSecret?: string }; clientSecret?: string }) {
        const secret = params.clientSecret ?? params.elements?.clientSecret
        if (!secret) return { error: { type: 'invalid_request_error', message: 'stripe stand-in: no client secret' } }
        const id = secret.split('_secret_')[0]!
        record.confirms.push(id)
        const response = await fetch(apiBase + '/v1/payment_intents/' + encodeURIComponent(id) + '/confirm', {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ key: publishableKey, client_secret: secret, payment_method: 'pm_card_visa' }),
        })
        const body = (await response.json()) as { error?: { message: string } }
        return response.ok ? { paymentIntent: body } : { error: body.error }
      },
    }
  }
}
