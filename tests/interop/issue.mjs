// Times the Node stack issuing the same badge masteryd issues: N credentials signed with
// @digitalbazaar/vc + eddsa-jcs-2022, N with eddsa-rdfc-2022 (jsonld + rdf-canonize), and N
// VC-JWTs signed with jose (EdDSA), on one core.
//   node issue.mjs --vectors DIR --badge FILE [--n N]
// FILE is a badge from make_badge (its proof is dropped and re-made). Prints one JSON line:
// {"n":N,"di_per_second":..,"jwt_per_second":..,"rdfc_per_second":..}.
import fs from 'node:fs';
import crypto from 'node:crypto';
import * as vc from '@digitalbazaar/vc';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import {createSignCryptosuite} from '@digitalbazaar/eddsa-jcs-2022-cryptosuite';
import {cryptosuite as rdfcCryptosuite} from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';
import * as jose from 'jose';
import {makeLoader, parseArgs} from './loader.mjs';

const opts = parseArgs(process.argv.slice(2));
if(!opts.vectors || !opts.badge) {
  console.error('usage: node issue.mjs --vectors DIR --badge FILE [--n N]');
  process.exit(2);
}
const n = Number(opts.n || 2000);
const template = JSON.parse(fs.readFileSync(opts.badge, 'utf8'));
delete template.proof;
const documentLoader = makeLoader({vectors: opts.vectors});

const keyPair = await Ed25519Multikey.generate({seed: new Uint8Array(32).fill(1)});
const did = `did:key:${keyPair.publicKeyMultibase}`;
keyPair.controller = did;
keyPair.id = `${did}#${keyPair.publicKeyMultibase}`;
template.issuer.id = did;
const suite = new DataIntegrityProof({
  signer: keyPair.signer(), cryptosuite: createSignCryptosuite()
});

async function issueOne() {
  const credential = structuredClone(template);
  credential.id = `urn:uuid:${crypto.randomUUID()}`;
  return vc.issue({credential, suite, documentLoader});
}

// The same with eddsa-rdfc-2022: jsonld toRdf + rdf-canonize (RDFC-1.0) + Ed25519.
const rdfcSuite = new DataIntegrityProof({signer: keyPair.signer(), cryptosuite: rdfcCryptosuite});
async function issueRdfc() {
  const credential = structuredClone(template);
  credential.id = `urn:uuid:${crypto.randomUUID()}`;
  return vc.issue({credential, suite: rdfcSuite, documentLoader});
}

const jwk = await Ed25519Multikey.toJwk({keyPair});
jwk.d = Buffer.from(new Uint8Array(32).fill(1)).toString('base64url'); // the 32-byte seed
const privateKey = await jose.importJWK(jwk, 'EdDSA');
async function jwtOne() {
  const credential = structuredClone(template);
  credential.id = `urn:uuid:${crypto.randomUUID()}`;
  return new jose.SignJWT({vc: credential})
    .setProtectedHeader({alg: 'EdDSA', kid: keyPair.id, typ: 'JWT'})
    .setIssuer(did).setJti(credential.id)
    .setNotBefore(Math.floor(Date.parse(credential.validFrom) / 1000))
    .sign(privateKey);
}

async function rate(fn) {
  for(let i = 0; i < 50; i++) {
    await fn(); // warm up
  }
  const t0 = process.hrtime.bigint();
  for(let i = 0; i < n; i++) {
    await fn();
  }
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  return n / s;
}

const signed = await issueOne();
if(!signed.proof) {
  throw new Error('vc.issue made no proof');
}
const di = await rate(issueOne);
const jwt = await rate(jwtOne);
const rdfc = await rate(issueRdfc);
console.log(JSON.stringify({n, di_per_second: Math.round(di), jwt_per_second: Math.round(jwt),
                            rdfc_per_second: Math.round(rdfc)}));
