import { ARGUS_CONFIG, type ArgusConfig } from '@argus/config';
import {
  type ApiKeyDirectory,
  type ApiKeyGrant,
  type BatchItemResult,
  type BatchView,
  type DetectionListQuery,
  type DetectionPage,
  type DetectionView,
  type EraseDetectionReply,
  type ReadScope,
  ResultsRpc,
  type ResultsHealth,
} from '@argus/contracts';
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

  /** Erases a finished detection within `scope` (its row, its cached outcome and image); false when there is no such row. */
  async erase(id: string, scope: ReadScope): Promise<boolean> {
    return (await this.ask<EraseDetectionReply>(ResultsRpc.EraseDetection, { id, scope })).erased;
  }

  /** A finished batch within `scope`, or null (still running, unknown, or not this client's). */
  batch(id: string, scope: ReadScope): Promise<BatchView | null> {
    return this.ask<BatchView | null>(ResultsRpc.GetBatch, { id, scope });
  }

  /** A page of a finished batch's results in the batch's order, or null when there is no such batch in `scope`. */
  batchResults(id: string, scope: ReadScope, offset: number, limit: number): Promise<{ items: BatchItemResult[]; total: number } | null> {
    return this.ask(ResultsRpc.BatchResults, { id, scope, offset, limit });
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
