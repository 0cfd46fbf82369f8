// graphql-ws publishes its `ws` adapter only through package.json "exports", which this
// workspace's module resolution (node10) does not read; Node and webpack do, at run time.
declare module 'graphql-ws/use/ws' {
  export * from 'graphql-ws/dist/use/ws';
}
