import { Controller, Get, Header, NotFoundException, Param, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Response } from 'express';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const TYPES: Readonly<Record<string, string>> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'style.css': 'text/css; charset=utf-8',
};

interface Asset {
  body: Buffer;
  type: string;
  etag: string;
}

/**
 * Where the page's files are: beside main.js in a build (webpack copies them to `web/`), in
 * `public/` beside this file when run from source (tests).
 */
function assetDir(): string {
  const candidates = [join(__dirname, 'web'), join(__dirname, 'public')];
  return candidates.find((dir) => existsSync(join(dir, 'index.html'))) ?? candidates[0] ?? __dirname;
}

/** Reads the page's few files once; a missing one is a build error worth failing on at start. */
function loadAssets(dir: string): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  for (const [name, type] of Object.entries(TYPES)) {
    const body = readFileSync(join(dir, name));
    assets.set(name, { body, type, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` });
  }
  return assets;
}

/** The web page at `/` and its two assets under `/web/`. Public: the page asks for an API key itself. */
@ApiExcludeController()
@Controller()
export class WebController {
  private readonly assets = loadAssets(assetDir());

  @Get()
  @Header('Cache-Control', 'no-cache')
  page(@Res() res: Response): void {
    this.send('index.html', res);
  }

  @Get('web/:file')
  @Header('Cache-Control', 'no-cache')
  asset(@Param('file') file: string, @Res() res: Response): void {
    if (file === 'index.html' || !this.assets.has(file)) throw new NotFoundException(`No asset ${file}`);
    this.send(file, res);
  }

  private send(name: string, res: Response): void {
    const asset = this.assets.get(name);
    if (!asset) throw new NotFoundException(`No asset ${name}`);
    res.setHeader('Content-Type', asset.type);
    res.setHeader('ETag', asset.etag);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    if (res.req.headers['if-none-match'] === asset.etag) {
      res.status(304).end();
      return;
    }
    res.status(200).end(asset.body);
  }
}
