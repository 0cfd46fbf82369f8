export * from './paths';
export * from './expected';
export * from './services';
