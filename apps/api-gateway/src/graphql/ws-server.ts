import { ARGUS_CONFIG, type ArgusConfig } from '@argus/config';
import type { ApiKeyGrant } from '@argus/contracts';
import { correlationIdFrom } from '@argus/observability';
import { type BeforeApplicationShutdown, Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { GraphQLSchemaHost } from '@nestjs/graphql';
import { type DocumentNode, type ExecutionArgs, getOperationAST, GraphQLError, specifiedRules, validate, type ValidationRule } from 'graphql';
import { CloseCode, type Context as WsContext, type ServerOptions, type SubscribePayload } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { ApiError } from '../errors/api-error';
import { Drain } from '../access/drain.service';
import type { GraphqlContext } from './detections.resolver';
import { documentSizeError, parseDocument } from './document-limits';
import { withRestCode } from './graphql-errors';
import { GRAPHQL_PATH } from './graphql-path';
import { graphqlRules } from './rules';
import { GraphqlWsAuth, wsApiKey } from './ws-auth.service';

/** What an admitted socket holds: its key (to check again) and what the key was granted. */
interface Admitted {
  key: string;
  grant: ApiKeyGrant;
  socket: WebSocket;
}

/** Pure: whether an upgrade request's URL is the GraphQL path (any query string, any case, a trailing slash). */
export function isGraphqlUpgrade(url: string | undefined, path: string): boolean {
  const pathname = (url ?? '').split('?')[0]?.toLowerCase().replace(/\/+$/, '') ?? '';
  return pathname === path;
}

/** The error of a refused subscribe message, with the REST code, as graphql-ws sends it. */
function refusal(error: ApiError, extensions: Record<string, unknown> = {}): GraphQLError[] {
  return [new GraphQLError(error.message, { extensions: { code: error.code, status: error.status, ...extensions } })];
}

/**
 * graphql-ws on /graphql, served by the gateway itself rather than through Nest's subscription
 * service, so that every limit is ours to set:
 *
 * - a message larger than GRAPHQL_WS_MAX_PAYLOAD_BYTES closes the socket (1009) before it is
 *   buffered (`ws`'s maxPayload reads the frame header; its default is 100 MiB);
 * - a socket that sends no connection_init within GRAPHQL_WS_INIT_TIMEOUT_MS is closed (4408);
 *   one without a valid key, or over its rate, is refused (4403);
 * - subscriptions only: queries and mutations go over HTTP, where body limits, the per-request
 *   rate limit, draining and metrics apply; over the socket they would run unmetered after one
 *   check at connection time;
 * - at most GRAPHQL_WS_MAX_SUBSCRIPTIONS at once per socket, each one charged to the key's rate
 *   limit, its document held to the size, token, depth and cost limits of HTTP;
 * - every API_KEY_CACHE_SECONDS the open sockets' keys are checked again, and a socket whose key
 *   is no longer accepted (revoked) is closed (4403).
 */
@Injectable()
export class GraphqlWsServer implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('GraphqlWs');
  private readonly sockets = new Map<WsContext, Admitted>();
  private wss: WebSocketServer | undefined;
  private disposable: { dispose: () => void | Promise<void> } | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly rules: ValidationRule[];

  constructor(
    @Inject(ARGUS_CONFIG) private readonly config: ArgusConfig,
    private readonly adapterHost: HttpAdapterHost,
    private readonly schemaHost: GraphQLSchemaHost,
    private readonly auth: GraphqlWsAuth,
    private readonly drain: Drain,
  ) {
    this.rules = graphqlRules(config);
  }

  onApplicationBootstrap(): void {
    const ws = this.config.graphql.ws;
    this.wss = new WebSocketServer({ noServer: true, maxPayload: ws.maxPayloadBytes });
    this.disposable = useServer(this.options(), this.wss);
    (this.adapterHost.httpAdapter.getHttpServer() as Server).on('upgrade', this.upgrade);
    const everyMs = Math.max(1, this.config.auth.cacheSeconds) * 1000;
    this.timer = setInterval(() => void this.recheckKeys(), everyMs);
    this.timer.unref();
  }

  async beforeApplicationShutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    (this.adapterHost.httpAdapter.getHttpServer() as Server | undefined)?.off('upgrade', this.upgrade);
    // Open sockets would keep the HTTP server from closing: they are told to go elsewhere (1001).
    await this.disposable?.dispose();
    this.wss?.close();
  }

  private readonly upgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    if (!isGraphqlUpgrade(req.url, GRAPHQL_PATH) || this.drain.active || !this.wss) {
      socket.end(`HTTP/1.1 ${this.drain.active ? '503 Service Unavailable' : '404 Not Found'}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    const wss = this.wss;
    wss.handleUpgrade(req, socket, head, (client) => wss.emit('connection', client, req));
  };

  private options(): ServerOptions<Record<string, unknown>, { socket: WebSocket; request: IncomingMessage }> {
    const { maxSubscriptions, initTimeoutMs } = this.config.graphql.ws;
    return {
      connectionInitWaitTimeout: initTimeoutMs,
      onConnect: async (ctx) => {
        const key = wsApiKey(ctx);
        let grant: ApiKeyGrant | null;
        try {
          grant = await this.auth.admit(key);
        } catch (error) {
          this.logger.warn({ msg: 'graphql-ws connection refused: the key could not be checked', error: error instanceof Error ? error.message : String(error) });
          grant = null;
        }
        if (!grant || !key) return false;
        this.sockets.set(ctx, { key, grant, socket: ctx.extra.socket });
        return true;
      },
      onClose: (ctx) => {
        this.sockets.delete(ctx);
      },
      onSubscribe: async (ctx, _id, payload) => {
        const admitted = this.sockets.get(ctx);
        if (!admitted) return refusal(new ApiError('unauthorized', 'This socket has no accepted API key'));
        // graphql-ws has already reserved this subscription's place in ctx.subscriptions.
        const held = Object.keys(ctx.subscriptions).length;
        if (held > maxSubscriptions) {
          return refusal(new ApiError('validation_failed', `At most ${maxSubscriptions} subscriptions per socket (GRAPHQL_WS_MAX_SUBSCRIPTIONS); complete one first`), { limit: 'subscriptions' });
        }
        if (!(await this.auth.charge(admitted.grant))) {
          return refusal(new ApiError('rate_limited', 'Too many requests for this API key: each subscription counts as one'));
        }
        return this.prepare(payload, admitted.grant);
      },
      onNext: (_ctx, _id, _payload, _args, result) => (result.errors ? { ...result, errors: result.errors.map(withRestCode) } : result),
      onError: (_ctx, _id, _payload, errors) => errors.map(withRestCode),
    };
  }

  /** A subscribe message made into what graphql-js executes, or the errors that refuse it. */
  private prepare(payload: SubscribePayload, grant: ApiKeyGrant): ExecutionArgs | GraphQLError[] {
    const { maxDocumentBytes, maxTokens } = this.config.graphql;
    const tooLarge = documentSizeError(payload.query, maxDocumentBytes);
    if (tooLarge) return refusal(tooLarge, { limit: 'document_bytes', maxBytes: maxDocumentBytes });
    let document: DocumentNode;
    try {
      document = parseDocument(payload.query, maxTokens);
    } catch (error) {
      return [withRestCode(error instanceof GraphQLError ? error : new GraphQLError(String(error)))];
    }
    const operation = getOperationAST(document, payload.operationName);
    if (operation && operation.operation !== 'subscription') {
      return refusal(new ApiError('validation_failed', `Only subscriptions over WebSocket: send ${operation.operation === 'query' ? 'queries' : 'mutations'} over HTTP (POST /graphql)`), {
        limit: 'subscriptions_only',
      });
    }
    const schema = this.schemaHost.schema;
    const errors = validate(schema, document, [...specifiedRules, ...this.rules]);
    if (errors.length > 0) return errors.map(withRestCode);
    return {
      schema,
      document,
      operationName: payload.operationName,
      variableValues: payload.variables,
      // The socket's caller, for the resolvers' read scope (there is no Express request here).
      contextValue: {
        ws: { correlationId: correlationIdFrom(undefined), clientId: grant.clientId, priorities: grant.priorities, admin: grant.scopes.includes('admin') },
      } satisfies GraphqlContext,
    };
  }

  /** Checks the key of every open socket again; closes the sockets whose key is no longer accepted. */
  private async recheckKeys(): Promise<void> {
    for (const [ctx, admitted] of [...this.sockets]) {
      if (await this.auth.stillAccepted(admitted.key)) continue;
      this.sockets.delete(ctx);
      this.logger.warn({ msg: 'graphql-ws socket closed: its API key is no longer accepted', clientId: admitted.grant.clientId });
      admitted.socket.close(CloseCode.Forbidden, 'Forbidden: the API key is no longer accepted');
    }
  }
}
