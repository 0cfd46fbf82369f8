import { Injectable } from '@nestjs/common';
import { KeyVerifier } from '../auth/key-verifier.service';

/**
 * The API key check for graphql-ws connections: WebSocket upgrades bypass Express middleware,
 * so the HTTP check never sees them. Same keys, same verifier.
 */
@Injectable()
export class GraphqlWsAuth {
  constructor(private readonly verifier: KeyVerifier) {}

  /** Whether a connection presenting `key` may subscribe. */
  async allows(key: string | undefined): Promise<boolean> {
    if (!key) return false;
    return (await this.verifier.verify(key)) !== null;
  }
}
