import { ARGUS_CONFIG, type ArgusConfig } from '@argus/config';
import { AddressPolicy, checkUrl, type EgressError, fetchUrl, isEgressError, parseHttpUrl } from '@argus/egress';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { ApiError } from '../errors/api-error';

/**
 * Pure: the API error for an outbound request that failed. A URL that is not http(s) is the
 * request's fault (400 validation_failed); an address the policy refuses, the deployment's rule
 * (403 url_not_allowed, whether the URL or one it redirects to names it); anything that went wrong
 * fetching it (DNS, timeout, an error status, too large, too many redirects) is 422
 * url_fetch_failed with the reason.
 */
export function egressApiError(error: EgressError, field: string): ApiError {
  switch (error.reason) {
    case 'invalid_url':
      return new ApiError('validation_failed', `${field}: ${error.message}`);
    case 'not_allowed':
      return new ApiError('url_not_allowed', `${field}: ${error.message}`);
    default:
      return new ApiError('url_fetch_failed', `${field}: could not fetch the image: ${error.message}`);
  }
}

/**
 * Images given by URL instead of bytes, and callback URLs: both name addresses Argus connects to
 * on the client's behalf, so both go through the address policy (URL_FETCH_ALLOW), DNS resolved
 * here and the connection pinned to the checked address.
 */
@Injectable()
export class ImageSources {
  private readonly logger = new Logger(ImageSources.name);
  private readonly policy: AddressPolicy;

  constructor(@Inject(ARGUS_CONFIG) private readonly config: ArgusConfig) {
    this.policy = new AddressPolicy(config.urlFetch.allow);
  }

  /**
   * The bytes at an image URL (at most 3 redirects, MAX_IMAGE_BYTES or `maxBytes`, within
   * URL_FETCH_TIMEOUT_MS), to be treated exactly like an upload. Throws the API error of the failure.
   */
  async fetch(text: string, field = 'url', maxBytes = this.config.limits.maxImageBytes): Promise<Buffer> {
    const started = performance.now();
    try {
      const url = parseHttpUrl(text, field);
      const answer = await fetchUrl(url, { policy: this.policy, timeoutMs: this.config.urlFetch.timeoutMs, maxBytes, headers: { accept: 'image/*' } });
      this.logger.log({ msg: 'image fetched', host: url.host, bytes: answer.body.length, ms: Math.round(performance.now() - started) });
      return answer.body;
    } catch (error) {
      if (isEgressError(error)) throw egressApiError(error, field);
      throw error;
    }
  }

  /**
   * Checks a callback URL when it is given: http(s), a host that resolves, an address the policy
   * allows, and a client whose webhooks can be signed. Deliveries check it again, pinned.
   */
  async checkCallback(text: string, caller: { clientId: string; webhooks?: boolean }): Promise<string> {
    if (!caller.webhooks) {
      throw new ApiError(
        'validation_failed',
        caller.clientId.startsWith('key:')
          ? 'callbackUrl: this API key has no webhook secret to sign with; an operator gives it one with `keys webhook-secret <id>`'
          : 'callbackUrl: no webhook secret is configured for this API key (WEBHOOK_SECRET)',
      );
    }
    try {
      const url = parseHttpUrl(text, 'callbackUrl');
      await checkUrl(url, this.policy);
      return url.toString();
    } catch (error) {
      if (!isEgressError(error)) throw error;
      if (error.reason === 'dns') throw new ApiError('validation_failed', `callbackUrl: ${error.message}`);
      throw egressApiError(error, 'callbackUrl');
    }
  }
}
