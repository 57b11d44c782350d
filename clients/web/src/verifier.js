// The verifier's core: everything a badge check needs, with no DOM and no network. It takes
// the bytes a person dropped (a JSON credential, a VC-JWT, a baked PNG or SVG), optional status
// list credentials and DID documents, and answers with a verdict, the issuer, the achievement
// and every check with a reason in plain words. The same checks, names and verdicts as
// mastery-verify (lib/vc/verify.h), so an auditor sees one vocabulary.
//
// Cryptography is the browser's WebCrypto (Ed25519, RSASSA-PKCS1-v1_5 SHA-256, SHA-256,
// gzip through DecompressionStream). RDF Dataset Canonicalization is jsonld + rdf-canonize,
// bundled; their document loader knows only the contexts embedded at build time and refuses
// every other URL, so nothing is ever fetched.
import jsonld from 'jsonld';
import {CONTEXTS} from './contexts.js';

export const OB_NS = 'https://purl.imsglobal.org/ob/v3p0';
export const CLR_NS = 'https://purl.imsglobal.org/clr/v2p0';
const VC2 = 'https://www.w3.org/ns/credentials/v2';
const MULTIKEY_V1 = 'https://w3id.org/security/multikey/v1';
const MAX_INPUT = 16 << 20;

// ---- small encodings ---------------------------------------------------------------------

const B58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';

export function base58Decode(s) {
  let zeros = 0;
  while(zeros < s.length && s[zeros] === '1') {
    zeros++;
  }
  const le = []; // the value's bytes, least significant first
  for(const ch of s) {
    let carry = B58.indexOf(ch);
    if(carry < 0) {
      throw new Error('not base58btc');
    }
    for(let i = 0; i < le.length; i++) {
      carry += le[i] * 58;
      le[i] = carry & 0xff;
      carry >>= 8;
    }
    while(carry > 0) {
      le.push(carry & 0xff);
      carry >>= 8;
    }
  }
  const out = new Uint8Array(zeros + le.length);
  for(let i = 0; i < le.length; i++) {
    out[zeros + i] = le[le.length - 1 - i];
  }
  return out;
}

export function base64urlDecode(s) {
  if(!/^[A-Za-z0-9_-]*$/.test(s)) {
    throw new Error('not base64url');
  }
  const b64 = s.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((s.length + 3) % 4);
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for(let i = 0; i < bin.length; i++) {
    out[i] = bin.charCodeAt(i);
  }
  return out;
}

const utf8 = new TextDecoder('utf-8', {fatal: true});
const enc = new TextEncoder();

export function hex(bytes) {
  return Array.from(bytes, b => b.toString(16).padStart(2, '0')).join('');
}

async function sha256(bytes) {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
}

// RFC 8785 JSON Canonicalization: keys sorted by UTF-16 code units (JavaScript's own string
// order), strings and numbers as ECMAScript serializes them.
export function jcs(v) {
  if(v === null || typeof v !== 'object') {
    if(typeof v === 'number' && !Number.isFinite(v)) {
      throw new Error('JCS: a number that is not finite');
    }
    return JSON.stringify(v);
  }
  if(Array.isArray(v)) {
    return '[' + v.map(jcs).join(',') + ']';
  }
  return '{' + Object.keys(v).sort().map(k => JSON.stringify(k) + ':' + jcs(v[k])).join(',') +
    '}';
}

// ---- baked images (Open Badges 3.0 section 5.3; CLR 2.0 the same with clrcredential) -------

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for(let n = 0; n < 256; n++) {
    let c = n;
    for(let k = 0; k < 8; k++) {
      c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    }
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(bytes, start, end) {
  let c = 0xffffffff;
  for(let i = start; i < end; i++) {
    c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  }
  return (c ^ 0xffffffff) >>> 0;
}

const PNG_SIG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const KEYWORDS = {openbadgecredential: 'ob', clrcredential: 'clr'};

export function isPng(bytes) {
  return bytes.length >= 8 && PNG_SIG.every((b, i) => bytes[i] === b);
}

// Walks every chunk (CRC checked) to IEND; returns {text, kind} of the one credential chunk.
export function unbakePng(bytes) {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let off = 8;
  let found = null;
  for(let idx = 0; ; idx++) {
    if(bytes.length - off < 12) {
      throw new Error(`PNG truncated at byte ${off} (no IEND)`);
    }
    const len = dv.getUint32(off);
    const type = String.fromCharCode(...bytes.subarray(off + 4, off + 8));
    if(!/^[A-Za-z]{4}$/.test(type)) {
      throw new Error(`PNG chunk ${idx} at byte ${off} has an invalid type`);
    }
    if(len > bytes.length - off - 12) {
      throw new Error(`PNG chunk ${idx} (${type}) is longer than the file`);
    }
    if(crc32(bytes, off + 4, off + 8 + len) !== dv.getUint32(off + 8 + len)) {
      throw new Error(`PNG chunk ${idx} (${type}) at byte ${off}: CRC mismatch (the file ` +
        'is damaged or was altered)');
    }
    if(idx === 0 && type !== 'IHDR') {
      throw new Error('PNG: the first chunk is not IHDR');
    }
    const data = bytes.subarray(off + 8, off + 8 + len);
    off += 12 + len;
    if(type === 'iTXt') {
      const z = data.indexOf(0);
      const keyword = z > 0 ? String.fromCharCode(...data.subarray(0, z)) : '';
      if(KEYWORDS[keyword]) {
        if(found) {
          throw new Error('PNG: more than one baked credential');
        }
        if(data[z + 1] !== 0) {
          throw new Error(`PNG: iTXt ${keyword} is compressed (the specification forbids it)`);
        }
        let p = z + 3;
        for(let f = 0; f < 2; f++) {
          const e = data.indexOf(0, p);
          if(e < 0) {
            throw new Error(`PNG: iTXt ${keyword} is truncated`);
          }
          p = e + 1;
        }
        found = {text: utf8.decode(data.subarray(p)), kind: KEYWORDS[keyword]};
      }
    }
    if(type === 'IEND') {
      if(off !== bytes.length) {
        throw new Error(`PNG: ${bytes.length - off} bytes after IEND`);
      }
      if(!found) {
        throw new Error('the PNG holds no baked credential (no iTXt openbadgecredential)');
      }
      return found;
    }
  }
}

export function looksLikeSvg(text) {
  return /^\s*(<\?xml[^>]*\?>\s*)?(<!--[\s\S]*?-->\s*|<!DOCTYPE[^>]*>\s*)*<svg[\s>]/.test(
    text.replace(/^\ufeff/, ''));
}

export function unbakeSvg(text) {
  const doc = new DOMParser().parseFromString(text, 'image/svg+xml');
  if(doc.getElementsByTagName('parsererror').length > 0) {
    throw new Error('the SVG is not well-formed XML');
  }
  for(const [ns, kind] of [[OB_NS, 'ob'], [CLR_NS, 'clr']]) {
    const els = doc.getElementsByTagNameNS(ns, 'credential');
    if(els.length === 0) {
      continue;
    }
    const el = els[0];
    const verify = el.getAttribute('verify');
    const body = el.textContent.trim();
    if(verify !== null && body !== '') {
      throw new Error('SVG: the credential element has both a verify attribute and content');
    }
    const t = (verify !== null ? verify : body).trim();
    if(t === '') {
      throw new Error('SVG: the credential element is empty');
    }
    return {text: t, kind};
  }
  if(doc.getElementsByTagNameNS('http://openbadges.org', 'assertion').length > 0 ||
     /openbadges:credential/.test(text)) {
    throw new Error('SVG: the openbadges element is not in the Open Badges 3.0 namespace ' +
      OB_NS);
  }
  throw new Error('the SVG holds no baked credential (no openbadges:credential element)');
}

// ---- keys and DIDs ----------------------------------------------------------------------

async function ed25519Key(raw) {
  return crypto.subtle.importKey('raw', raw, {name: 'Ed25519'}, false, ['verify']);
}

function multikeyEd25519(mb) {
  if(typeof mb !== 'string' || mb[0] !== 'z') {
    throw new Error('not a base58btc multikey');
  }
  const b = base58Decode(mb.slice(1));
  if(b.length !== 34 || b[0] !== 0xed || b[1] !== 0x01) {
    throw new Error('not an Ed25519 public key (multicodec 0xed01, 32 bytes)');
  }
  return b.subarray(2);
}

// Resolves the key vm names and checks the issuer controls it for assertionMethod. did:key is
// the key itself; did:web needs its DID document, given by the person (never fetched).
// Returns {kind: 'ed25519'|'rsa', key, how}.
export async function resolveKey(issuer, vm, didDocs, alg) {
  if(typeof issuer !== 'string' || !issuer.startsWith('did:')) {
    throw new Error(`the issuer ${issuer} is not a DID, so no key can be bound to it`);
  }
  if(typeof vm !== 'string') {
    throw new Error('no verification method');
  }
  const [vmDid, fragment] = vm.split('#');
  if(vmDid !== issuer) {
    throw new Error(`the signing key ${vm} does not belong to the issuer ${issuer}`);
  }
  if(issuer.startsWith('did:key:')) {
    const mb = issuer.slice(8);
    if(fragment !== mb) {
      throw new Error(`the did:key fragment must repeat the key (${vm})`);
    }
    if(alg && alg !== 'EdDSA') {
      throw new Error(`a did:key Ed25519 key cannot verify ${alg}`);
    }
    return {kind: 'ed25519', key: await ed25519Key(multikeyEd25519(mb)), how: 'did:key'};
  }
  if(issuer.startsWith('did:web:')) {
    const doc = didDocs.find(d => d && d.id === issuer);
    if(!doc) {
      throw new Error(`the issuer is ${issuer}: add its DID document (did.json) to check the ` +
        'key');
    }
    const abs = id => (typeof id === 'string' && id.startsWith('#') ? issuer + id : id);
    const m = (doc.verificationMethod || []).find(x => abs(x.id) === vm);
    if(!m) {
      throw new Error(`the key ${vm} is not in the issuer's DID document`);
    }
    if(m.controller !== issuer) {
      throw new Error(`the key ${vm} is controlled by ${m.controller}, not the issuer`);
    }
    const listed = (doc.assertionMethod || []).some(
      a => abs(typeof a === 'string' ? a : a && a.id) === vm);
    if(!listed) {
      throw new Error(`the key ${vm} is not listed under assertionMethod`);
    }
    if(m.publicKeyMultibase) {
      return {kind: 'ed25519', key: await ed25519Key(multikeyEd25519(m.publicKeyMultibase)),
        how: 'the DID document'};
    }
    const jwk = m.publicKeyJwk;
    if(jwk && jwk.kty === 'OKP' && jwk.crv === 'Ed25519') {
      return {kind: 'ed25519', how: 'the DID document', key: await crypto.subtle.importKey(
        'jwk', {kty: 'OKP', crv: 'Ed25519', x: jwk.x}, {name: 'Ed25519'}, false, ['verify'])};
    }
    if(jwk && jwk.kty === 'RSA') {
      return {kind: 'rsa', how: 'the DID document', key: await crypto.subtle.importKey(
        'jwk', {kty: 'RSA', n: jwk.n, e: jwk.e}, {name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256'},
        false, ['verify'])};
    }
    throw new Error(`the key ${vm} has no public key this page can use`);
  }
  throw new Error(`unknown DID method "${issuer.split(':')[1]}"`);
}

// ---- Data Integrity -------------------------------------------------------------------

function documentLoader(url) {
  const doc = CONTEXTS.get(url);
  if(doc === undefined) {
    // never fetched: an unknown context means the terms cannot be trusted
    return Promise.reject(new Error(`unknown JSON-LD context ${url} (this page loads nothing ` +
      'from the network)'));
  }
  return Promise.resolve({contextUrl: null, documentUrl: url, document: structuredClone(doc)});
}

async function rdfc(doc) {
  return jsonld.canonize(doc, {algorithm: 'RDFC-1.0', format: 'application/n-quads',
    documentLoader, safe: true});
}

function contextPrefix(full, prefix) {
  const a = Array.isArray(full) ? full : [full];
  const b = Array.isArray(prefix) ? prefix : [prefix];
  return b.length <= a.length && b.every((x, i) => jcs(x) === jcs(a[i]));
}

// Verifies one DataIntegrityProof (eddsa-rdfc-2022 or eddsa-jcs-2022) over doc with key.
export async function verifyDataIntegrity(doc, proof, key) {
  const value = proof.proofValue;
  if(typeof value !== 'string' || value[0] !== 'z') {
    throw new Error('proofValue must be "z" + base58btc');
  }
  const sig = base58Decode(value.slice(1));
  if(sig.length !== 64) {
    throw new Error('proofValue is not a 64-byte Ed25519 signature');
  }
  const options = {...proof};
  delete options.proofValue;
  const unsecured = {...doc};
  delete unsecured.proof;
  if(options['@context'] !== undefined) {
    if(!contextPrefix(unsecured['@context'], options['@context'])) {
      throw new Error('the document\'s @context does not begin with the proof\'s @context');
    }
    unsecured['@context'] = options['@context'];
  }
  if(unsecured['@context'] !== undefined) {
    options['@context'] = unsecured['@context'];
  }
  let a;
  let b;
  if(proof.cryptosuite === 'eddsa-rdfc-2022') {
    a = await rdfc(options);
    b = await rdfc(unsecured);
  } else {
    a = jcs(options);
    b = jcs(unsecured);
  }
  const hash = new Uint8Array(64);
  hash.set(await sha256(enc.encode(a)), 0);
  hash.set(await sha256(enc.encode(b)), 32);
  return crypto.subtle.verify({name: 'Ed25519'}, key, sig, hash);
}

// ---- the checks -------------------------------------------------------------------------

class Report {
  constructor() {
    this.results = [];
    this.reasons = [];
    this.warnings = [];
  }
  check(name, result, detail) {
    const old = this.results.find(r => r.check === name);
    if(old) {
      if(old.result !== 'ok' && result === 'ok') {
        return;
      }
      old.result = result;
      if(detail !== undefined) {
        old.detail = detail;
      }
      return;
    }
    this.results.push({check: name, result, detail: detail === undefined ? null : detail});
  }
  fail(name, reason, result = 'failed') {
    this.reasons.push(reason);
    this.check(name, result, reason);
  }
  warn(w) {
    this.warnings.push(w);
  }
  get(name) {
    const r = this.results.find(x => x.check === name);
    return r ? r.result : undefined;
  }
}

const has = (v, want) => (Array.isArray(v) ? v.includes(want) : v === want);
const issuerId = d => (typeof d.issuer === 'string' ? d.issuer : d.issuer && d.issuer.id);

function parseTime(s) {
  if(typeof s !== 'string' ||
     !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/i.test(s)) {
    return NaN;
  }
  return Date.parse(s);
}

function checkStructure(r, doc, clr) {
  const ctx = doc['@context'];
  let ok = true;
  if(!Array.isArray(ctx) || ctx[0] !== VC2) {
    r.fail('structure', `@context must be an array starting with ${VC2}`);
    ok = false;
  }
  if(!has(doc.type, 'VerifiableCredential')) {
    r.fail('structure', 'type does not include VerifiableCredential');
    ok = false;
  }
  if(!issuerId(doc)) {
    r.fail('structure', 'the credential names no issuer');
    ok = false;
  }
  if(typeof doc.credentialSubject !== 'object' || doc.credentialSubject === null) {
    r.fail('structure', 'the credential has no credentialSubject');
    ok = false;
  }
  if(ok) {
    r.check('structure', 'ok', 'a W3C Verifiable Credential 2.0');
  }
  const subj = doc.credentialSubject || {};
  if(clr) {
    if(!has(doc.type, 'ClrCredential') || !has(subj.type, 'ClrSubject')) {
      r.fail('ob3_shape', 'a CLR must be a ClrCredential with a ClrSubject');
    } else {
      r.check('ob3_shape', 'ok', 'a CLR 2.0 ClrCredential');
    }
    return;
  }
  let shape = true;
  if(!/^https:\/\/purl\.imsglobal\.org\/spec\/ob\/v3p0\/context(-3\.\d\.\d)?\.json$/.test(
    Array.isArray(ctx) ? ctx[1] : '')) {
    r.fail('ob3_shape', 'the second @context must be the Open Badges 3.0 context');
    shape = false;
  }
  if(!has(doc.type, 'OpenBadgeCredential') && !has(doc.type, 'AchievementCredential')) {
    r.fail('ob3_shape', 'the type is neither OpenBadgeCredential nor AchievementCredential');
    shape = false;
  }
  if(!has(subj.type, 'AchievementSubject') || !subj.achievement ||
     !has(subj.achievement.type, 'Achievement')) {
    r.fail('ob3_shape', 'the subject must be an AchievementSubject holding an Achievement');
    shape = false;
  }
  if(shape) {
    r.check('ob3_shape', 'ok', 'an Open Badges 3.0 credential');
  }
}

function checkTimes(r, doc, now, what, record) {
  for(const [field, name] of [['validFrom', 'valid_from'], ['validUntil', 'valid_until']]) {
    const s = doc[field];
    if(s === undefined) {
      if(record) {
        r.check(name, 'absent', field === 'validUntil' ? 'does not expire' : 'no start date');
      }
      continue;
    }
    const t = parseTime(s);
    if(Number.isNaN(t)) {
      r.fail(record ? name : 'status', `${what}: ${field} is not a date-time`);
    } else if(field === 'validFrom' && t > now) {
      r.fail(record ? name : 'status', `${what} is not valid yet (valid from ${s})`);
    } else if(field === 'validUntil' && t <= now) {
      r.fail(record ? name : 'status_fresh', `${what} expired on ${s}`);
    } else if(record) {
      r.check(name, 'ok', field === 'validFrom' ? `valid since ${s}` : `valid until ${s}`);
    }
  }
}

// Verifies every proof of doc as issued by issuer; records under "proof" when record.
async function checkProofs(r, doc, issuer, didDocs, what, record) {
  let proofs = doc.proof;
  if(proofs && !Array.isArray(proofs)) {
    proofs = [proofs];
  }
  const name = record ? 'proof' : 'status';
  if(!Array.isArray(proofs) || proofs.length === 0) {
    r.fail(name, `${what} has no proof (it is not signed)`);
    return false;
  }
  const suites = [];
  let ok = true;
  for(const p of proofs) {
    if(!p || p.type !== 'DataIntegrityProof' ||
       !['eddsa-rdfc-2022', 'eddsa-jcs-2022'].includes(p.cryptosuite)) {
      r.fail(name, `${what}: proof type ${p && p.type} / ${p && p.cryptosuite} is not ` +
        'supported (eddsa-rdfc-2022 or eddsa-jcs-2022)');
      ok = false;
      continue;
    }
    if(p.proofPurpose !== 'assertionMethod') {
      r.fail(record ? 'proof_purpose' : name, `${what}: the proof's purpose is ` +
        `${p.proofPurpose}, not assertionMethod`);
      ok = false;
      continue;
    }
    if(record) {
      r.check('proof_purpose', 'ok', 'assertionMethod');
    }
    let k;
    try {
      k = await resolveKey(issuer, p.verificationMethod, didDocs);
    } catch(e) {
      r.fail(record ? 'issuer_key' : name, `${what}: ${e.message}`);
      ok = false;
      continue;
    }
    if(record) {
      r.check('issuer_key', 'ok', `the signing key belongs to the issuer (${k.how})`);
    }
    let good = false;
    try {
      good = await verifyDataIntegrity(doc, p, k.key);
    } catch(e) {
      r.fail(name, `${what}: ${e.message}`);
      ok = false;
      continue;
    }
    if(!good) {
      r.fail(name, `${what}: the ${p.cryptosuite} signature does not verify (the document ` +
        'was changed after signing, or signed by another key)');
      ok = false;
      continue;
    }
    suites.push(p.cryptosuite);
  }
  if(ok && record) {
    r.check('proof', 'ok', `${suites.join(' and ')} signature verifies`);
  }
  return ok;
}

async function decodeList(encoded) {
  if(typeof encoded !== 'string' || encoded[0] !== 'u') {
    throw new Error('encodedList must be multibase base64url ("u...")');
  }
  const gz = base64urlDecode(encoded.slice(1));
  const stream = new Blob([gz]).stream().pipeThrough(new DecompressionStream('gzip'));
  const bits = new Uint8Array(await new Response(stream).arrayBuffer());
  if(bits.length > (16 << 20)) {
    throw new Error('the status list is too large');
  }
  return bits;
}

async function checkStatus(r, doc, issuer, lists, didDocs, now, opts) {
  let entries = doc.credentialStatus;
  if(entries === undefined) {
    r.check('revocation', 'absent', 'the credential has no status entry');
    return;
  }
  if(!Array.isArray(entries)) {
    entries = [entries];
  }
  for(const e of entries) {
    if(!e || e.type !== 'BitstringStatusListEntry') {
      r.warn(`a status entry of type ${e && e.type} is not checked`);
      continue;
    }
    const purpose = e.statusPurpose;
    if(purpose !== 'revocation' && purpose !== 'suspension') {
      r.warn(`status purpose ${purpose} is not checked`);
      continue;
    }
    const idx = Number(e.statusListIndex);
    if(!/^\d+$/.test(String(e.statusListIndex)) || idx >= (1 << 27)) {
      r.fail(purpose, `the status index "${e.statusListIndex}" is not valid`);
      continue;
    }
    const list = lists.find(l => l && l.id === e.statusListCredential);
    if(!list) {
      r.warn(`${purpose} not checked: add the status list ${e.statusListCredential}`);
      r.check(purpose, 'unchecked', `no status list given for ${e.statusListCredential}`);
      continue;
    }
    const what = `the ${purpose} status list`;
    const subj = list.credentialSubject || {};
    let ok = true;
    if(!has(list.type, 'BitstringStatusListCredential')) {
      r.fail(purpose, `${what} is not a BitstringStatusListCredential`);
      ok = false;
    }
    if(issuerId(list) !== issuer) {
      r.fail(purpose, `${what} is issued by ${issuerId(list)}, not by the badge's issuer`);
      ok = false;
    }
    if(subj.statusPurpose !== purpose) {
      r.fail(purpose, `${what} has the purpose ${subj.statusPurpose}`);
      ok = false;
    }
    checkTimes(r, list, now, what, false);
    const from = parseTime(list.validFrom);
    if(opts.maxStatusAgeMs > 0 && !Number.isNaN(from) && now - from > opts.maxStatusAgeMs) {
      r.fail('status_fresh', `${what} is stale (signed ${list.validFrom}); fetch a fresh copy`);
      ok = false;
    } else if(r.get('status_fresh') === undefined && !Number.isNaN(from)) {
      r.check('status_fresh', 'ok', `${what} was signed ${list.validFrom}`);
    }
    if(!(await checkProofs(r, list, issuer, didDocs, what, false))) {
      ok = false;
    }
    if(!ok) {
      r.check(purpose, 'failed');
      continue;
    }
    let bits;
    try {
      bits = await decodeList(subj.encodedList);
    } catch(err) {
      r.fail(purpose, `${what}: ${err.message}`);
      continue;
    }
    if(idx >= bits.length * 8) {
      r.fail(purpose, `${what} has no index ${idx}`);
      continue;
    }
    const set = (bits[idx >> 3] >> (7 - (idx & 7))) & 1;
    if(set) {
      r.fail(purpose, `the issuer has ${purpose === 'revocation' ? 'revoked' : 'suspended'} ` +
        'this credential', purpose === 'revocation' ? 'revoked' : 'suspended');
    } else {
      r.check(purpose, 'ok', `not ${purpose === 'revocation' ? 'revoked' : 'suspended'} ` +
        `(index ${idx} of the list)`);
    }
  }
}

function checkTrust(r, issuer, opts) {
  if(!opts.trusted) {
    r.check('trust', 'unknown', 'you have not said which issuers you trust; check the ' +
      'issuer\'s name and DID on this page');
    return;
  }
  if(opts.trusted.includes(issuer)) {
    r.check('trust', 'ok', 'the issuer is on your trust list');
  } else {
    r.fail('trust', `unknown issuer: ${issuer} is not on your trust list`);
  }
}

// Does the presented id match the subject? (its DID, or sha256(id + salt) of a hashed
// identifier). Returns {result, detail}.
export async function matchRecipient(doc, presented) {
  let subj = doc.credentialSubject;
  if(Array.isArray(subj)) {
    subj = subj[0];
  }
  if(!subj) {
    return {result: 'failed', detail: 'the credential has no subject'};
  }
  if(subj.id !== undefined && subj.id === presented) {
    return {result: 'ok', detail: 'the presented id is the subject\'s id'};
  }
  for(const io of subj.identifier || []) {
    if(!io || typeof io.identityHash !== 'string') {
      continue;
    }
    if(io.hashed !== true) {
      if(io.identityHash === presented) {
        return {result: 'ok', detail: `the presented id is the subject's ${io.identityType}`};
      }
      continue;
    }
    const h = 'sha256$' + hex(await sha256(enc.encode(presented + (io.salt || ''))));
    if(h === io.identityHash.toLowerCase()) {
      return {result: 'ok', detail: 'sha256(presented id + salt) matches the subject\'s ' +
        `hashed ${io.identityType}`};
    }
  }
  return {result: 'failed', detail: 'the presented id is not the one this badge was issued to'};
}

function describe(doc) {
  const is = typeof doc.issuer === 'object' && doc.issuer ? doc.issuer : {};
  let subj = doc.credentialSubject;
  if(Array.isArray(subj)) {
    subj = subj[0];
  }
  subj = subj || {};
  const a = subj.achievement || {};
  const img = x => (typeof x === 'string' ? x : x && x.id);
  return {
    issuer: {id: issuerId(doc) || null, name: is.name || null, url: is.url || null,
      image: img(is.image) || null},
    credential: {id: doc.id || null, type: doc.type || null, name: doc.name || null,
      validFrom: doc.validFrom || null, validUntil: doc.validUntil || null},
    achievement: {name: a.name || null, description: a.description || null,
      criteria: (a.criteria && a.criteria.narrative) || null, image: img(a.image) || null,
      alignment: (a.alignment || []).map(x => ({name: x.targetName, url: x.targetUrl}))},
    subject: subj.id ? {id: subj.id} :
      {hashed: (subj.identifier || []).some(i => i && i.hashed === true)},
    evidence: (Array.isArray(doc.evidence) ? doc.evidence : doc.evidence ? [doc.evidence] : [])
      .map(e => ({id: e.id || null, name: e.name || null, narrative: e.narrative || null,
        description: e.description || null})),
  };
}

async function verifyJwt(r, token, didDocs, now) {
  const parts = token.split('.');
  if(parts.length !== 3) {
    throw new Error('a JWT has three parts separated by dots');
  }
  let header;
  let claims;
  try {
    header = JSON.parse(utf8.decode(base64urlDecode(parts[0])));
    claims = JSON.parse(utf8.decode(base64urlDecode(parts[1])));
  } catch(e) {
    r.fail('parse', `malformed JWT: ${e.message}`);
    return null;
  }
  r.check('parse', 'ok');
  if(header.alg !== 'EdDSA' && header.alg !== 'RS256') {
    r.fail('jwt_alg', `JWT algorithm ${header.alg} is refused (EdDSA or RS256 only)`);
    r.check('proof', 'failed');
    return null;
  }
  r.check('jwt_alg', 'ok', header.alg);
  const vc = claims.vc;
  if(typeof vc !== 'object' || vc === null) {
    r.fail('structure', 'the JWT holds no vc claim');
    return null;
  }
  const iss = claims.iss;
  const kid = typeof header.kid === 'string' && header.kid.startsWith('#') ?
    iss + header.kid : header.kid;
  let k;
  try {
    k = await resolveKey(iss, kid, didDocs, header.alg);
    r.check('issuer_key', 'ok', `the signing key belongs to the issuer (${k.how})`);
  } catch(e) {
    r.fail('issuer_key', e.message);
    r.check('proof', 'failed');
    return vc;
  }
  const data = enc.encode(parts[0] + '.' + parts[1]);
  const sig = base64urlDecode(parts[2]);
  const good = header.alg === 'EdDSA' ?
    k.kind === 'ed25519' && await crypto.subtle.verify({name: 'Ed25519'}, k.key, sig, data) :
    k.kind === 'rsa' && await crypto.subtle.verify({name: 'RSASSA-PKCS1-v1_5'}, k.key, sig,
      data);
  if(!good) {
    r.fail('proof', `the JWT's ${header.alg} signature does not verify (the token was ` +
      'changed, or signed by another key)');
  } else {
    r.check('proof', 'ok', `JWT ${header.alg} signature verifies`);
  }
  if(issuerId(vc) !== iss) {
    r.fail('structure', `the JWT's iss ${iss} is not the credential's issuer`);
  }
  if(claims.jti !== undefined && claims.jti !== vc.id) {
    r.fail('structure', 'the JWT\'s jti is not the credential\'s id');
  }
  if(typeof claims.nbf === 'number' && claims.nbf * 1000 > now) {
    r.fail('valid_from', 'the JWT is not valid yet (nbf)');
  }
  if(typeof claims.exp === 'number' && claims.exp * 1000 <= now) {
    r.fail('valid_until', 'the JWT has expired (exp)');
  }
  return vc;
}

// Reads what was dropped or pasted: bytes (Uint8Array) or text.
export function readInput(input) {
  let bytes = input;
  if(typeof input === 'string') {
    bytes = enc.encode(input);
  }
  if(bytes.length > MAX_INPUT) {
    throw new Error('the file is larger than 16 MiB');
  }
  if(isPng(bytes)) {
    return {...unbakePng(bytes), baked: 'png'};
  }
  const text = typeof input === 'string' ? input : utf8.decode(bytes);
  if(looksLikeSvg(text)) {
    return {...unbakeSvg(text), baked: 'svg'};
  }
  return {text: text.trim(), kind: null, baked: null};
}

function parseAll(texts, what, r) {
  const out = [];
  for(const [i, t] of (texts || []).entries()) {
    try {
      out.push(typeof t === 'string' ? JSON.parse(t) : t);
    } catch(e) {
      r.fail('status', `${what} ${i + 1} is not JSON: ${e.message}`);
    }
  }
  return out;
}

/*
 * Verifies one badge. input: Uint8Array or string. opts: {statusLists: [text|object],
 * didDocuments: [text|object], now: ms, trusted: [DID] or null, recipient: string or null,
 * maxStatusAgeMs}. Returns {verdict, valid, issuer, credential, achievement, subject, evidence,
 * results, reasons, warnings, nested} (nested: the CLR's credentials, each verified).
 */
export async function verifyBadge(input, opts = {}) {
  const r = new Report();
  const now = opts.now === undefined ? Date.now() : opts.now;
  const didDocs = parseAll(opts.didDocuments, 'DID document', r);
  const lists = parseAll(opts.statusLists, 'status list', r);
  let doc = null;
  let read;
  try {
    read = readInput(input);
    if(read.baked) {
      r.check('baked', read.baked, `the credential was baked in ${read.baked === 'png' ?
        'a PNG' : 'an SVG'} image`);
    }
  } catch(e) {
    r.fail(/PNG|SVG|baked/.test(e.message) ? 'baked' : 'format', e.message);
    return finish(r, null, []);
  }
  const text = read.text;
  if(text === '') {
    r.fail('format', 'nothing to check: the input is empty');
    return finish(r, null, []);
  }
  if(text[0] === '{') {
    r.check('format', 'json', 'a JSON credential with an embedded proof');
    try {
      doc = JSON.parse(text);
      r.check('parse', 'ok');
    } catch(e) {
      r.fail('parse', `malformed JSON: ${e.message}`);
      return finish(r, null, []);
    }
    if(typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
      r.fail('parse', 'the credential is not a JSON object');
      return finish(r, null, []);
    }
  } else if(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(text)) {
    r.check('format', 'jwt', 'a VC-JWT (compact JWS)');
    try {
      doc = await verifyJwt(r, text, didDocs, now);
    } catch(e) {
      r.fail('parse', e.message);
    }
    if(!doc) {
      return finish(r, null, []);
    }
  } else {
    r.fail('format', 'neither a JSON credential, a JWT, nor a baked PNG or SVG');
    return finish(r, null, []);
  }
  const clr = has(doc.type, 'ClrCredential');
  if(read.kind === 'clr' && !clr) {
    r.fail('baked', 'the image says CLR (clrcredential) but holds no ClrCredential');
  }
  checkStructure(r, doc, clr);
  const issuer = issuerId(doc);
  if(r.get('format') === 'json' && issuer) {
    await checkProofs(r, doc, issuer, didDocs, 'the credential', true);
  }
  if(issuer) {
    checkTrust(r, issuer, opts);
  }
  checkTimes(r, doc, now, 'the credential', true);
  if(issuer) {
    await checkStatus(r, doc, issuer, lists, didDocs, now, opts);
  }
  if(opts.recipient) {
    const m = await matchRecipient(doc, opts.recipient);
    if(m.result === 'ok') {
      r.check('recipient', 'ok', m.detail);
    } else {
      r.fail('recipient', m.detail);
    }
  }
  const nested = [];
  if(clr) {
    const vcs = (doc.credentialSubject || {}).verifiableCredential || [];
    for(const [i, c] of vcs.entries()) {
      const sub = await verifyBadge(JSON.stringify(c), {...opts, recipient: null});
      nested.push(sub);
      if(sub.verdict !== 'VALID') {
        r.fail('clr_credentials', `credential ${i + 1} of the CLR ` +
          `(${sub.achievement.name || sub.credential.id}) is ${sub.verdict}: ` +
          `${sub.reasons[0] || ''}`);
      }
    }
    if(vcs.length > 0 && nested.every(n => n.verdict === 'VALID')) {
      r.check('clr_credentials', 'ok', `all ${vcs.length} achievement credentials verify`);
    }
  }
  return finish(r, doc, nested);
}

function finish(r, doc, nested) {
  const d = doc ? describe(doc) : describe({});
  const valid = r.reasons.length === 0;
  const rev = r.get('revocation') === 'revoked';
  const sus = r.get('suspension') === 'suspended';
  const statusOnly = r.reasons.length === (rev ? 1 : 0) + (sus ? 1 : 0);
  const verdict = valid ? 'VALID' : statusOnly && rev ? 'REVOKED' :
    statusOnly && sus ? 'SUSPENDED' : 'INVALID';
  return {verdict, valid, ...d, results: r.results, reasons: r.reasons, warnings: r.warnings,
    nested, document: doc};
}

export const VERSION = 1;
export {MULTIKEY_V1};
