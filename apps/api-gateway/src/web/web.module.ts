import { Module } from '@nestjs/common';
import { WebController } from './web.controller';

/** The small web page at / and its assets. */
@Module({ controllers: [WebController] })
export class WebModule {}
