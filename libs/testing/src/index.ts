export * from './paths';
export * from './expected';
