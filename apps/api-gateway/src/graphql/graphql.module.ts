import { ARGUS_CONFIG, type ArgusConfig } from '@argus/config';
// Nest's Apollo driver loads this by name at start (an optional peer of @nestjs/apollo): importing
// it here puts it in the generated package.json the container image installs from.
import '@as-integrations/express5';
import { ApolloDriver, type ApolloDriverConfig } from '@nestjs/apollo';
import { Logger, type MiddlewareConsumer, Module, type NestModule, RequestMethod } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { GraphQLModule, GraphQLSchemaHost } from '@nestjs/graphql';
import {
  type ExecutionResult,
  GraphQLError,
  type GraphQLFormattedError,
  type GraphQLSchema,
  NoSchemaIntrospectionCustomRule,
  parse,
  specifiedRules,
  validate,
  type ValidationRule,
} from 'graphql';
import type { ServerOptions, Context as WsContext } from 'graphql-ws';
import { formatGraphqlError } from './graphql-errors';
import { GraphqlMultipartMiddleware } from './graphql-multipart.middleware';
import { costLimitRule, depthLimitRule } from './limits';
import { correlationIdFrom } from '@argus/observability';
import type { ArgusRequestContext } from '../http/request-context';
import { AccessModule } from '../access/access.module';
import { BatchesModule } from '../batches/batches.module';
import { DetectionsModule } from '../detections/detections.module';
import { ModelsModule } from '../models/models.module';
import { BatchesResolver } from './batches.resolver';
import { DetectionsResolver, type GraphqlContext, MAX_PAGE } from './detections.resolver';
import { ModelsResolver } from './models.resolver';
import { GraphqlWsAuth } from './ws-auth.service';

/** Where GraphQL lives: queries and mutations over HTTP, subscriptions over graphql-ws, same path. */
export const GRAPHQL_PATH = '/graphql';

const logger = new Logger('GraphQL');

/** The depth and cost limits (and, in production, no introspection) for HTTP and WebSocket alike. */
export function graphqlRules(config: ArgusConfig): ValidationRule[] {
  return [
    depthLimitRule(config.graphql.maxDepth),
    costLimitRule(config.graphql.maxCost, { variableListSize: MAX_PAGE }),
    ...(config.production ? [NoSchemaIntrospectionCustomRule] : []),
  ];
}

/**
 * Authorises a graphql-ws connection: WebSocket upgrades bypass Express middleware, so the key
 * comes in `connectionParams` (`{ "x-api-key": ... }` or `{ "authorization": "Bearer ..." }`) or
 * the upgrade request's headers, and is checked by {@link GraphqlWsAuth} (looked up when a
 * connection comes: it is this module's, beside the verifier it uses).
 */
async function authorizeConnection(moduleRef: ModuleRef, ctx: WsContext): Promise<boolean> {
  try {
    const grant = await moduleRef.get(GraphqlWsAuth, { strict: false }).allows(wsApiKey(ctx));
    if (!grant) return false;
    // The socket's caller, for the resolvers' read scope (there is no Express request here).
    (ctx.extra as WsExtra).argus = {
      correlationId: correlationIdFrom(undefined),
      clientId: grant.clientId,
      priorities: grant.priorities,
      admin: grant.scopes.includes('admin'),
      webhooks: grant.webhooks,
    };
    return true;
  } catch (error) {
    logger.warn({ msg: 'graphql-ws connection refused: the key could not be checked', error: error instanceof Error ? error.message : String(error) });
    return false;
  }
}

/** What the gateway keeps on a graphql-ws connection: its caller, once authorised. */
interface WsExtra {
  argus?: ArgusRequestContext;
}

/** The API key of a graphql-ws connection, from its connectionParams or its upgrade request. */
export function wsApiKey(ctx: Pick<WsContext, 'connectionParams' | 'extra'>): string | undefined {
  const params = ctx.connectionParams ?? {};
  const headers = (ctx.extra as { request?: { headers?: Record<string, string | string[] | undefined> } } | undefined)?.request?.headers ?? {};
  const pick = (v: unknown) => (typeof v === 'string' && v.length > 0 ? v : undefined);
  const bearer = (v: unknown) => {
    const m = typeof v === 'string' ? /^Bearer\s+(.+)$/i.exec(v) : null;
    return m?.[1]?.trim();
  };
  return (
    pick(params['x-api-key']) ??
    pick(params['apiKey']) ??
    bearer(params['authorization'] ?? params['Authorization']) ??
    pick(headers['x-api-key']) ??
    bearer(headers['authorization'])
  );
}

/** A GraphQL error with the REST code in its extensions (graphql-ws sends errors itself). */
function withCode(error: GraphQLError): GraphQLError {
  return new GraphQLError(error.message, { nodes: error.nodes, path: error.path, originalError: error.originalError, extensions: formatWithLog(error.toJSON(), error).extensions });
}

/**
 * graphql-ws options: the API key check at connection, and the same limits and error codes as
 * HTTP (graphql-ws validates and formats on its own, apart from Apollo).
 */
function graphqlWsOptions(rules: ValidationRule[], schema: () => GraphQLSchema, moduleRef: ModuleRef): NonNullable<ApolloDriverConfig['subscriptions']>['graphql-ws'] {
  const options: Partial<ServerOptions> = {
    onConnect: (ctx: WsContext) => authorizeConnection(moduleRef, ctx),
    context: (ctx: WsContext): GraphqlContext => ({ ws: (ctx.extra as WsExtra).argus }),
    onSubscribe: (_ctx, _id, payload) => {
      let errors: readonly GraphQLError[];
      try {
        errors = validate(schema(), parse(payload.query), [...specifiedRules, ...rules]);
      } catch (error) {
        errors = [error instanceof GraphQLError ? error : new GraphQLError(String(error))];
      }
      // Nothing returned: graphql-ws goes on as usual.
      return errors.length > 0 ? errors.map(withCode) : undefined;
    },
    onNext: (_ctx, _id, _payload, _args, result: ExecutionResult) => (result.errors ? { ...result, errors: result.errors.map(withCode) } : result),
    onError: (_ctx, _id, _payload, errors: readonly GraphQLError[]) => errors.map(withCode),
  };
  return options as NonNullable<ApolloDriverConfig['subscriptions']>['graphql-ws'];
}

function formatWithLog(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
  const out = formatGraphqlError(formatted, error);
  if (out.extensions?.['code'] === 'internal_error') {
    logger.error({ msg: 'GraphQL operation failed', path: formatted.path, error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  }
  return out;
}

/**
 * GraphQL at /graphql, code-first (the schema is generated from the resolvers in memory), owning
 * its resolvers; they call the same use cases as REST, from the detections and models modules.
 */
@Module({
  imports: [
    AccessModule,
    DetectionsModule,
    BatchesModule,
    ModelsModule,
    GraphQLModule.forRootAsync<ApolloDriverConfig>({
      driver: ApolloDriver,
      inject: [ARGUS_CONFIG, GraphQLSchemaHost, ModuleRef],
      useFactory: (config: ArgusConfig, schemaHost: GraphQLSchemaHost, moduleRef: ModuleRef): ApolloDriverConfig => {
        const rules = graphqlRules(config);
        return {
          path: GRAPHQL_PATH,
          // Apollo's stop drains the whole HTTP server (10 s grace, then cuts connections). At
          // module destroy that would run before the gateway's own drain (Drain, SSE streams); at
          // application shutdown it runs after them, on a server already closed.
          stopOnApplicationShutdown: true,
          autoSchemaFile: true,
          sortSchema: true,
          introspection: !config.production,
          // GraphiQL outside production (it loads React and GraphiQL from unpkg.com in the browser); no landing page in production.
          graphiql: !config.production,
          playground: false,
          includeStacktraceInErrorResponses: false,
          autoTransformHttpErrors: false,
          // Any custom header forces a CORS preflight; every Argus client sends its API key in one.
          csrfPrevention: { requestHeaders: ['x-apollo-operation-name', 'apollo-require-preflight', 'x-api-key', 'authorization'] },
          validationRules: rules,
          formatError: formatWithLog,
          context: ({ req }: { req?: unknown }) => ({ req }),
          subscriptions: { 'graphql-ws': graphqlWsOptions(rules, () => schemaHost.schema, moduleRef) },
        };
      },
    }),
  ],
  providers: [GraphqlMultipartMiddleware, DetectionsResolver, BatchesResolver, ModelsResolver, GraphqlWsAuth],
})
export class GraphqlApiModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(GraphqlMultipartMiddleware).forRoutes({ path: GRAPHQL_PATH, method: RequestMethod.POST });
  }
}
