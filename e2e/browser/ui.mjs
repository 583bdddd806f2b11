// The web UI in real headless Chromium, as a visitor and then an administrator uses it:
// search with the keyboard, open a package, follow a dependency, check a private distribution
// stays hidden, sign in, create and revoke a key, find the private distribution, sign out; a
// phone-width and a dark-mode rendering. Every step saves a screenshot.
//
// Run by e2e/tests/browser.rs against a Rieter it started and filled:
//   RIETER_URL, RIETER_ADMIN_KEY, SCREENSHOTS (a directory), CHROMIUM (the executable).
// Exits non-zero, with the failed assertion, on the first step that does not behave.

import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { chromium } from 'playwright-core';

const url = process.env.RIETER_URL;
const adminKey = process.env.RIETER_ADMIN_KEY;
const shots = process.env.SCREENSHOTS;
assert.ok(url && adminKey && shots, 'RIETER_URL, RIETER_ADMIN_KEY and SCREENSHOTS must be set');
mkdirSync(shots, { recursive: true });

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
});

let step = 0;
async function shot(page, name) {
  step += 1;
  const file = `${shots}/${String(step).padStart(2, '0')}-${name}.png`;
  await page.screenshot({ path: file, fullPage: true });
  console.log(`screenshot ${file}`);
}

/// The names in the first column of the page's package table.
async function packageNames(page) {
  return page.locator('main table tbody tr td:first-child a').allTextContents();
}

try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  // A page that fails to load a resource or throws is a failure too.
  const problems = [];
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('response', (resp) => {
    if (resp.status() >= 500) problems.push(`${resp.status()} for ${resp.url()}`);
  });

  // Home, then a search typed into the header's box and sent with Enter.
  await page.goto(`${url}/`);
  assert.equal(await page.locator('h1').count(), 1);
  await shot(page, 'home');
  await page.getByLabel('Search packages').fill('br-app');
  await page.keyboard.press('Enter');
  await page.waitForURL(/\/search\?q=br-app/);
  const found = await packageNames(page);
  assert.equal(found[0], 'br-app', `the exact name first: ${found}`);
  assert.ok(found.includes('br-app-extras'), `the longer name too: ${found}`);
  assert.equal(
    await page.getByRole('heading', { name: 'Named “br-app”' }).count(), 1,
    'exact names in a section of their own',
  );
  await shot(page, 'search');

  // The package page, reached by keyboard: focus the exact match (listed again among all
  // matches) and press Enter.
  await page.locator('main table a', { hasText: /^br-app$/ }).first().focus();
  await page.keyboard.press('Enter');
  await page.waitForURL(/\/packages\/pub\/main\/x86_64\/br-app$/);
  assert.match(await page.locator('h1').textContent(), /^br-app 2\.0-1$/);
  await shot(page, 'package');

  // A dependency satisfied through provides leads to the package providing it.
  await page.getByRole('link', { name: 'libbr.so=1-64' }).click();
  await page.waitForURL(/\/packages\/pub\/main\/x86_64\/br-lib$/);
  assert.match(await page.locator('h1').textContent(), /^br-lib /);
  const requiredBy = page.locator('h2', { hasText: 'Required by' }).locator('xpath=following-sibling::ul[1]');
  assert.ok((await requiredBy.textContent()).includes('br-app'), 'br-lib is required by br-app');
  await shot(page, 'dependency');

  // The private distribution is invisible to a visitor: not found by search, 404 by URL.
  await page.goto(`${url}/search?q=br-secret`);
  assert.deepEqual(await packageNames(page), []);
  const hidden = await page.goto(`${url}/vault/main`);
  assert.equal(hidden.status(), 404);
  await shot(page, 'private-hidden');

  // Sign in with a wrong key, then the admin key.
  await page.goto(`${url}/`);
  await page.getByRole('link', { name: 'Sign in' }).click();
  await page.getByLabel('API key').fill('not-a-key');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('alert').waitFor();
  await shot(page, 'sign-in-refused');
  await page.getByLabel('API key').fill(adminKey);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('link', { name: 'Admin' }).waitFor();
  await shot(page, 'signed-in');

  // Create a key, read its secret once, revoke it.
  await page.goto(`${url}/admin/keys`);
  await page.getByLabel('Name (what the key is for)').fill('browser-ci');
  await page.getByLabel('Permission').selectOption('publish');
  await page.getByLabel('Distribution (not for admin)').fill('pub');
  await page.getByRole('button', { name: 'Create key' }).click();
  const secret = (await page.locator('#new-secret').textContent()).trim();
  assert.ok(secret.length >= 20, `a secret is shown: ${secret.length} characters`);
  await shot(page, 'key-created');
  // A publish key may not list keys (403), which tells it apart from an unknown one (401).
  const listKeys = () => fetch(`${url}/api/v1/keys`, { headers: { authorization: `Bearer ${secret}` } });
  assert.equal((await listKeys()).status, 403, 'the new key is known');
  await page.getByRole('button', { name: 'Revoke key browser-ci' }).click();
  await page.waitForLoadState();
  assert.equal(await page.getByRole('button', { name: 'Revoke key browser-ci' }).count(), 0);
  await shot(page, 'key-revoked');
  assert.equal((await listKeys()).status, 401, 'the revoked key is refused');

  // Signed in, the private distribution is there.
  // (Listed twice: named exactly, then among all matches.)
  await page.goto(`${url}/search?q=br-secret`);
  assert.deepEqual(await packageNames(page), ['br-secret', 'br-secret']);
  await shot(page, 'private-signed-in');

  // Sign out: hidden again.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('link', { name: 'Sign in' }).waitFor();
  await page.goto(`${url}/search?q=br-secret`);
  assert.deepEqual(await packageNames(page), []);

  // A phone's width and the system's dark mode: the page still fits, and the colours follow.
  const phone = await browser.newContext({
    viewport: { width: 375, height: 740 },
    colorScheme: 'dark',
  });
  const small = await phone.newPage();
  await small.goto(`${url}/packages/pub/main/x86_64/br-app`);
  const overflow = await small.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `no horizontal scrolling at 375 px: ${overflow} px too wide`);
  const background = await small.evaluate(() => getComputedStyle(document.body).backgroundColor);
  const [r, g, b] = background.match(/\d+/g).map(Number);
  assert.ok(r + g + b < 3 * 96, `a dark background in dark mode: ${background}`);
  await shot(small, 'phone-dark');
  await phone.close();

  assert.deepEqual(problems, [], 'no page errors or server errors');
  console.log(`browser suite passed: ${step} screenshots in ${shots}`);
} finally {
  await browser.close();
}
