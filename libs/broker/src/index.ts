export * from './keys';
export * from './work-key';
export * from './scripts';
export * from './redis';
export * from './store';
export * from './queues';
export * from './broker.module';
export * from './views';
