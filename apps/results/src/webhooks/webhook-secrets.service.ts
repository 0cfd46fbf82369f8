import { ARGUS_CONFIG, type ArgusConfig } from '@argus/config';
import { Inject, Injectable } from '@nestjs/common';
import { ApiKeysService } from '../keys/api-keys.service';

/** Whose secret signs a client's webhooks: a CLI-made key's own, or WEBHOOK_SECRET for keys from API_KEYS. */
@Injectable()
export class WebhookSecrets {
  constructor(
    private readonly keys: ApiKeysService,
    @Inject(ARGUS_CONFIG) private readonly config: ArgusConfig,
  ) {}

  /** The secret, or null when the client has none (its webhooks cannot be signed). */
  async of(clientId: string | null): Promise<string | null> {
    if (clientId?.startsWith('key:')) return this.keys.webhookSecret(clientId);
    return this.config.webhooks.secret || null;
  }
}
