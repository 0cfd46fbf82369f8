import { Global, Module } from '@nestjs/common';
import { ResultsClient } from './results.client';

/** The gateway's only way to Postgres (apps/results over TCP), for every feature that reads. */
@Global()
@Module({ providers: [ResultsClient], exports: [ResultsClient] })
export class ResultsClientModule {}
