import { Module } from '@nestjs/common';
import { AuthMiddleware } from './auth.middleware';
import { Backpressure } from './backpressure.service';
import { Drain } from './drain.service';
import { KeyVerifier } from './key-verifier.service';
import { RateLimiter } from './rate-limiter.service';

/**
 * Who may come in and how much: API keys and their rate limits (applied as Express middleware in
 * main.ts, before any body is read), backpressure on new work, and the drain at shutdown.
 */
@Module({
  providers: [KeyVerifier, RateLimiter, AuthMiddleware, Backpressure, Drain],
  exports: [KeyVerifier, RateLimiter, AuthMiddleware, Backpressure, Drain],
})
export class AccessModule {}
