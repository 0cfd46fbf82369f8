export * from './paths';
export * from './expected';
export * from './services';
export * from './stack';
export * from './servers';
export * from './prometheus';
export * from './openapi';
export * from './factories';
