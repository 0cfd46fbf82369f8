import { detectQueueName } from '@argus/contracts';
import { type Stack, testImage, workspaceRoot } from '@argus/testing';
import { QueueEvents } from 'bullmq';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

/** Uploads a file as multipart (field `image`) with optional form fields, with the stack's API key. */
export async function upload(
  stack: Stack,
  bytes: Buffer,
  fields: Record<string, string> = {},
  query = '',
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const form = new FormData();
  form.set('image', new Blob([new Uint8Array(bytes)], { type: 'application/octet-stream' }), 'upload');
  for (const [key, value] of Object.entries(fields)) form.set(key, value);
  const res = await fetch(`${stack.baseUrl}/v1/detections${query}`, { method: 'POST', body: form, headers: { 'x-api-key': stack.apiKey, ...headers } });
  return { status: res.status, body: (await res.json()) as Record<string, unknown>, headers: res.headers };
}

/** A request to the gateway with the stack's API key. */
export function call(stack: Stack, path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${stack.baseUrl}${path}`, { ...init, headers: { 'x-api-key': stack.apiKey, ...(init.headers as Record<string, string> | undefined) } });
}

/** A test photo's bytes. */
export function photo(name: string): Buffer {
  return readFileSync(testImage(name));
}

/** Counts labels in a detections array (scores >= min). */
export function labelCounts(detections: unknown, min = 0.5): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const d of detections as { label: string; score: number }[]) if (d.score >= min) counts[d.label] = (counts[d.label] ?? 0) + 1;
  return counts;
}

/** Polls until `check` returns a value (not undefined) or times out. */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 60000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`condition not met within ${timeoutMs} ms${last ? `: ${String(last)}` : ''}`);
}

/** A PNG whose header and trailer are intact but whose pixel data is garbage: only a full decode notices. */
export function corruptPng(): Buffer {
  const bytes = Buffer.from(photo('darknet-horses.png'));
  const idat = bytes.indexOf(Buffer.from('IDAT'));
  bytes.fill(0x33, idat + 200, idat + 5000);
  return bytes;
}

/** Collects the ids of a model's detection jobs BullMQ declares stalled, until close(). */
export async function watchStalled(stack: Stack, model = 'yolox-nano'): Promise<{ stalled: string[]; close: () => Promise<void> }> {
  const connection = stack.redis.duplicate();
  const events = new QueueEvents(detectQueueName(model), { connection, prefix: stack.prefix });
  await events.waitUntilReady();
  const stalled: string[] = [];
  events.on('stalled', ({ jobId }) => stalled.push(jobId));
  return {
    stalled,
    close: async () => {
      await events.close();
      connection.disconnect();
    },
  };
}

/** Runs the keys CLI of the built apps/results against the stack's database; its output, trimmed. */
export async function keysCli(stack: Stack, ...args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)(process.execPath, [join(workspaceRoot(), 'dist', 'apps', 'results', 'main.js'), 'keys', ...args], {
    env: { PATH: process.env['PATH'] ?? '', ...stack.env },
  });
  return stdout.trim();
}
