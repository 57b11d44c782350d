// Verifies one badge file with an independent stack: a JSON credential through
// @digitalbazaar/vc with the eddsa-rdfc-2022 and eddsa-jcs-2022 cryptosuites (whichever its
// proofs use; every proof of a proof set must verify), a VC-JWT through jose with the
// issuer's public key (did:key derived; did:web from --did-document).
//   node verify.mjs --vectors DIR [--did-document FILE] [--now TIME] [--learner ID] BADGE
// BADGE may also be a masteryd erasure receipt (a VC 2.0 ErasureReceipt, eddsa-jcs-2022): its
// proof is checked the same way, and with --learner ID that SHA-256(commitmentSalt bytes ||
// ID) is its learnerCommitment, computed here with node:crypto (not masteryd's code).
// Prints {"verified": bool, "error": "..."}; exit 0 verified, 1 not, 2 usage.
import crypto from 'node:crypto';
import fs from 'node:fs';
import * as vc from '@digitalbazaar/vc';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import {createVerifyCryptosuite} from '@digitalbazaar/eddsa-jcs-2022-cryptosuite';
import {cryptosuite as rdfcCryptosuite} from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';
import * as jose from 'jose';
import {makeLoader, parseArgs} from './loader.mjs';

const opts = parseArgs(process.argv.slice(2));
if(!opts.vectors || opts.positional.length !== 1) {
  console.error('usage: node verify.mjs --vectors DIR [--did-document FILE] BADGE');
  process.exit(2);
}
const didDocument = opts['did-document'] ?
  JSON.parse(fs.readFileSync(opts['did-document'], 'utf8')) : null;
const documentLoader = makeLoader({vectors: opts.vectors, didDocument});
const text = fs.readFileSync(opts.positional[0], 'utf8').trim();

function done(verified, error) {
  console.log(JSON.stringify({verified, error: error ? String(error.message || error) : null}));
  process.exit(verified ? 0 : 1);
}

async function jwkFor(kid, iss) {
  const {document: vm} = await documentLoader(kid);
  if(vm.controller !== iss) {
    throw new Error(`${kid} is not controlled by ${iss}`);
  }
  if(vm.publicKeyJwk) {
    return vm.publicKeyJwk;
  }
  const key = await Ed25519Multikey.from(vm);
  return Ed25519Multikey.toJwk({keyPair: key});
}

async function verifyJwt(token) {
  const header = jose.decodeProtectedHeader(token);
  const claims = jose.decodeJwt(token); // unverified: only to learn the issuer
  if(!['EdDSA', 'RS256'].includes(header.alg)) {
    throw new Error(`alg ${header.alg} refused`);
  }
  const jwk = await jwkFor(header.kid, claims.iss);
  const key = await jose.importJWK(jwk, header.alg);
  const {payload} = await jose.jwtVerify(token, key, {
    algorithms: [header.alg], issuer: claims.iss,
    currentDate: opts.now ? new Date(opts.now) : undefined
  });
  if(payload.vc?.id !== payload.jti || payload.vc?.issuer?.id !== payload.iss) {
    throw new Error('jti/iss do not match the vc');
  }
  return true;
}

try {
  if(text.startsWith('{')) {
    const credential = JSON.parse(text);
    const proofs = Array.isArray(credential.proof) ? credential.proof : [credential.proof];
    const suite = [
      new DataIntegrityProof({cryptosuite: createVerifyCryptosuite()}),
      new DataIntegrityProof({cryptosuite: rdfcCryptosuite})
    ];
    const result = await vc.verifyCredential({
      credential, suite, documentLoader,
      now: opts.now ? new Date(opts.now) : undefined,
      // status is mastery-verify's job here; the peer checks proof, purpose and shape
      checkStatus: async () => ({verified: true})
    });
    // vc accepts a credential when one proof verifies: an auditor wants every proof of the
    // set checked, so count them.
    const checked = (result.results || []).filter(r => r.verified).length;
    if(result.verified && checked !== proofs.length) {
      done(false, `${checked} of ${proofs.length} proofs verified`);
    }
    if(!result.verified) {
      const errs = [result.error, ...(result.results || []).map(r => r.error)]
        .filter(Boolean).map(e => e.errors ? e.errors.map(x => x.message).join('; ') :
          e.message);
      done(false, errs.join(' | ') || 'not verified');
    }
    const types = [].concat(credential.type || []);
    if(types.includes('ErasureReceipt')) {
      const subject = credential.credentialSubject || {};
      if(subject.type !== 'LearnerErasure' || !/^[0-9a-f]{64}$/.test(subject.commitmentSalt) ||
        !/^[0-9a-f]{64}$/.test(subject.learnerCommitment)) {
        done(false, 'not a LearnerErasure receipt (type, commitmentSalt, learnerCommitment)');
      }
      if(opts.learner !== undefined) {
        const mine = crypto.createHash('sha256')
          .update(Buffer.from(subject.commitmentSalt, 'hex'))
          .update(Buffer.from(opts.learner, 'utf8')).digest('hex');
        if(mine !== subject.learnerCommitment) {
          done(false, 'the receipt\'s learnerCommitment is not the given learner\'s');
        }
      }
    } else if(opts.learner !== undefined) {
      done(false, '--learner applies to an ErasureReceipt only');
    }
    done(true);
  } else {
    await verifyJwt(text);
    done(true);
  }
} catch(e) {
  done(false, e);
}
