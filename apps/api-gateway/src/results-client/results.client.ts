import { ARGUS_CONFIG, type ArgusConfig } from '@argus/config';
import { type ApiKeyDirectory, type ApiKeyGrant, type DetectionListQuery, type DetectionPage, type DetectionView, type ReadScope, ResultsRpc, type ResultsHealth } from '@argus/contracts';
import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { type ClientProxy, ClientProxyFactory, Transport } from '@nestjs/microservices';
import { firstValueFrom, timeout } from 'rxjs';

/** The gateway's only way to Postgres: questions to apps/results over TCP. */
@Injectable()
export class ResultsClient implements OnApplicationShutdown {
  private readonly client: ClientProxy;
  private readonly timeoutMs: number;

  constructor(@Inject(ARGUS_CONFIG) config: ArgusConfig) {
    this.client = ClientProxyFactory.create({
      transport: Transport.TCP,
      options: { host: config.results.rpcHost, port: config.results.rpcPort },
    });
    this.timeoutMs = config.results.rpcTimeoutMs;
  }

  /** A persisted detection within `scope`, or null if apps/results has no such row (yet, or not this client's). */
  get(id: string, scope: ReadScope): Promise<DetectionView | null> {
    return this.ask<DetectionView | null>(ResultsRpc.GetDetection, { id, scope });
  }

  /** A page of persisted detections within `scope`. */
  list(query: DetectionListQuery, scope: ReadScope): Promise<DetectionPage> {
    return this.ask<DetectionPage>(ResultsRpc.ListDetections, { query, scope });
  }

  /** apps/results' view of its database. */
  health(): Promise<ResultsHealth> {
    return this.ask<ResultsHealth>(ResultsRpc.Health, {});
  }

  /** The grant of a Postgres-managed API key by its sha256, or null when unknown or revoked. */
  verifyApiKey(sha256: string): Promise<ApiKeyGrant | null> {
    return this.ask<ApiKeyGrant | null>(ResultsRpc.VerifyApiKey, { sha256 });
  }

  /** The active managed keys' ids and hash prefixes (what may be worth a {@link verifyApiKey}). */
  apiKeyDirectory(): Promise<ApiKeyDirectory> {
    return this.ask<ApiKeyDirectory>(ResultsRpc.ApiKeyIds, {});
  }

  private ask<T>(pattern: string, payload: unknown): Promise<T> {
    return firstValueFrom(this.client.send<T>(pattern, payload).pipe(timeout(this.timeoutMs)));
  }

  async onApplicationShutdown(): Promise<void> {
    await this.client.close();
  }
}
