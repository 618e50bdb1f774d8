// Browser test of the status dashboard: starts the fixture (a status server over a seeded
// database), opens the page in headless Debian Chromium through playwright-core, checks that
// the counts shown are the database's, opens a video from the gallery, and saves a
// screenshot. Usage: node dashboard.test.mjs FIXTURE_BINARY SCREENSHOT_PATH
// Exit: 0 passed, 1 failed, 77 skipped (no Chromium or no playwright-core: run
// scripts/install-deps).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';

const [fixturePath, screenshotPath] = process.argv.slice(2);
if (!fixturePath || !screenshotPath) {
  console.error('usage: node dashboard.test.mjs FIXTURE_BINARY SCREENSHOT_PATH');
  process.exit(2);
}
const chromiumPath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
if (!existsSync(chromiumPath)) {
  console.log(`SKIP: ${chromiumPath} not found (apt-get install chromium, or scripts/install-deps)`);
  process.exit(77);
}
let chromium;
try {
  ({ chromium } = await import('playwright-core'));
} catch {
  console.log('SKIP: playwright-core is not installed (cd tests/browser && npm ci, or scripts/install-deps)');
  process.exit(77);
}

const fixture = spawn(fixturePath, [], { stdio: ['pipe', 'pipe', 'inherit'] });
const lines = createInterface({ input: fixture.stdout })[Symbol.asyncIterator]();
const url = (await lines.next()).value;
const expected = JSON.parse((await lines.next()).value);
assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/$/);

const browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: ['--no-sandbox'] });
let failed = false;
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  await page.goto(url);
  await page.waitForSelector('body[data-loaded="true"]', { timeout: 10000 });

  const text = async (selector) => (await page.locator(selector).first().textContent()).trim();
  const t = expected.totals;
  const total = Object.values(t).reduce((a, b) => a + b, 0);
  assert.equal(await text('[data-testid=total-all]'), String(total));
  assert.equal(await text('[data-testid=total-queued]'), String(t.queued));
  assert.equal(await text('[data-testid=total-running]'), String(t.submitting + t.processing + t.downloading));
  assert.equal(await text('[data-testid=total-succeeded]'), String(t.succeeded));
  assert.equal(await text('[data-testid=total-failed]'), String(t.failed));
  assert.equal(await text('[data-testid=total-cancelled]'), String(t.cancelled));
  assert.equal(await text('[data-testid=health]'), 'healthy');

  for (const [name, b] of Object.entries(expected.batches)) {
    const row = page.locator('tr[data-batch]').filter({ has: page.locator('td.name', { hasText: name }) });
    assert.equal(await row.count(), 1, `one row for batch ${name}`);
    const done = (b.succeeded || 0) + (b.failed || 0) + (b.cancelled || 0);
    assert.match(await row.locator('[data-field=done]').textContent(), new RegExp(`^${done} / ${b.total} `));
    assert.equal(await row.locator('[data-field=queued]').textContent(), String(b.queued || 0));
    assert.equal(await row.locator('[data-field=failed]').textContent(), String(b.failed || 0));
  }
  assert.equal(await page.locator('[data-testid=failures] tr[data-job]').count(), t.failed);
  assert.equal(await page.locator('[data-testid=lanes] tr[data-lane]').count(), 2);

  // Gallery: the tab of the batch with the most successes shows one thumbnail per success.
  const [bestBatch, best] = Object.entries(expected.batches).sort((a, b) => (b[1].succeeded || 0) - (a[1].succeeded || 0))[0];
  await page.locator('#gallery-tabs button', { hasText: bestBatch }).click();
  const thumbs = page.locator('[data-testid=gallery] button.thumb');
  await page.waitForFunction((n) => document.querySelectorAll('[data-testid=gallery] button.thumb').length === n,
    best.succeeded, { timeout: 10000 });
  await page.waitForFunction(() => [...document.querySelectorAll('.thumb img')].every((i) => i.complete && i.naturalWidth > 0),
    null, { timeout: 10000 });
  await page.screenshot({ path: screenshotPath, fullPage: true });
  await thumbs.first().click();
  const video = page.locator('[data-testid=player-video]');
  await video.waitFor({ state: 'visible', timeout: 5000 });
  // Served by job id from the path recorded in the DB (issue 9), not by rebuilding the name.
  assert.match(await video.getAttribute('src'), /^\/files\/jobs\/\d+\/video$/);
  // The server's file endpoint and Range support let the element load metadata (duration).
  await page.waitForFunction(() => document.querySelector('[data-testid=player-video]').readyState >= 1, null,
    { timeout: 10000 });
  const duration = await video.evaluate((v) => v.duration);
  assert.ok(duration > 0, `video duration ${duration}`);
  await video.evaluate((v) => { v.pause(); v.currentTime = 1; });
  await page.waitForFunction(() => document.querySelector('[data-testid=player-video]').readyState >= 2, null,
    { timeout: 10000 });

  const playerShot = screenshotPath.replace(/\.png$/, '') + '-player.png';
  await page.screenshot({ path: playerShot });
  assert.deepEqual(errors, [], 'no errors in the page console');
  console.log(`screenshot: ${screenshotPath}`);
  console.log(`screenshot: ${playerShot}`);
} catch (e) {
  failed = true;
  console.error(e);
} finally {
  await browser.close();
  fixture.stdin.end();  // EOF: the fixture stops its server and removes its temp folder
  // The fixture must stop by itself on EOF, cleanly (under ASan a leak fails the exit code).
  const exit = fixture.exitCode !== null ? fixture.exitCode : await new Promise((resolve) => {
    const timer = setTimeout(() => { fixture.kill('SIGKILL'); resolve('timeout'); }, 5000);
    fixture.on('exit', (code) => { clearTimeout(timer); resolve(code); });
  });
  if (exit !== 0) {
    console.error(`the fixture ended with ${exit}`);
    failed = true;
  }
}
console.log(failed ? '0 passed, 1 failed' : '1 passed, 0 failed');
process.exit(failed ? 1 : 0);
