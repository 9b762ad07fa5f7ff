// The billing module's own error meanings; the shared ones (400, 502, 503) come from src/errors.ts.
import { GatewayError } from '../../errors'

/** A second checkout would start a second, parallel subscription: refused while one is still in force. */
export class SubscriptionExistsError extends GatewayError {
  constructor(status: string) {
    super(409, 'invalid_request_error', `This account already has a Pro subscription (status '${status}'); there is nothing to check out.`, 'subscription_exists')
  }
}
