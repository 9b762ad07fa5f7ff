// Customers: create, retrieve and delete, kept in one map per fake.
import type { Clock } from './constants'
import { nested, randomId, stripeError, type Answer } from './form'

export interface FakeCustomer {
  id: string
  object: 'customer'
  created: number
  name: string | null
  email: string | null
  description: string | null
  metadata: Record<string, string>
  livemode: false
  deleted?: true
}

export function noSuchCustomer(id: string, param: string): Answer {
  return stripeError(400, 'invalid_request_error', `No such customer: '${id}'`, { code: 'resource_missing', param })
}

export function customerStore(clock: Clock) {
  const customers = new Map<string, FakeCustomer>()

  function create(form: Record<string, string>): Answer {
    const customer: FakeCustomer = {
      id: randomId('cus'),
      object: 'customer',
      created: clock.seconds(),
      name: form.name ?? null,
      email: form.email ?? null,
      description: form.description ?? null,
      metadata: nested(form, 'metadata'),
      livemode: false,
    }
    customers.set(customer.id, customer)
    return { status: 200, body: customer }
  }

  function retrieve(id: string): Answer {
    const customer = customers.get(id)
    if (!customer) return { ...noSuchCustomer(id, 'id'), status: 404 }
    return { status: 200, body: customer.deleted ? { id, object: 'customer', deleted: true } : customer }
  }

  function remove(id: string): Answer {
    const customer = customers.get(id)
    if (!customer || customer.deleted) return { ...noSuchCustomer(id, 'id'), status: 404 }
    customer.deleted = true
    return { status: 200, body: { id, object: 'customer', deleted: true } }
  }

  /** True for a customer that exists and is not deleted. */
  const live = (id: string) => customers.has(id) && !customers.get(id)!.deleted

  return { customers, create, retrieve, remove, live }
}

export type CustomerStore = ReturnType<typeof customerStore>
