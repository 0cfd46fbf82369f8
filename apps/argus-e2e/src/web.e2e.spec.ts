import { type Stack, startStack, testImage, workspaceRoot } from '@argus/testing';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';

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
