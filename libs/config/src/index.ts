export * from './env.schema';
export * from './config';
export * from './config.module';
export * from './api-keys';
export * from './version';
