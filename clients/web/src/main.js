// The page: files dropped, chosen or pasted are sorted into the badge, status lists and DID
// documents by what they are; the verifier runs; the result is drawn. A badge page embeds its
// badge (script#embedded-badge) and is checked the moment it opens. Nothing is fetched.
import {matchRecipient, verifyBadge, isPng, looksLikeSvg} from './verifier.js';

const $ = id => document.getElementById(id);
const state = {badge: null, badgeName: null, lists: [], dids: []};
let last = null;

// Sorts one input by content: images and JWTs are badges; JSON by what it says it is.
function classify(bytes, name) {
  if(isPng(bytes)) {
    return 'badge';
  }
  const text = new TextDecoder().decode(bytes).trim();
  if(looksLikeSvg(text) || /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(text)) {
    return 'badge';
  }
  try {
    const j = JSON.parse(text);
    const type = [].concat(j.type || []);
    if(type.includes('BitstringStatusListCredential')) {
      return 'list';
    }
    if(typeof j.id === 'string' && j.id.startsWith('did:') && !j.credentialSubject) {
      return 'did';
    }
  } catch(e) {
    // not JSON: the verifier will say what it is not
  }
  return name === 'list' || name === 'did' ? name : 'badge';
}

function add(bytes, name, hint) {
  const kind = hint || classify(bytes, name);
  if(kind === 'list') {
    state.lists.push(new TextDecoder().decode(bytes));
  } else if(kind === 'did') {
    state.dids.push(new TextDecoder().decode(bytes));
  } else {
    state.badge = bytes;
    state.badgeName = name;
  }
  showInputs();
}

function showInputs() {
  $('loaded').textContent = [
    state.badge ? `badge: ${state.badgeName || 'pasted'}` : 'no badge yet',
    `${state.lists.length} status list(s)`, `${state.dids.length} DID document(s)`,
  ].join(' · ');
}

async function addFiles(files, hint) {
  for(const f of files) {
    add(new Uint8Array(await f.arrayBuffer()), f.name, hint);
  }
}

function el(tag, attrs = {}, ...kids) {
  const e = document.createElement(tag);
  for(const [k, v] of Object.entries(attrs)) {
    if(v !== null && v !== undefined) {
      e.setAttribute(k, v);
    }
  }
  for(const k of kids) {
    if(k !== null && k !== undefined) {
      e.append(k);
    }
  }
  return e;
}

// Only data: images are shown (an https image would be a network request).
function picture(src, alt) {
  return typeof src === 'string' && /^data:image\/(png|svg\+xml|jpeg|gif|webp)[;,]/.test(src) ?
    el('img', {src, alt, class: 'pic'}) : null;
}

const WORDS = {
  format: 'What it is', baked: 'Baked image', parse: 'Readable', structure: 'A credential',
  ob3_shape: 'An Open Badge', proof: 'Signature', proof_purpose: 'Signed to assert',
  issuer_key: 'Key belongs to the issuer', jwt_alg: 'Signature algorithm',
  trust: 'Issuer you trust', valid_from: 'Already valid', valid_until: 'Not expired',
  revocation: 'Not revoked', suspension: 'Not suspended', status_fresh: 'Status list is fresh',
  status: 'Status lists', recipient: 'Issued to this person', clr_credentials: 'Every badge in it',
};

function render(res) {
  last = res;
  const out = $('result');
  out.replaceChildren();
  const v = el('div', {id: 'verdict', class: `verdict ${res.verdict.toLowerCase()}`,
    'data-verdict': res.verdict}, res.verdict);
  const summary = res.verdict === 'VALID' ?
    'Every check passed: this badge is genuine, unchanged, and in force.' :
    res.verdict === 'REVOKED' ? 'The issuer has revoked this badge.' :
      res.verdict === 'SUSPENDED' ? 'The issuer has suspended this badge for now.' :
        `This badge did not pass: ${res.reasons[0] || ''}`;
  out.append(v, el('p', {id: 'summary'}, summary));

  const who = el('section', {id: 'issuer'}, el('h2', {}, 'Issued by'),
    picture(res.issuer.image, 'issuer logo'),
    el('p', {class: 'big'}, res.issuer.name || '(the issuer gives no name)'),
    el('p', {}, 'DID: ', el('code', {id: 'issuer-did'}, res.issuer.id || '(none)')));
  if(res.issuer.url) {
    who.append(el('p', {}, 'Web site (as the issuer states it): ', el('code', {}, res.issuer.url)));
  }
  const ach = el('section', {id: 'achievement'}, el('h2', {}, 'Achievement'),
    picture(res.achievement.image, 'badge image'),
    el('p', {class: 'big'}, res.achievement.name || res.credential.name || '(no name)'),
    res.achievement.description ? el('p', {}, res.achievement.description) : null,
    res.achievement.criteria ? el('p', {}, el('b', {}, 'Criteria: '), res.achievement.criteria) :
      null,
    ...res.achievement.alignment.map(a => el('p', {}, 'Aligned to: ', a.name || '',
      ' ', el('code', {}, a.url || ''))),
    el('p', {}, 'Valid from ', res.credential.validFrom || '(not stated)',
      res.credential.validUntil ? ` until ${res.credential.validUntil}` : ''));
  const learner = el('section', {id: 'learner'}, el('h2', {}, 'Learner'),
    el('p', {}, res.subject.id ? `Identified by ${res.subject.id}` : res.subject.hashed ?
      'Identified by a hashed school id: ask the holder for their id and check it here.' :
      'The badge does not say who it was issued to.'));
  const form = el('form', {id: 'recipient-form'},
    el('label', {for: 'recipient'}, 'Presented id: '),
    el('input', {id: 'recipient', autocomplete: 'off'}),
    el('button', {type: 'submit', id: 'recipient-check'}, 'Check'),
    el('span', {id: 'recipient-result'}));
  form.addEventListener('submit', async e => {
    e.preventDefault();
    const m = await matchRecipient(last.document || {}, $('recipient').value);
    const r = $('recipient-result');
    r.dataset.result = m.result;
    r.textContent = m.result === 'ok' ? ` ✔ ${m.detail}` : ` ✘ ${m.detail}`;
  });
  learner.append(form);
  const ev = el('section', {id: 'evidence'}, el('h2', {}, 'Evidence'));
  if(res.evidence.length === 0) {
    ev.append(el('p', {}, 'None listed.'));
  }
  for(const e of res.evidence) {
    // the URL as text, never a link: the page makes no requests, and a person decides
    ev.append(el('p', {class: 'evidence-item'}, el('b', {}, e.name || 'Evidence'),
      e.narrative || e.description ? `: ${e.narrative || e.description}` : '',
      e.id ? el('br') : null, e.id ? el('code', {}, e.id) : null));
  }
  const rows = res.results.map(c => el('tr', {'data-check': c.check, 'data-result': c.result,
    class: ['ok', 'json', 'jwt', 'png', 'svg'].includes(c.result) ? 'pass' :
      ['unknown', 'unchecked', 'absent'].includes(c.result) ? 'note' : 'fail'},
  el('td', {}, WORDS[c.check] || c.check), el('td', {class: 'res'}, c.result),
  el('td', {}, c.detail || '')));
  const checks = el('section', {id: 'checks-section'}, el('h2', {}, 'Checks'),
    el('table', {id: 'checks'}, el('tbody', {}, ...rows)));
  if(res.reasons.length) {
    checks.append(el('ul', {id: 'reasons'}, ...res.reasons.map(x => el('li', {}, x))));
  }
  if(res.warnings.length) {
    checks.append(el('ul', {id: 'warnings'}, ...res.warnings.map(x => el('li', {}, x))));
  }
  const grid = el('div', {class: 'grid'}, who, ach, learner, ev);
  out.append(grid, checks);
  for(const [i, n] of res.nested.entries()) {
    out.append(el('p', {class: 'nested', 'data-verdict': n.verdict},
      `${i + 1}. ${n.achievement.name || n.credential.id}: ${n.verdict}`));
  }
  document.body.dataset.state = 'done';
}

function trustedList() {
  const t = $('trust').value.split(/\s+/).filter(x => x !== '');
  return t.length ? t : null;
}

async function run() {
  if(!state.badge) {
    $('loaded').textContent = 'Add a badge first (drop it, choose it or paste it).';
    return;
  }
  document.body.dataset.state = 'checking';
  const t0 = performance.now();
  let res;
  try {
    res = await verifyBadge(state.badge, {statusLists: state.lists, didDocuments: state.dids,
      trusted: trustedList()});
  } catch(e) {
    res = await verifyBadge('', {});
    res.reasons.unshift(`the page could not check this input: ${e.message}`);
    res.verdict = 'INVALID';
  }
  window.__lastVerifyMs = performance.now() - t0;
  window.__lastResult = res;
  render(res);
}

function reset() {
  state.badge = null;
  state.lists = [];
  state.dids = [];
  showInputs();
  $('result').replaceChildren();
  document.body.dataset.state = 'idle';
}

function wire() {
  const drop = $('drop');
  drop.addEventListener('dragover', e => {
    e.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', async e => {
    e.preventDefault();
    drop.classList.remove('over');
    await addFiles(e.dataTransfer.files);
    await run();
  });
  $('file').addEventListener('change', async e => {
    await addFiles(e.target.files);
    await run();
  });
  $('lists').addEventListener('change', e => addFiles(e.target.files, 'list'));
  $('dids').addEventListener('change', e => addFiles(e.target.files, 'did'));
  $('paste-check').addEventListener('click', async () => {
    const t = $('paste').value.trim();
    if(t) {
      add(new TextEncoder().encode(t), 'pasted');
    }
    await run();
  });
  $('reset').addEventListener('click', reset);
  const embedded = $('embedded-badge');
  if(embedded) {
    const e = JSON.parse(embedded.textContent);
    state.badge = new TextEncoder().encode(e.badge);
    state.badgeName = 'this page';
    state.lists = e.statusLists || [];
    state.dids = e.didDocuments || [];
    showInputs();
    run();
  } else {
    showInputs();
  }
}

window.masteryVerify = {verifyBadge, run, reset, state};
wire();
