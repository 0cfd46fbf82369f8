export * from './correlation';
export * from './logger';
export * from './health';
export * from './metrics';
export * from './http-metrics';
export * from './ops-server';
export * from './tracing';
