import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { type AddressInfo } from 'node:net';
import { schemaDefault } from './support/env-schema';
import { readRepoFile, repoPath } from './support/repo';

/** Runs docker/healthcheck.mjs as the image's HEALTHCHECK does; resolves with its exit code. */
function healthcheck(env: Record<string, string>): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [repoPath('docker/healthcheck.mjs')], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: 'ignore' });
    child.on('error', reject);
    child.on('exit', (code) => resolve(code));
  });
}

function listen(status: number, seen: string[]): Promise<Server> {
  return new Promise((resolve) => {
    const server = createServer((req, res) => {
      seen.push(req.url ?? '');
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end('{}');
    });
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

const close = (server: Server): Promise<void> => new Promise((resolve) => server.close(() => resolve()));

describe('docker/healthcheck.mjs', () => {
  it('is healthy when /health/live answers 2xx on the app port from configuration', async () => {
    const seen: string[] = [];
    const server = await listen(200, seen);
    try {
      const { port } = server.address() as AddressInfo;
      await expect(healthcheck({ ARGUS_APP: 'results', RESULTS_PORT: String(port) })).resolves.toBe(0);
      expect(seen).toEqual(['/health/live']);
    } finally {
      await close(server);
    }
  });

  it('is unhealthy when the app answers an error status', async () => {
    const server = await listen(503, []);
    try {
      const { port } = server.address() as AddressInfo;
      await expect(healthcheck({ ARGUS_APP: 'api-gateway', GATEWAY_PORT: String(port) })).resolves.toBe(1);
    } finally {
      await close(server);
    }
  });

  it('is unhealthy when nothing listens', async () => {
    const server = await listen(200, []);
    const { port } = server.address() as AddressInfo;
    await close(server);
    await expect(healthcheck({ ARGUS_APP: 'inference', INFERENCE_PORT: String(port) })).resolves.toBe(1);
  });

  it('refuses an unknown app instead of probing a guessed port', async () => {
    await expect(healthcheck({ ARGUS_APP: 'nope' })).resolves.toBe(1);
  });

  it('falls back to the same default ports as libs/config', () => {
    const text = readRepoFile('docker/healthcheck.mjs');
    for (const variable of ['GATEWAY_PORT', 'INFERENCE_PORT', 'RESULTS_PORT']) {
      const match = new RegExp(`\\['${variable}', (\\d+)\\]`).exec(text);
      const fallback = schemaDefault(variable);
      expect({ variable, port: Number(match?.[1]) }).toEqual({ variable, port: fallback.required ? -1 : fallback.value });
    }
  });
});
