// The package re-declares the API's shapes instead of importing the workspace's contracts (it must
// stand alone once published). This spec is where the two meet: if the server's contracts change
// in a way the client's types do not accept, the typecheck of this file fails.
// eslint-disable-next-line @nx/enforce-module-boundaries -- a spec only: it checks the package's copy against the contracts, and is never built into the package
import { type BatchResult, type BatchView, type DetectionPage, type DetectionView, ERROR_CODES, type ErrorBody, type ModelSummary, PRIORITIES, type WebhookEvent } from '@argus/contracts';
import type * as Client from './types';

/** True when every value of A is a value of B. */
type Fits<A, B> = [A] extends [B] ? true : false;
const fits = <T extends true>(value: T) => value;

describe('the client’s copy of the API types', () => {
  it('accepts everything the server’s contracts may send', () => {
    expect([
      fits<Fits<DetectionView, Client.DetectionView>>(true),
      fits<Fits<DetectionPage, Client.DetectionPage>>(true),
      fits<Fits<ModelSummary, Client.ModelSummary>>(true),
      fits<Fits<ErrorBody, Client.ErrorBody>>(true),
      fits<Fits<(typeof PRIORITIES)[number], Client.Priority>>(true),
      fits<Fits<(typeof ERROR_CODES)[number], Client.ApiErrorCode>>(true),
      fits<Fits<BatchView, Client.BatchView>>(true),
      fits<Fits<BatchResult, Client.BatchResult>>(true),
      fits<Fits<WebhookEvent, Client.WebhookEvent>>(true),
    ]).toEqual(Array(9).fill(true));
  });

  it('names every error code and priority the contracts define', () => {
    const codes: Record<Client.ApiErrorCode, true> = {
      validation_failed: true, missing_image: true, unknown_model: true, unknown_class: true, not_found: true,
      idempotency_key_reused: true, not_ready: true, unauthorized: true, forbidden: true, rate_limited: true,
      payload_too_large: true, url_not_allowed: true, url_fetch_failed: true, empty_image: true, not_an_image: true, unsupported_image_type: true,
      truncated_image: true, corrupt_image: true, image_too_large: true, image_expired: true, invalid_model: true,
      no_models: true, model_unavailable: true, overloaded: true, unavailable: true, deadline_exceeded: true, inference_failed: true, internal_error: true,
    };
    expect(Object.keys(codes).sort()).toEqual([...ERROR_CODES].sort());
    const priorities: Record<Client.Priority, true> = { high: true, normal: true, low: true };
    expect(Object.keys(priorities).sort()).toEqual([...PRIORITIES].sort());
  });
});
