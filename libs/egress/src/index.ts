export { AddressPolicy, refusedRange, type Verdict } from './address-policy';
export { checkUrl, EgressError, type EgressFailure, type FetchedResponse, fetchUrl, type FetchOptions, isEgressError, parseHttpUrl, type ResolvedAddress, type Resolver } from './fetch-url';
