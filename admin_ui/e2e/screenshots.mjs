// Screenshots of every page against fixture answers (no fleet needed): `npm run build && npm run screenshots`.
// Files land in test-artifacts/screens/.
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

import { launch, loopbackOnly } from './browser.mjs';
import { FIXTURE_CONFIG, fixtureResponse } from './fixtures.mjs';
import { startServer } from './serve.mjs';

const out = fileURLToPath(new URL('../test-artifacts/screens/', import.meta.url));
await mkdir(out, { recursive: true });
const server = await startServer({ root: fileURLToPath(new URL('../dist/admin-ui/browser', import.meta.url)) });
const base = `http://127.0.0.1:${server.address().port}`;
const browser = await launch();

async function session(viewport) {
  const context = await browser.newContext({ viewport });
  await loopbackOnly(context);
  await context.route('**/config.json', (route) => route.fulfill({ json: FIXTURE_CONFIG }));
  await context.route(/127\.0\.0\.1:180[0-3]0\//, (route) => {
    const req = route.request();
    if (req.method() === 'OPTIONS') return route.fulfill({ status: 204 });
    const { status, body } = fixtureResponse(req.method(), req.url());
    return route.fulfill({ status, json: body, headers: status >= 400 ? { 'Content-Type': 'application/problem+json' } : {} });
  });
  return context.newPage();
}

try {
  const page = await session({ width: 1280, height: 1100 });
  page.on('pageerror', (e) => console.error('page error:', e.message));
  await page.goto(`${base}/login`);
  await page.screenshot({ path: `${out}login.png` });
  await page.goto(`${base}/forgot-password`);
  await page.screenshot({ path: `${out}forgot-password.png` });
  await page.goto(`${base}/login`);
  await page.getByTestId('login-username').fill('admin');
  await page.getByTestId('login-password').fill('secret');
  await page.getByTestId('login-submit').click();
  await page.waitForURL('**/dashboard');
  await page.waitForTimeout(800);
  await page.screenshot({ path: `${out}dashboard.png`, fullPage: true });
  for (const [name, path] of [['files', '/files'], ['storage', '/storage'], ['users', '/users'],
    ['service-accounts', '/service-accounts'], ['keys', '/keys'], ['audit', '/audit'], ['change-password', '/account/password']]) {
    await page.click(`a[href="${path}"]`).catch(() => page.evaluate((p) => history.pushState({}, '', p), path));
    await page.waitForURL(`**${path}`);
    await page.waitForTimeout(500);
    if (name === 'files') {
      await page.locator('[data-testid=results] tr.mat-mdc-row').first().click();
      await page.waitForTimeout(400);
    }
    if (name === 'audit') {
      await page.getByTestId('verify-chain').click();
      await page.waitForTimeout(300);
    }
    await page.screenshot({ path: `${out}${name}.png`, fullPage: true });
    if (name === 'change-password') continue;
  }
  await page.setViewportSize({ width: 420, height: 860 });
  await page.goto(`${base}/files`);
  await page.waitForTimeout(1000);
  await page.screenshot({ path: `${out}files-narrow.png`, fullPage: true });
  console.log(`screenshots in ${out}`);
} finally {
  await browser.close();
  server.close();
}
