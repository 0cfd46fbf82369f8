import { ARGUS_CONFIG, type ArgusConfig } from '@argus/config';
// Nest's Apollo driver loads this by name at start (an optional peer of @nestjs/apollo): importing
// it here puts it in the generated package.json the container image installs from.
import '@as-integrations/express5';
import { ApolloDriver, type ApolloDriverConfig } from '@nestjs/apollo';
import { type MiddlewareConsumer, Module, type NestModule, RequestMethod } from '@nestjs/common';
import { GraphQLModule } from '@nestjs/graphql';
import { AccessModule } from '../access/access.module';
import { DetectionsModule } from '../detections/detections.module';
import { ModelsModule } from '../models/models.module';
import { DetectionsResolver } from './detections.resolver';
import { GraphqlDocumentLimitMiddleware } from './document-limits';
import { formatWithLog } from './graphql-errors';
import { GraphqlMultipartMiddleware } from './graphql-multipart.middleware';
import { GRAPHQL_PATH } from './graphql-path';
import { ModelsResolver } from './models.resolver';
import { graphqlRules } from './rules';
import { GraphqlWsAuth } from './ws-auth.service';
import { GraphqlWsServer } from './ws-server';

export { GRAPHQL_PATH } from './graphql-path';

/**
 * GraphQL at /graphql, code-first (the schema is generated from the resolvers in memory), owning
 * its resolvers; they call the same use cases as REST, from the detections and models modules.
 * Queries and mutations over HTTP (Apollo); subscriptions over graphql-ws, served by
 * {@link GraphqlWsServer}.
 */
@Module({
  imports: [
    AccessModule,
    DetectionsModule,
    ModelsModule,
    GraphQLModule.forRootAsync<ApolloDriverConfig>({
      driver: ApolloDriver,
      inject: [ARGUS_CONFIG],
      useFactory: (config: ArgusConfig): ApolloDriverConfig => {
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
          // Parsing stops after GRAPHQL_MAX_TOKENS, whatever the document's length (it is limited too: GraphqlDocumentLimitMiddleware).
          parseOptions: { maxTokens: config.graphql.maxTokens },
          formatError: formatWithLog,
          context: ({ req }: { req?: unknown }) => ({ req }),
          // No `subscriptions`: graphql-ws is GraphqlWsServer's, with limits Nest's service does not offer.
        };
      },
    }),
  ],
  providers: [GraphqlMultipartMiddleware, GraphqlDocumentLimitMiddleware, DetectionsResolver, ModelsResolver, GraphqlWsAuth, GraphqlWsServer],
})
export class GraphqlApiModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(GraphqlMultipartMiddleware).forRoutes({ path: GRAPHQL_PATH, method: RequestMethod.POST });
    // After the multipart middleware: a multipart request's document is in its `operations`.
    consumer.apply(GraphqlDocumentLimitMiddleware).forRoutes({ path: GRAPHQL_PATH, method: RequestMethod.ALL });
  }
}
