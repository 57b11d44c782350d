// Opens `masteryctl learner report --html` pages in Debian's chromium (headless, through
// playwright-core) from file://, for tests/integration/test_learner_report.py:
//   node report.mjs CASES.json
// CASES.json: {"chromium": "/usr/bin/chromium", "cases": [{"name", "page": "/abs/report.html",
//   "width", "height", "screenshot": path (optional)}]}
// Prints one JSON object: {"results": [{name, nodes: [{id, status, rank, x, y, w, h}],
// steps: [{id, kind}], rows, summary, edges, scrollWidth, viewport, fontPx}], "requests": [every
// URL asked for], "blocked": [...], "errors": [...]}. Every http(s)/ws request is aborted and
// recorded: the page must never make one.
import fs from 'node:fs';
import {pathToFileURL} from 'node:url';
import {chromium} from 'playwright-core';

const spec = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const browser = await chromium.launch({executablePath: spec.chromium || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage']});
const requests = [];
const blocked = [];
const errors = [];
const results = [];
for(const c of spec.cases) {
  const context = await browser.newContext({viewport: {width: c.width, height: c.height},
    isMobile: c.width < 600, hasTouch: c.width < 600, deviceScaleFactor: 1});
  context.on('request', r => requests.push(r.url()));
  await context.route(/^(https?|wss?|ftp):/, route => {
    blocked.push(route.request().url());
    return route.abort();
  });
  const page = await context.newPage();
  page.on('pageerror', e => errors.push(String(e)));
  page.on('console', m => { if(m.type() === 'error') errors.push(m.text()); });
  await page.goto(pathToFileURL(c.page).href);
  await page.waitForLoadState('load');
  const r = await page.evaluate(() => {
    const nodes = [...document.querySelectorAll('svg.graph g.node')].map(g => {
      const b = g.getBoundingClientRect();
      const rect = g.querySelector('rect');
      return {id: g.dataset.id, status: g.dataset.status, rank: g.dataset.rank || null,
        fill: getComputedStyle(rect).fill, x: b.x, y: b.y, w: b.width, h: b.height};
    });
    return {nodes,
      steps: [...document.querySelectorAll('#next-steps li[data-id]')].map(li => ({
        id: li.dataset.id, kind: li.dataset.kind})),
      rows: [...document.querySelectorAll('table.competencies tbody tr')].map(tr => ({
        id: tr.dataset.id, cells: [...tr.cells].map(td => td.textContent),
        visible: [...tr.cells].map(td => getComputedStyle(td).display !== 'none')})),
      summary: document.getElementById('summary').textContent,
      learner: document.getElementById('learner').textContent,
      edges: document.querySelectorAll('svg.graph line.edge').length,
      scrollWidth: document.documentElement.scrollWidth,
      viewport: window.innerWidth,
      fontPx: parseFloat(getComputedStyle(document.body).fontSize)};
  });
  if(c.screenshot)
    await page.screenshot({path: c.screenshot, fullPage: true});
  results.push({name: c.name, ...r});
  await context.close();
}
await browser.close();
console.log(JSON.stringify({results, requests, blocked, errors}));
