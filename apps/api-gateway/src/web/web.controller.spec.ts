import type { Response } from 'express';
import { WebController } from './web.controller';

function response(ifNoneMatch?: string) {
  const res = {
    req: { headers: ifNoneMatch ? { 'if-none-match': ifNoneMatch } : {} },
    headers: {} as Record<string, string>,
    statusCode: 0,
    body: undefined as Buffer | undefined,
    setHeader(name: string, value: string) {
      this.headers[name.toLowerCase()] = value;
    },
    status(code: number) {
      this.statusCode = code;
      return this;
    },
    end(body?: Buffer) {
      this.body = body;
    },
  };
  return res;
}

describe(WebController.name, () => {
  const controller = new WebController();

  it('serves the page, which loads only its own two assets', () => {
    const res = response();
    controller.page(res as unknown as Response);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    const html = res.body?.toString() ?? '';
    expect(html).toContain('<script src="/web/app.js" defer></script>');
    expect(html).toContain('href="/web/style.css"');
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
  });

  it('serves the assets with an ETag and answers 304 to a matching If-None-Match', () => {
    const first = response();
    controller.asset('app.js', first as unknown as Response);
    expect(first.headers['content-type']).toBe('text/javascript; charset=utf-8');
    const etag = first.headers['etag'];
    expect(etag).toMatch(/^"[\w-]+"$/);
    const again = response(etag);
    controller.asset('app.js', again as unknown as Response);
    expect(again.statusCode).toBe(304);
  });

  it('serves nothing but its own files', () => {
    for (const name of ['../main.js', 'index.html', 'nope.js']) expect(() => controller.asset(name, response() as unknown as Response)).toThrow(/No asset/);
  });

  it('keeps the page free of external loads and inline script (a strict CSP allows it)', () => {
    const res = response();
    controller.asset('app.js', res as unknown as Response);
    const js = res.body?.toString() ?? '';
    expect(js).not.toMatch(/https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
    const page = response();
    controller.page(page as unknown as Response);
    expect(page.body?.toString()).not.toMatch(/<script>|on(click|load|submit)=/);
  });
});
