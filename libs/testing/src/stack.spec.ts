import { createServer } from 'node:net';
import { freePorts } from './stack';

describe(freePorts.name, () => {
  it('gives distinct ports, each free to listen on', async () => {
    const ports = await freePorts(16);
    expect(new Set(ports).size).toBe(16);
    for (const port of ports) {
      const server = createServer();
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, '127.0.0.1', () => resolve());
      });
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
