import { ARGUS_CONFIG, type ArgusConfig } from '@argus/config';
import { AddressPolicy } from '@argus/egress';
import type { Provider } from '@nestjs/common';

/** Injection token of the address policy callbacks are delivered under (URL_FETCH_ALLOW). */
export const ADDRESS_POLICY = Symbol('ADDRESS_POLICY');

/** The policy, built once from the configuration (a bad entry stops the app at start). */
export const addressPolicyProvider: Provider = {
  provide: ADDRESS_POLICY,
  inject: [ARGUS_CONFIG],
  useFactory: (config: ArgusConfig) => new AddressPolicy(config.urlFetch.allow),
};
