import { type Stack, startStack, testImage, workspaceRoot } from '@argus/testing';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';
import { eventually } from './helpers';

const CHROMIUM = '/usr/bin/chromium';
const ADMIN_PASSWORD = `pw-${Date.now()}`;
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-quic',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
];

describe('the web page at / in headless Chromium (real stack, production CSP)', () => {
  let stack: Stack;
  let browser: BrowserContext;
  let profile: string;

  beforeAll(async () => {
    // Production: helmet's strict Content-Security-Policy is on, and the page must live with it.
    stack = await startStack({ label: 'web', env: { NODE_ENV: 'production', ADMIN_USER: 'ops', ADMIN_PASSWORD: ADMIN_PASSWORD } });
    profile = mkdtempSync(join(tmpdir(), 'argus-chromium-'));
    browser = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true, viewport: { width: 1280, height: 1400 } });
  });
  afterAll(async () => {
    await browser?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
    await stack?.stop();
  });

  it('uploads bus.jpg, shows the status live, then the boxes over the photo and a table with persons and a bus', async () => {
    const page = await browser.newPage();
    const problems: string[] = [];
    const elsewhere: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    page.on('request', (r) => {
      if (!r.url().startsWith(stack.baseUrl) && !r.url().startsWith('data:')) elsewhere.push(r.url());
    });

    await page.goto(`${stack.baseUrl}/`);
    await page.fill('#api-key', stack.apiKey);
    await page.press('#api-key', 'Tab'); // 'change': stored, models listed
    await page.locator('#model option').nth(1).waitFor({ state: 'attached' }); // locators, not evaluated strings: the CSP forbids eval
    expect(await page.locator('#model option').evaluateAll((os) => os.map((o) => o.getAttribute('value')))).toEqual(['', 'yolov8n-int8', 'yolox-nano']);

    await page.setInputFiles('#file', testImage('bus.jpg'));
    await page.selectOption('#model', 'yolox-nano');
    await page.selectOption('#priority', 'high');
    await page.click('#submit');

    await page.waitForSelector('#detections:not([hidden]) tbody tr', { timeout: 60000 });
    await page.locator('#overlay g.box').first().waitFor({ state: 'attached' });
    const timeline = await page.locator('#timeline li').evaluateAll((lis) => lis.map((li) => li.getAttribute('data-status')));
    // The submission answered 202 queued; the stream carried the rest.
    expect(timeline[0]).toBe('queued');
    expect(timeline[timeline.length - 1]).toBe('completed');

    const labels = await page.locator('#detections tbody tr').evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-label')));
    const count = (label: string) => labels.filter((l) => l === label).length;
    expect(count('person')).toBe(4);
    expect(count('bus')).toBe(1);
    expect(await page.locator('#overlay g.box').count()).toBe(labels.length);

    // The boxes sit on the photo: the overlay covers the displayed image exactly, in its pixels.
    const photo = await page.locator('#photo').boundingBox();
    const overlay = await page.locator('#overlay').boundingBox();
    expect(photo && overlay && Math.abs(photo.width - overlay.width) < 1 && Math.abs(photo.height - overlay.height) < 1).toBe(true);
    expect(await page.getAttribute('#overlay', 'viewBox')).toBe('0 0 810 1080');
    expect(await page.textContent('#summary')).toMatch(/5 objects · yolox-nano/);

    const shots = join(workspaceRoot(), 'test-artifacts', 'web');
    mkdirSync(shots, { recursive: true });
    await page.screenshot({ path: join(shots, 'bus.png'), fullPage: true });

    expect(elsewhere).toEqual([]);
    expect(problems).toEqual([]);

    // The annotated download works from the page too.
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#annotated')]);
    expect(download.suggestedFilename()).toMatch(/\.png$/);
  });

  it('sends several photos at once and a pasted one, re-filters boxes by score without sending again, shows the request as curl, and pages through the history', async () => {
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    const posts: string[] = [];
    page.on('request', (r) => {
      if (r.method() === 'POST' && r.url().includes('/v1/detections')) posts.push(r.url());
    });
    await page.goto(`${stack.baseUrl}/`);
    await page.fill('#api-key', stack.apiKey);
    await page.press('#api-key', 'Tab');
    await page.locator('#model option').nth(1).waitFor({ state: 'attached' });

    // Several files at once: one detection each.
    await page.setInputFiles('#file', [testImage('zidane.jpg'), testImage('darknet-dog.jpg')]);
    expect(await page.getAttribute('#file-name', 'data-count')).toBe('2');
    await page.click('#submit');
    await page.locator('#runs li[data-status=completed]').nth(1).waitFor({ timeout: 60000 });
    expect(posts).toHaveLength(2);

    // A photo pasted from the clipboard.
    // Browser code as text: this project compiles without the DOM's types.
    const pasted = readFileSync(testImage('coco-000000000785-skier-exif6.jpg')).toString('base64');
    await page.evaluate(`(() => {
      const data = new DataTransfer();
      data.items.add(new File([Uint8Array.from(atob('${pasted}'), (c) => c.charCodeAt(0))], 'image.png', { type: 'image/jpeg' }));
      document.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true }));
    })()`);
    await page.locator('#file-name', { hasText: /pasted-/ }).waitFor();
    await page.click('#submit');
    await page.locator('#runs li[data-status=completed]').nth(2).waitFor({ timeout: 60000 });
    expect(posts).toHaveLength(3);

    // Show zidane.jpg's result, then raise the minimum score: fewer boxes, nothing sent.
    await page.locator('#runs button', { hasText: 'zidane.jpg' }).click();
    await page.locator('#overlay g.box').first().waitFor({ state: 'attached' });
    const all = await page.locator('#overlay g.box').count();
    const scores = await page.locator('#detections tbody tr td:nth-child(3)').evaluateAll((tds) => tds.map((td) => Number(td.textContent)));
    expect(scores.length).toBe(all);
    await page.locator('#min-score').fill('0.8');
    const kept = scores.filter((v) => v >= 0.8).length;
    expect(kept).toBeLessThan(all);
    // Counted from here: a page function would be eval, which the CSP forbids.
    const count = (selector: string, n: number) => eventually(async () => ((await page.locator(selector).count()) === n ? true : undefined), 30000, 50);
    const boxes = (n: number) => count('#overlay g.box', n);
    await boxes(kept);
    expect(await page.locator('#detections tbody tr').count()).toBe(kept);
    expect(await page.textContent('#min-score-value')).toBe('0.80');
    expect(await page.textContent('#summary')).toMatch(/hidden/);
    await page.locator('#min-score').fill('0');
    await boxes(all);
    expect(posts).toHaveLength(3);

    // The request as curl: run from the photos' folder, it is the same request (so the same work: the cache answers).
    const curl = (await page.textContent('#curl')) ?? '';
    expect(curl).toMatch(/^curl -H "x-api-key: \$ARGUS_API_KEY" -F image=@zidane\.jpg -F priority=normal -F confidence=0\.25 http:\/\/127\.0\.0\.1:\d+\/v1\/detections$/);
    const ran = spawnSync('bash', ['-c', `${curl} -s`], { cwd: dirname(testImage('zidane.jpg')), env: { PATH: process.env['PATH'] ?? '', ARGUS_API_KEY: stack.apiKey }, encoding: 'utf8' });
    expect(JSON.parse(ran.stdout)).toMatchObject({ status: 'completed', cached: true, image: { width: 1280, height: 720 } });
    await browser.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: stack.baseUrl });
    await page.click('#copy-curl');
    await page.locator('#message', { hasText: /clipboard/ }).waitFor();
    expect(await page.evaluate('navigator.clipboard.readText()')).toBe(curl);

    // The key's history, newest first, ten at a time: fill it past one page, then load the next.
    for (let i = 0; i < 8; i++) {
      const form = new FormData();
      form.set('image', new Blob([new Uint8Array(readFileSync(testImage('bus.jpg')))]), 'bus.jpg');
      expect((await fetch(`${stack.baseUrl}/v1/detections?wait=20000`, { method: 'POST', body: form, headers: { 'x-api-key': stack.apiKey } })).status).toBe(200);
    }
    const listed = async () => {
      const ids: string[] = [];
      for (let cursor: string | null = null, first = true; first || cursor; first = false) {
        const res = await fetch(`${stack.baseUrl}/v1/detections?limit=100${cursor ? `&cursor=${cursor}` : ''}`, { headers: { 'x-api-key': stack.apiKey } });
        const body = (await res.json()) as { items: { id: string }[]; nextCursor: string | null };
        ids.push(...body.items.map((d) => d.id));
        cursor = body.nextCursor;
      }
      return ids;
    };
    await page.waitForTimeout(500); // the last rows land a moment after their answers
    const expected = await listed();
    expect(expected.length).toBeGreaterThan(10);
    await page.click('#refresh-history');
    const rows = (n: number) => count('#history tbody tr', n);
    await rows(10);
    await page.locator('#more-history:not([hidden])').click();
    await rows(expected.length);
    const shown = await page.locator('#history tbody tr').evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-id')));
    expect(shown).toEqual(expected);
    expect(await page.locator('#more-history').isHidden()).toBe(true);

    // An entry from the history opens in the result panel.
    await page.locator('#history tbody tr').first().click();
    await page.locator('#summary', { hasText: /objects · yolox-nano/ }).waitFor();
    // Its photo is not in this browser: the server's annotated copy stands in, boxes already drawn.
    await page.locator('#figure:not([hidden])').waitFor();
    expect(await page.getAttribute('#photo', 'src')).toMatch(/^data:image\/jpeg;base64,/);
    expect(await page.locator('#overlay.gone').count()).toBe(1);
    const shots = join(workspaceRoot(), 'test-artifacts', 'web');
    mkdirSync(shots, { recursive: true });
    await page.screenshot({ path: join(shots, 'runs-and-history.png'), fullPage: true });

    expect(problems).toEqual([]);
  });

  it('asks for a key first, and says so when the key is not valid', async () => {
    const page = await browser.newPage();
    await page.goto(`${stack.baseUrl}/`);
    await page.evaluate("localStorage.removeItem('argus.apiKey')");
    await page.reload();
    await page.locator('#message', { hasText: /Enter your API key/ }).waitFor();
    await page.fill('#api-key', 'not-a-valid-key-0123456789');
    await page.press('#api-key', 'Tab');
    await page.locator('#message', { hasText: /valid API key/ }).waitFor();
  });

  it('renders Swagger UI and Bull Board under the same policy', async () => {
    const page = await browser.newPage();
    const blocked: string[] = [];
    page.on('console', (m) => {
      if (/Content Security Policy|Refused to/i.test(m.text())) blocked.push(m.text());
    });
    await page.goto(`${stack.baseUrl}/docs`);
    await page.waitForSelector('.opblock', { timeout: 30000 });
    expect(await page.locator('.opblock').count()).toBeGreaterThanOrEqual(7);
    expect(await page.textContent('.opblock-summary-path >> nth=0')).toMatch(/^\//);

    await page.setExtraHTTPHeaders({ authorization: `Basic ${Buffer.from(`ops:${ADMIN_PASSWORD}`).toString('base64')}` });
    await page.goto(`${stack.baseUrl}/admin/queues`);
    await page.getByText(`${stack.prefix}:detect`).first().waitFor({ timeout: 30000 });
    expect(blocked).toEqual([]);
  });

  it('has no GraphQL introspection and no GraphiQL page in production', async () => {
    const headers = { 'content-type': 'application/json', 'x-api-key': stack.apiKey };
    const introspection = await fetch(`${stack.baseUrl}/graphql`, { method: 'POST', headers, body: JSON.stringify({ query: '{ __schema { types { name } } }' }) });
    const body = (await introspection.json()) as { data?: unknown; errors?: { extensions?: Record<string, unknown> }[] };
    expect(body.data).toBeUndefined();
    expect(body.errors?.[0]?.extensions).toMatchObject({ code: 'validation_failed' });
    const models = await fetch(`${stack.baseUrl}/graphql`, { method: 'POST', headers, body: JSON.stringify({ query: '{ models { name } }' }) });
    expect(((await models.json()) as { data: { models: unknown[] } }).data.models).toHaveLength(2);
    const page = await fetch(`${stack.baseUrl}/graphql`, { headers: { accept: 'text/html', 'x-api-key': stack.apiKey } });
    expect(await page.text()).not.toMatch(/graphiql/i);
  });
});
