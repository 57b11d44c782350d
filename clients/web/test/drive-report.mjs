// Opens a class report page (masteryctl group report G --html) in Debian's chromium (headless,
// through playwright-core) from file://, at a phone-sized viewport, for
// tests/integration/test_web_group_report.py:
//   node drive-report.mjs SPEC.json
// SPEC.json: {"page": "/abs/report.html", "chromium": "/usr/bin/chromium",
//             "viewport": {"width": 390, "height": 844}, "screenshot": path (optional)}
// Prints one JSON object: what the DOM shows (title, blocking list, learners at risk, heat map
// rows and cells, the summary table), whether the page overflows the viewport sideways, and
// every URL the browser asked for ("requests") and refused ("blocked").
import fs from 'node:fs';
import {pathToFileURL} from 'node:url';
import {chromium} from 'playwright-core';

const spec = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const browser = await chromium.launch({executablePath: spec.chromium || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage']});
const context = await browser.newContext({viewport: spec.viewport || {width: 390, height: 844},
  isMobile: true, hasTouch: true, deviceScaleFactor: 2});
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
page.on('console', m => { if(m.type() === 'error') errors.push(m.text()); });
await page.goto(pathToFileURL(spec.page).href);
await page.waitForLoadState('load');
const dom = await page.evaluate(() => {
  const rows = [...document.querySelectorAll('#heatmap tbody tr')].map(tr => ({
    learner: tr.dataset.learner,
    cells: [...tr.querySelectorAll('td')].map(td => td.className.split(' ')[0]),
  }));
  const scroll = document.querySelector('.scroll');
  return {
    title: document.title,
    h1: document.getElementById('title').textContent,
    blocking: [...document.querySelectorAll('#blocking li[data-competency]')].map(li => ({
      competency: li.dataset.competency,
      blocked: Number(li.querySelector('.blocked').textContent)})),
    atRisk: [...document.querySelectorAll('#at-risk li[data-learner]')].map(li => ({
      learner: li.dataset.learner, text: li.textContent})),
    columns: document.querySelectorAll('#heatmap thead th.c').length,
    rows,
    summary: [...document.querySelectorAll('#summary tbody tr')].map(
      tr => [...tr.cells].map(td => td.textContent)),
    viewport: window.innerWidth,
    pageWidth: document.documentElement.scrollWidth,
    heatmapScrolls: scroll.scrollWidth > scroll.clientWidth,
    fontPx: parseFloat(getComputedStyle(document.body).fontSize),
    scripts: document.querySelectorAll('script').length,
  };
});
if(spec.screenshot)
  await page.screenshot({path: spec.screenshot, fullPage: true});
await browser.close();
console.log(JSON.stringify({dom, requests, blocked, errors}));
