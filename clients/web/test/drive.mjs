// Drives the verifier page in Debian's chromium (headless, through playwright-core) from
// file://, for tests/integration/test_web_verify.py:
//   node drive.mjs CASES.json
// CASES.json: {"page": "/abs/verify.html", "chromium": "/usr/bin/chromium", "cases": [
//   {"name", "files": [paths], "trust": "did..." (optional), "page": other page (optional),
//    "screenshot": path (optional), "recipient": id (optional)}]}
// Prints one JSON object: {"results": [{name, verdict, checks: {check: result},
// details: {check: detail}, reasons, ms, recipient}], "requests": [every URL the browser
// asked for], "blocked": [...]}.
import fs from 'node:fs';
import {pathToFileURL} from 'node:url';
import {chromium} from 'playwright-core';

const spec = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const browser = await chromium.launch({executablePath: spec.chromium || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage']});
// A context that would fail any network request loudly: routes for http(s) and ws are aborted
// and recorded (the page must never try).
const context = await browser.newContext({viewport: {width: 1100, height: 900}});
const requests = [];
const blocked = [];
context.on('request', r => requests.push(r.url()));
await context.route(/^(https?|wss?|ftp):/, route => {
  blocked.push(route.request().url());
  return route.abort();
});
const page = await context.newPage();
const errors = [];
page.on('pageerror', e => errors.push(String(e)));
const results = [];
for(const c of spec.cases) {
  const url = pathToFileURL(c.page || spec.page).href;
  await page.goto(url);
  if(!c.page) {
    if(c.trust) {
      await page.evaluate(() => { document.querySelector('details').open = true; });
      await page.fill('#trust', c.trust);
    }
    await page.setInputFiles('#file', c.files);
  }
  await page.waitForSelector('body[data-state="done"]', {timeout: 60000});
  let recipient = null;
  if(c.recipient !== undefined) {
    await page.fill('#recipient', c.recipient);
    await page.click('#recipient-check');
    await page.waitForSelector('#recipient-result[data-result]');
    recipient = await page.getAttribute('#recipient-result', 'data-result');
  }
  const r = await page.evaluate(() => {
    const checks = {};
    const details = {};
    for(const tr of document.querySelectorAll('#checks tr')) {
      checks[tr.dataset.check] = tr.dataset.result;
      details[tr.dataset.check] = tr.cells[2].textContent;
    }
    return {verdict: document.getElementById('verdict').dataset.verdict, checks, details,
      reasons: [...document.querySelectorAll('#reasons li')].map(li => li.textContent),
      issuer: document.getElementById('issuer-did').textContent,
      title: document.title,
      card: document.getElementById('badge-name') ?
        document.getElementById('badge-name').textContent : null,
      downloads: [...document.querySelectorAll('a[download]')].map(a => ({
        name: a.getAttribute('download'), href: a.getAttribute('href')})),
      qr: document.getElementById('qr') !== null,
      publicUrl: document.getElementById('public-url') ?
        document.getElementById('public-url').getAttribute('href') : null,
      text: document.getElementById('result').innerText, ms: window.__lastVerifyMs};
  });
  if(c.screenshot) {
    await page.screenshot({path: c.screenshot, fullPage: true});
  }
  results.push({name: c.name, recipient, ...r});
}
await browser.close();
console.log(JSON.stringify({results, requests, blocked, errors}));
