// The portal's app registration flow in a real browser: Playwright (playwright-core) drives
// Debian's Chromium against the emulator binary. Register an app, create a secret and read
// its value once, reload and see only the hint, create the service principal, find Reader
// with the role search (as the user types, then on the server) and give it to the app on a
// new resource group, see the assignment pending, advance the clock, see it effective;
// then get a token with the copied client id and secret and read the group.
//
// Screenshots of each step go to target/portal-screenshots/NN-step.png; the assertions are
// on page content, not pixels. UPDATE_DOCS_SCREENSHOT=1 also refreshes docs/portal.png.
//
//   cd clients/browser && npm ci && node --test
//
// Environment: ENTRA_EMULATOR_BIN (default: the newer of target/release and target/debug
// entra-emulator), CHROMIUM (default /usr/bin/chromium).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { chromium } from 'playwright-core';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const shots = path.join(root, 'target', 'portal-screenshots');
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function emulatorBinary() {
  if (process.env.ENTRA_EMULATOR_BIN) return process.env.ENTRA_EMULATOR_BIN;
  const built = ['release', 'debug']
    .map((profile) => path.join(root, 'target', profile, 'entra-emulator'))
    .filter((file) => existsSync(file))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  if (built.length === 0) {
    throw new Error('no emulator binary: run cargo build -p entra-emulator first');
  }
  return built[0];
}

/** Starts the binary on a free port; resolves once its connection file is written. */
async function startEmulator(dir) {
  const connectionFile = path.join(dir, 'connection.json');
  const child = spawn(
    emulatorBinary(),
    ['--plain-http', '--bind', '127.0.0.1:0', '--connection-file', connectionFile,
      '--rbac-propagation', '10m'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  child.stderr.on('data', (chunk) => { log += chunk; });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  for (let i = 0; !existsSync(connectionFile); i++) {
    if (i > 300 || child.exitCode !== null) {
      child.kill('SIGTERM');
      throw new Error(`the emulator did not start:\n${log}`);
    }
    await sleep(100);
  }
  const info = JSON.parse(await readFile(connectionFile, 'utf8'));
  const stop = async () => {
    child.kill('SIGTERM');
    await exited;
    return log;
  };
  return { info, stop };
}

test('portal: app registration to an effective role assignment, then a token', { timeout: 180_000 }, async (t) => {
  await mkdir(shots, { recursive: true });
  const scratch = await mkdtemp(path.join(tmpdir(), 'entra-portal-'));
  const emulator = await startEmulator(scratch);
  const base = emulator.info.base_url;
  const portal = `${base}/_emulator/portal`;
  const context = await chromium.launchPersistentContext(path.join(scratch, 'profile'), {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1100, height: 800 },
  });
  t.after(async () => {
    await context.close();
    await emulator.stop();
    await rm(scratch, { recursive: true, force: true });
  });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
  context.setDefaultTimeout(15_000);
  const page = context.pages()[0] ?? (await context.newPage());
  const shot = (name) => page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });
  const heading = () => page.locator('main h1').textContent();
  const clipboard = () => page.evaluate(() => navigator.clipboard.readText());
  const nav = (label) => page.getByRole('navigation', { name: 'Portal' }).getByRole('link', { name: label, exact: true });
  const tab = (label) => page.getByRole('navigation', { name: 'Application' }).getByRole('link', { name: label, exact: true });
  const button = (label) => page.getByRole('button', { name: label, exact: true });
  const name = 'portal-demo';
  const group = 'portal-demo-rg';
  const ids = {};

  await t.test('01 tenant overview', async () => {
    await page.goto(portal);
    assert.equal(await heading(), 'Tenant overview');
    assert.equal(await page.locator('#tenant-id').textContent(), emulator.info.tenant_id);
    assert.match(await page.locator('#clock-now').textContent(), /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/);
    await shot('01-overview');
  });

  await t.test('02 new registration', async () => {
    await nav('App registrations').click();
    assert.equal(await heading(), 'App registrations');
    await page.getByRole('link', { name: 'New registration' }).click();
    assert.equal(await heading(), 'Register an application');
    await page.getByLabel('Name', { exact: true }).fill(name);
    await page.getByLabel('Accounts in this organizational directory only (single tenant)').check();
    await shot('02-new-registration');
    await button('Register').click();
  });

  await t.test('03 app overview: copy the client id', async () => {
    assert.equal(await heading(), name);
    ids.client = await page.locator('#client-id').textContent();
    ids.object = await page.locator('#object-id').textContent();
    assert.match(ids.client, GUID);
    assert.match(ids.object, GUID);
    assert.equal(await page.locator('#tenant-id').textContent(), emulator.info.tenant_id);
    await button('Copy Application (client) ID').click();
    // The label changes once the clipboard write has resolved: wait for it, not a fixed time.
    await button('Copy Application (client) ID').filter({ hasText: /^Copied$/ }).waitFor({ timeout: 5_000 });
    assert.equal(await button('Copy Application (client) ID').textContent(), 'Copied');
    assert.equal(await clipboard(), ids.client);
    await shot('03-app-overview');
  });

  await t.test('04 new client secret', async () => {
    await tab('Certificates & secrets').click();
    assert.match(await page.locator('main').textContent(), /No client secrets have been created/);
    await page.getByLabel('Description').fill('browser test');
    await page.locator('select[name=expires]').selectOption({ label: '12 months' });
    await shot('04-new-client-secret');
    await button('Add').click();
  });

  await t.test('05 the value, shown once: copy it', async () => {
    assert.match(await page.getByRole('alert').textContent(), /cannot be viewed again/);
    ids.secret = await page.locator('#secret-value').textContent();
    assert.equal(ids.secret.length, 40);
    await button('Copy client secret value').click();
    await button('Copy client secret value').filter({ hasText: /^Copied$/ }).waitFor({ timeout: 5_000 });
    assert.equal(await clipboard(), ids.secret);
    await shot('05-secret-value-once');
  });

  await t.test('06 after leaving and reloading: only the hint', async () => {
    await page.getByRole('link', { name: /back to Certificates & secrets/ }).click();
    await page.reload();
    const main = await page.locator('main').textContent();
    assert.ok(!main.includes(ids.secret), 'the value is gone');
    assert.equal(await page.locator('#secret-value').count(), 0);
    assert.ok(main.includes(`${ids.secret.slice(0, 3)}******`), 'the hint is shown');
    assert.ok(main.includes('browser test'));
    assert.ok(!(await page.content()).includes(ids.secret));
    await shot('06-secret-hint-after-reload');
  });

  await t.test('07 service principal', async () => {
    await tab('Overview').click();
    await button('Create service principal').click();
    ids.sp = await page.locator('#sp-object-id').textContent();
    assert.match(ids.sp, GUID);
    await shot('07-service-principal');
  });

  await t.test('08 resource group', async () => {
    await nav('Subscriptions & resource groups').click();
    await page.getByLabel('Resource group name').fill(group);
    await page.locator('select[name=location]').selectOption('westeurope');
    await shot('08-create-resource-group');
    await button('Create').click();
    assert.equal(await heading(), 'Access control (IAM)');
    assert.ok((await page.locator('main dl').textContent()).includes(group));
  });

  await t.test('09 add role assignment: find Reader with the search box', async () => {
    const search = page.locator('input[name=q]');
    const roles = page.locator('select[name=role]');
    const shown = () => roles.locator('option:not([value=""])')
      .evaluateAll((options) => options.filter((o) => !o.hidden).map((o) => o.textContent));
    assert.deepEqual((await shown()).slice(0, 4), ['Owner', 'Contributor', 'Reader', 'User Access Administrator']);
    // As the user types, the script hides the roles that do not match.
    await search.pressSequentially('metrics pub');
    let list = await shown();
    assert.ok(list.includes('Monitoring Metrics Publisher'), list.join(', '));
    assert.ok(!list.includes('Reader') && !list.includes('Owner'), list.join(', '));
    await search.fill('reader');
    list = await shown();
    assert.deepEqual(list.slice(0, 3), ['Reader', 'Log Analytics Reader', 'Monitoring Reader']);
    assert.ok(!list.includes('Owner'), list.join(', '));
    // Submitting the search filters on the server, as it does without script.
    await search.press('Enter');
    await page.waitForURL(/[?&]q=reader(&|$)/);
    assert.equal(await heading(), 'Access control (IAM)');
    assert.equal(await search.inputValue(), 'reader');
    assert.equal(await roles.locator('option', { hasText: /^Owner$/ }).count(), 0);
    await roles.selectOption({ label: 'Reader' });
    await page.locator('select[name=principal]').selectOption(ids.sp);
    await shot('09-add-role-assignment');
    await button('Assign').click();
  });

  const row = () => page.locator('tbody tr', { hasText: name });

  await t.test('10 pending', async () => {
    const text = await row().textContent();
    assert.match(text, /Reader/);
    assert.match(text, /Pending until \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/);
    await shot('10-assignment-pending');
  });

  await t.test('11 advance the clock: effective', async () => {
    await button('+10 minutes').click();
    assert.equal(await heading(), 'Access control (IAM)');
    const text = await row().textContent();
    assert.match(text, /Effective/);
    assert.doesNotMatch(text, /Pending/);
    await shot('11-assignment-effective');
  });

  await t.test('12 a token with the copied client id and secret reads the group', async () => {
    const token = await fetch(`${base}/${emulator.info.tenant_id}/oauth2/v2.0/token`, {
      method: 'POST',
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: ids.client,
        client_secret: ids.secret,
        scope: 'https://management.azure.com/.default',
      }),
    });
    const body = await token.json();
    assert.equal(token.status, 200, JSON.stringify(body));
    assert.equal(body.token_type, 'Bearer');
    const rg = await fetch(
      `${base}/subscriptions/${emulator.info.subscription_id}/resourceGroups/${group}?api-version=2022-09-01`,
      { headers: { authorization: `Bearer ${body.access_token}` } },
    );
    const text = await rg.text();
    assert.equal(rg.status, 200, text);
    assert.equal(JSON.parse(text).location, 'westeurope');
  });

  if (process.env.UPDATE_DOCS_SCREENSHOT === '1') {
    await copyFile(path.join(shots, '10-assignment-pending.png'), path.join(root, 'docs', 'portal.png'));
  }

  const log = await emulator.stop();
  assert.ok(log.includes('POST /_emulator/portal/iam/assignments 303'), log);
  assert.ok(!log.includes(ids.secret), 'the secret is in no log line');
});
