// End-to-end flow of issue 9 in real headless Chromium against the running fleet:
// log in; upload a file and watch the progress; find it by a word of its description;
// download it and compare the bytes; change an SE's mode (and back); create a user;
// see these actions in the audit log. A screenshot of each page goes to test-artifacts/e2e/
// (the change-password and reset-password pages included).
//
//   ARTSTORE_UI_URL        the served UI (default http://127.0.0.1:4200)
//   ARTSTORE_E2E_USER      an ADMIN account (default admin)
//   ARTSTORE_E2E_PASSWORD  its password (required)
//   ARTSTORE_E2E_CONFIG    optional JSON merged into the UI's config.json (other service URLs)
import { randomBytes } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

import { launch, loopbackOnly } from './browser.mjs';

const UI = (process.env.ARTSTORE_UI_URL ?? 'http://127.0.0.1:4200').replace(/\/+$/, '');
const USER = process.env.ARTSTORE_E2E_USER ?? 'admin';
const PASSWORD = process.env.ARTSTORE_E2E_PASSWORD;
const out = fileURLToPath(new URL('../test-artifacts/e2e/', import.meta.url));
const TIMEOUT = Number(process.env.ARTSTORE_E2E_TIMEOUT_MS ?? 30000);

if (!PASSWORD) {
  console.error('ARTSTORE_E2E_PASSWORD is required (the password of ARTSTORE_E2E_USER, an ADMIN)');
  process.exit(2);
}

const results = [];
/** Runs one step; a failed step is reported, screenshotted, and the steps that need it are skipped. */
async function step(name, fn, needs = []) {
  const missing = needs.filter((n) => !results.find((r) => r.name === n && r.ok));
  if (missing.length) {
    results.push({ name, ok: false, skipped: true });
    console.log(`SKIP ${name} (needs: ${missing.join(', ')})`);
    return false;
  }
  const started = Date.now();
  try {
    await page.keyboard.press('Escape'); // a dialog left open by a failed step
    await fn();
    results.push({ name, ok: true });
    console.log(`ok   ${name} (${Date.now() - started} ms)`);
    return true;
  } catch (err) {
    results.push({ name, ok: false, error: err });
    console.log(`FAIL ${name}: ${err.message}`);
    await shot(`failure-${results.length}`).catch(() => undefined);
    return false;
  }
}
function assert(cond, message) {
  if (!cond) throw new Error(message);
}
/** Retry `fn` until it returns truthy (the catalog and the audit log follow within seconds). */
class Fatal extends Error {}
async function eventually(fn, what, timeout = TIMEOUT) {
  const end = Date.now() + timeout;
  let last;
  while (Date.now() < end) {
    try {
      last = await fn();
      if (last) return last;
    } catch (err) {
      if (err instanceof Fatal) throw err;
      last = err;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw new Error(`timed out waiting for ${what}${last instanceof Error ? `: ${last.message}` : ''}`);
}

await mkdir(out, { recursive: true });
const browser = await launch();
const context = await browser.newContext({ viewport: { width: 1280, height: 1000 }, acceptDownloads: true });
await loopbackOnly(context);
if (process.env.ARTSTORE_E2E_CONFIG) {
  const override = JSON.parse(process.env.ARTSTORE_E2E_CONFIG);
  await context.route(`${UI}/config.json`, async (route) => {
    const served = await (await route.fetch()).json();
    await route.fulfill({ json: { ...served, ...override } });
  });
}
const page = await context.newPage();
page.setDefaultTimeout(TIMEOUT);
const pageErrors = [];
page.on('pageerror', (e) => pageErrors.push(e.message));
const shot = (name) => page.screenshot({ path: `${out}${name}.png`, fullPage: true });
const nav = async (path) => {
  await page.click(`nav a[href="${path}"], mat-nav-list a[href="${path}"]`);
  await page.waitForURL(`**${path}`);
};
/**
 * Records, inside the page, every value each upload's progress bar takes (keyed by its
 * aria-label "Upload <name>"): polling from here once a second misses the steps of a fast upload.
 */
const recordProgress = () => page.evaluate(() => {
  const seen = (window.__uploadProgress = {});
  const note = (el) => {
    const name = el.getAttribute('aria-label');
    const value = el.getAttribute('aria-valuenow');
    if (el.getAttribute('role') === 'progressbar' && name?.startsWith('Upload ') && value !== null) (seen[name] ??= []).push(Number(value));
  };
  new MutationObserver((records) => {
    for (const r of records) {
      if (r.type === 'attributes') note(r.target);
      else for (const n of r.addedNodes) if (n instanceof Element) n.querySelectorAll('[role=progressbar]').forEach(note);
    }
  }).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['aria-valuenow'] });
});
const progressOf = (name) => page.evaluate((label) => window.__uploadProgress?.[label] ?? [], `Upload ${name}`);
/** Waits for the upload row of `name` to finish; a failed upload stops the step at once. */
const uploadDone = (name, timeout) => eventually(async () => {
  const row = page.locator('.upload-row', { hasText: name });
  const status = await row.getAttribute('data-status');
  if (status === 'error') throw new Fatal((await row.innerText()).replace(/\s+/g, ' '));
  return status === 'done';
}, `the upload of ${name} to finish`, timeout);
/** The id of the file the details panel shows, once it shows `name`. */
const detailsFileId = async (name) => {
  await page.getByTestId('details-filename').filter({ hasText: name }).waitFor();
  return (await page.getByTestId('details-file-id').innerText()).trim();
};
/** The browser's local time as the audit page shows it (yyyy-MM-dd HH:mm:ss), to compare with its rows. */
const browserNow = () => page.evaluate(() => {
  const d = new Date();
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
});
/** Rows of the audit table for exactly `action` (the page's Action filter) whose text has every one of `words`. */
const auditRows = async (action, ...words) => {
  await page.locator('form.filters input[name=action]').fill(action);
  await page.locator('form.filters button[type=submit]').click();
  await page.waitForTimeout(700);
  const rows = await page.getByTestId('audit-table').locator('tr').allInnerTexts();
  return rows.filter((text) => text.includes(action) && words.every((w) => text.includes(w)));
};

const tag = randomBytes(4).toString('hex');
const word = `zephyr${tag}`;
const fileName = `e2e-${tag}.bin`;
const content = randomBytes(256 * 1024 + 123);
const newUser = `e2e_${tag}`;
const newUserPassword = `E2e-${randomBytes(9).toString('base64url')}`;
let seName = '';
let seId = '';
let modeSince = '';
const uploadedIds = {};

try {
  const LOGIN = 'log in';
  const UPLOAD = 'upload a file and watch the progress';
  const FIND = 'find it by a word of its description';
  await step(LOGIN, async () => {
    await page.goto(`${UI}/login`);
    await shot('login');
    await page.getByTestId('login-username').fill(USER);
    await page.getByTestId('login-password').fill(PASSWORD);
    await page.getByTestId('login-submit').click();
    await page.waitForURL('**/dashboard');
    await page.locator('.kpi').first().waitFor();
    await page.waitForTimeout(1500);
    await shot('dashboard');
  });

  await step(UPLOAD, async () => {
    await nav('/files');
    await recordProgress();
    await page.locator('.upload-options mat-expansion-panel-header').first().click();
    await page.getByTestId('upload-description').fill(`End-to-end upload ${word} from the browser`);
    await page.getByTestId('file-input').setInputFiles({ name: fileName, mimeType: 'application/octet-stream', buffer: content });
    await uploadDone(fileName);
    const row = page.locator('.upload-row', { hasText: fileName });
    const seen = await progressOf(fileName);
    assert(seen.includes(100) && (await row.innerText()).includes('100 %'), `progress never reached 100 % (saw ${seen})`);
    assert((await row.innerText()).includes('multipart'), 'a small file goes as one multipart POST');
    uploadedIds.small = await detailsFileId(fileName);

    // A large file goes through tus in chunks; the bar moves through intermediate values.
    const big = randomBytes(20 * 1024 * 1024);
    const bigName = `e2e-${tag}-large.bin`;
    await page.getByTestId('file-input').setInputFiles({ name: bigName, mimeType: 'application/octet-stream', buffer: big });
    await uploadDone(bigName, TIMEOUT * 2);
    const bigRow = page.locator('.upload-row', { hasText: bigName });
    assert((await bigRow.innerText()).includes('tus'), 'a large file goes through tus');
    const bigSeen = await progressOf(bigName);
    assert(bigSeen.some((v) => v > 0 && v < 100), `the tus upload's bar showed no value between 0 and 100 % (saw ${bigSeen})`);
    assert(bigSeen.at(-1) === 100, `the tus upload's bar ended at ${bigSeen.at(-1)} %, not 100 %`);
    // The final tus PATCH names the file (ArtStore-File-Id): the details panel opens on it.
    uploadedIds.large = await detailsFileId(bigName);
    console.log(`     progress seen: small ${seen.join(',')}; large ${bigSeen.join(',')}`);
    await shot('files-uploaded');
  }, [LOGIN]);

  await step(FIND, async () => {
    await eventually(async () => {
      await page.getByTestId('search-q').fill(word);
      await page.getByTestId('search-submit').click();
      await page.waitForTimeout(500);
      return (await page.locator('[data-testid=results] tr.mat-mdc-row', { hasText: fileName }).count()) === 1;
    }, `a search for "${word}" to find ${fileName}`);
    await page.locator('[data-testid=results] tr.mat-mdc-row', { hasText: fileName }).click();
    await page.getByTestId('details-filename').filter({ hasText: fileName }).waitFor();
    await shot('files');
  }, [UPLOAD]);

  await step('download it and compare the bytes', async () => {
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('download').click()]);
    const bytes = await readFile(await download.path());
    assert(bytes.equals(content), `downloaded ${bytes.length} bytes differ from the ${content.length} uploaded`);
  }, [FIND]);

  await step("change an SE's mode (rw -> ro -> rw)", async () => {
    await nav('/storage');
    const card = page.locator('.se-card', { has: page.getByTestId('switch-ro') }).first();
    await card.waitFor();
    seName = (await card.locator('.se-cap-head strong').innerText()).trim();
    seId = (await card.getAttribute('data-se')) ?? '';
    modeSince = await browserNow();
    await card.getByTestId('switch-ro').click();
    await page.locator('mat-dialog-container button', { hasText: 'Switch to ro' }).click();
    const roCard = page.locator('.se-card', { hasText: seName });
    await eventually(async () => (await roCard.getByTestId('se-mode').innerText()).trim() === 'ro', `${seName} to show mode ro`);
    await shot('storage');
    await roCard.getByTestId('switch-rw').click();
    await page.locator('mat-dialog-container input').fill(seName);
    await page.locator('mat-dialog-container button', { hasText: 'Switch to rw' }).click();
    await eventually(async () => (await roCard.getByTestId('se-mode').innerText()).trim() === 'rw', `${seName} to be back in rw`);
  }, [LOGIN]);

  await step('create a user', async () => {
    await nav('/users');
    await page.getByTestId('new-user').click();
    await page.getByTestId('new-username').fill(newUser);
    await page.getByTestId('new-password').fill(newUserPassword);
    await page.getByTestId('save-user').click();
    await page.locator('[data-testid=users-table] tr', { hasText: newUser }).waitFor();
    await shot('users');
  }, [LOGIN]);

  await step('see these actions in the audit log', async () => {
    await nav('/audit');
    // The action names the services record: admin_module for the user and the SE mode (one event
    // per switch, targeting the SE id), the ingester for each upload (targeting the file id).
    await eventually(async () => (await auditRows('user.created', newUser, 'success')).length === 1, `user.created ${newUser}`);
    // Rows start with their time as the page shows it; only this run's two switches count.
    const switches = async () => (await auditRows('storage_element.mode_changed', seId, 'success')).filter((t) => t.slice(0, 19) >= modeSince);
    await eventually(async () => (await switches()).length === 2, `two storage_element.mode_changed events for ${seId} since ${modeSince}`);
    for (const id of [uploadedIds.small, uploadedIds.large]) {
      await eventually(async () => (await auditRows('file.upload', id, 'ingester_module', 'success')).length === 1,
        `the ingester's file.upload event for ${id}`);
    }
    await page.getByTestId('verify-chain').click();
    await page.getByTestId('verify-result').waitFor();
    const verdict = await page.getByTestId('verify-result').innerText();
    assert(verdict.includes('Chain intact'), `audit chain: ${verdict}`);
    await shot('audit');
  }, [LOGIN, UPLOAD, 'create a user', "change an SE's mode (rw -> ro -> rw)"]);

  const sagaDone = async (label) => {
    const row = page.locator('.saga-row', { hasText: label }).first();
    await row.waitFor();
    await eventually(async () => {
      const state = (await row.locator('.badge').first().innerText().catch(() => '')).trim();
      if (['failed', 'compensated'].includes(state)) throw new Fatal(`${label}: ${await row.innerText()}`);
      return state === 'completed';
    }, `saga "${label}" to complete`);
  };

  await step('edit metadata, make permanent (saga), delete (saga)', async () => {
    await nav('/files');
    await page.getByTestId('search-q').fill(word);
    await page.getByTestId('search-submit').click();
    await page.locator('[data-testid=results] tr.mat-mdc-row', { hasText: fileName }).click();
    await page.locator('[data-testid=details] button', { hasText: 'Edit' }).click();
    await page.locator('mat-dialog-container textarea').first().fill(`Edited ${word} description`);
    await page.locator('mat-dialog-container input').first().fill('e2e, edited');
    await page.locator('mat-dialog-container button', { hasText: 'Save' }).click();
    await page.locator('[data-testid=details]', { hasText: `Edited ${word} description` }).waitFor();

    await page.locator('[data-testid=details] button', { hasText: 'Make permanent' }).click();
    await page.locator('mat-dialog-container button', { hasText: 'Finalize' }).click();
    await sagaDone(`Finalize ${fileName}`);
    await eventually(async () => (await page.getByTestId('details-retention').innerText()).trim() === 'permanent', 'the record to show permanent');
    await shot('files-sagas');

    await page.locator('[data-testid=results] tr.mat-mdc-row', { hasText: `${tag}-large` }).click();
    await page.locator('[data-testid=details] button', { hasText: 'Delete' }).click();
    await page.locator('mat-dialog-container button', { hasText: 'Delete' }).click();
    await sagaDone(`Delete e2e-${tag}-large.bin`);
  }, [FIND]);

  await step('service account: create (secret once), rotate, suspend; rotate a signing key', async () => {
    await nav('/service-accounts');
    await page.locator('button', { hasText: 'New service account' }).click();
    await page.getByTestId('sa-name').fill(`e2e-sa-${tag}`);
    await page.getByLabel('files:read', { exact: true }).check();
    await page.locator('mat-dialog-container button', { hasText: 'Create' }).click();
    const secret = (await page.getByTestId('client-secret').innerText()).trim();
    assert(secret.length >= 16, 'a client secret is shown');
    await shot('service-account-secret');
    await page.locator('mat-dialog-container button', { hasText: 'I have stored it' }).click();
    const row = page.locator('tr', { hasText: `e2e-sa-${tag}` });
    await row.waitFor();
    await row.locator('button[mattooltip="Rotate secret"], button:has(mat-icon:text("autorenew"))').click();
    await page.locator('mat-dialog-container button', { hasText: 'Rotate' }).click();
    const rotated = (await page.getByTestId('client-secret').innerText()).trim();
    assert(rotated !== secret, 'rotation shows a new secret');
    await page.locator('mat-dialog-container button', { hasText: 'I have stored it' }).click();
    await row.locator('button:has(mat-icon:text("pause_circle"))').click();
    await page.locator('mat-dialog-container button', { hasText: 'Suspend' }).click();
    await eventually(async () => (await row.innerText()).includes('SUSPENDED'), 'the account to be suspended');

    await nav('/keys');
    const activeKid = async () => (await page.locator('tr.mat-mdc-row', { hasText: 'active' }).first().locator('td').first().innerText()).trim();
    await page.locator('tr.mat-mdc-row').first().waitFor();
    const before = await activeKid();
    await page.locator('button', { hasText: 'Rotate key' }).click();
    await page.locator('mat-dialog-container button', { hasText: 'Rotate' }).click();
    await eventually(async () => (await activeKid()) !== before, 'a new active signing key');
    assert((await page.locator('tr.mat-mdc-row', { hasText: before }).innerText()).includes('retiring'), 'the previous key keeps verifying (retiring)');
    await shot('keys');
  }, [LOGIN]);

  await step('a USER sees files only, changes the password; lockout shown and cleared by unlock', async () => {
    const userContext = await browser.newContext({ viewport: { width: 420, height: 900 } });
    await loopbackOnly(userContext);
    const u = await userContext.newPage();
    u.setDefaultTimeout(TIMEOUT);
    const login = async (password) => {
      await u.goto(`${UI}/login`);
      await u.getByTestId('login-username').fill(newUser);
      await u.getByTestId('login-password').fill(password);
      await u.getByTestId('login-submit').click();
    };
    try {
      await login(newUserPassword);
      await u.waitForURL('**/files');
      await u.locator('button[aria-label=Menu]').click();
      const links = await u.locator('mat-nav-list a').allInnerTexts();
      assert(links.length === 1 && links[0].includes('Files'), `a USER sees only Files, not ${links.join(', ')}`);
      await u.screenshot({ path: `${out}files-narrow-user.png`, fullPage: true });
      await u.keyboard.press('Escape');
      await u.goto(`${UI}/storage`);
      await u.waitForURL('**/files');

      const changed = `${newUserPassword}-2`;
      await u.goto(`${UI}/account/password`);
      await u.locator('input[formcontrolname=current_password]').fill(newUserPassword);
      await u.locator('input[formcontrolname=new_password]').fill(changed);
      await u.locator('input[formcontrolname=confirm]').fill(changed);
      await u.locator('button[type=submit]').click();
      await u.locator('.state-box.ok', { hasText: 'Password changed' }).waitFor();
      await u.screenshot({ path: `${out}change-password.png`, fullPage: true });

      let message = '';
      for (let i = 0; i < 8 && !/lock/i.test(message); i++) {
        await login('wrong-password');
        message = await u.locator('[role=alert]').innerText();
      }
      assert(/lock/i.test(message), `no lockout message after repeated failures (last: ${message})`);
      await u.screenshot({ path: `${out}login-locked.png` });

      await nav('/users');
      await page.locator('form.filters input[name=q]').fill(newUser);
      await page.locator('form.filters button[type=submit]').click();
      const row = page.locator('[data-testid=users-table] tr', { hasText: newUser });
      await eventually(async () => (await row.innerText()).includes('LOCKED'), `${newUser} to show LOCKED`);
      await row.locator('button', { hasText: 'Unlock' }).click();
      await eventually(async () => (await row.innerText()).includes('ACTIVE'), `${newUser} to be ACTIVE again`);
      await login(changed);
      await u.waitForURL('**/files');
    } finally {
      await userContext.close();
    }
  }, ['create a user']);

  await step('every other page renders', async () => {
    for (const [path, name] of [['/service-accounts', 'service-accounts'], ['/dashboard', 'dashboard-after']]) {
      await nav(path);
      await page.waitForTimeout(1000);
      const alerts = page.locator('[role=alert]');
      if ((await alerts.count()) > 0) throw new Error(`${path} shows an error: ${await alerts.first().innerText()}`);
      await shot(name);
    }
    await page.goto(`${UI}/forgot-password`);
    await page.locator('input[formcontrolname=login]').fill(newUser);
    await page.locator('button[type=submit]').click();
    await page.locator('.state-box.ok').waitFor();
    await shot('forgot-password');
    // The confirm page takes the mailed token from the link; an unknown one is refused with a clear message.
    const badToken = `not-a-token-${tag}`;
    await page.goto(`${UI}/reset-password?token=${badToken}`);
    const tokenField = page.locator('input[formcontrolname=token]');
    await eventually(async () => (await tokenField.inputValue()) === badToken, 'the token from the link in its field');
    await page.locator('input[formcontrolname=new_password]').fill(newUserPassword);
    await page.locator('input[formcontrolname=confirm]').fill(newUserPassword);
    await page.locator('button[type=submit]').click();
    const refusal = page.locator('[role=alert]');
    await refusal.waitFor();
    assert((await refusal.innerText()).includes('invalid_token'), `reset with an unknown token: ${await refusal.innerText()}`);
    await shot('reset-password');
    assert(pageErrors.length === 0, `uncaught page errors: ${pageErrors.join('; ')}`);
  }, [LOGIN]);
} finally {
  await browser.close();
}
const failed = results.filter((r) => !r.ok);
console.log(`\n${results.length - failed.length} passed, ${failed.length} failed; screenshots in ${out}`);
process.exit(failed.length ? 1 : 0);
