import { type DynamicModule, Global, Module } from '@nestjs/common';
import { type ArgusConfig, loadConfig } from './config';

/** Injection token of the frozen {@link ArgusConfig}. */
export const ARGUS_CONFIG = Symbol('ARGUS_CONFIG');

/** Provides the configuration to every module of an app, read once. */
@Global()
@Module({})
export class ConfigModule {
  static forRoot(config: ArgusConfig = loadConfig()): DynamicModule {
    return {
      module: ConfigModule,
      providers: [{ provide: ARGUS_CONFIG, useValue: config }],
      exports: [ARGUS_CONFIG],
    };
  }
}
