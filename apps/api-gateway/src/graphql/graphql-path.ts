/** Where GraphQL lives: queries and mutations over HTTP, subscriptions over graphql-ws, same path. */
export const GRAPHQL_PATH = '/graphql';
