import type { LoggerService } from '@nestjs/common';
import { Writable } from 'node:stream';
import pino, { type Logger } from 'pino';
import { currentCorrelationId } from './correlation';

export type { Logger } from 'pino';

export interface LogOptions {
  level: string;
  format: 'json' | 'pretty';
}

const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const QUIET_KEYS = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'app', 'context']);

/** Turns pino's JSON lines into one readable line each, for local runs (`npm start`). */
function prettyStream(out: NodeJS.WritableStream): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (!line) continue;
        try {
          const entry = JSON.parse(line) as Record<string, unknown>;
          const time = new Date(Number(entry['time'])).toISOString().slice(11, 23);
          const level = (LEVEL_NAMES[Number(entry['level'])] ?? 'LOG').padEnd(5);
          const context = entry['context'] ? `[${String(entry['context'])}] ` : '';
          const extras = Object.entries(entry)
            .filter(([key]) => !QUIET_KEYS.has(key))
            .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
            .join(' ');
          out.write(`${time} ${level} ${context}${String(entry['msg'] ?? '')}${extras ? ` ${extras}` : ''}\n`);
        } catch {
          out.write(`${line}\n`);
        }
      }
      done();
    },
  });
}

/** A structured logger for one app; the correlation id of the current request is added to every line. */
export function createLogger(app: string, options: LogOptions): Logger {
  const destination = options.format === 'pretty' ? prettyStream(process.stdout) : pino.destination({ sync: false });
  return pino(
    {
      level: options.level,
      base: { app },
      messageKey: 'msg',
      timestamp: pino.stdTimeFunctions.epochTime,
      mixin: () => {
        const correlationId = currentCorrelationId();
        return correlationId ? { correlationId } : {};
      },
      formatters: { level: (_label, number) => ({ level: number }) },
    },
    destination,
  );
}

/** Adapts a pino logger to Nest's LoggerService so framework logs are structured too. */
export class NestLogger implements LoggerService {
  constructor(private readonly logger: Logger) {}

  log(message: unknown, context?: string): void {
    this.write('info', message, context);
  }
  error(message: unknown, stackOrContext?: string, context?: string): void {
    const ctx = context ?? (stackOrContext && !stackOrContext.includes('\n') ? stackOrContext : undefined);
    const stack = stackOrContext && stackOrContext.includes('\n') ? stackOrContext : undefined;
    this.write('error', message, ctx, stack ? { stack } : undefined);
  }
  warn(message: unknown, context?: string): void {
    this.write('warn', message, context);
  }
  debug(message: unknown, context?: string): void {
    this.write('debug', message, context);
  }
  verbose(message: unknown, context?: string): void {
    this.write('trace', message, context);
  }
  fatal(message: unknown, context?: string): void {
    this.write('fatal', message, context);
  }

  private write(level: pino.Level, message: unknown, context?: string, extra?: object): void {
    if (message instanceof Error) {
      this.logger[level]({ context, err: message, ...extra }, message.message);
    } else if (typeof message === 'object' && message !== null) {
      this.logger[level]({ context, ...message, ...extra });
    } else {
      this.logger[level]({ context, ...extra }, String(message));
    }
  }
}
