import { Module } from '@nestjs/common';
import { ModelsModule } from '../models/models.module';
import { BullBoardMount } from './bull-board';

/** The operators' dashboard: Bull Board behind the admin's credentials. */
@Module({ imports: [ModelsModule], providers: [BullBoardMount] })
export class AdminModule {}
