// The offline document loader shared by verify.mjs and issue.mjs: JSON-LD contexts come from
// the npm context packages and, for Open Badges 3.0.3, its extensions and CLR 2.0.1 (which
// have no package), from the published copies in tests/vectors/contexts; DIDs resolve locally (did:key from the key
// itself, did:web only from a DID document file given on the command line). Anything else is
// refused: the test never touches the network.
import fs from 'node:fs';
import path from 'node:path';
import {createRequire} from 'node:module';
import {contexts as credentialsContexts} from '@digitalbazaar/credentials-context';
import {contexts as bitstringContexts} from '@digitalbazaar/vc-bitstring-status-list-context';

const require = createRequire(import.meta.url);
const dataIntegrityContext = require('@digitalbazaar/data-integrity-context');
const multikeyContext = require('@digitalbazaar/multikey-context');

export const DID_V1 = 'https://www.w3.org/ns/did/v1';
export const MULTIKEY_V1 = 'https://w3id.org/security/multikey/v1';
const OB_303 = 'https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json';
const OB_EXTENSIONS = 'https://purl.imsglobal.org/spec/ob/v3p0/extensions.json';
const CLR_201 = 'https://purl.imsglobal.org/spec/clr/v2p0/context-2.0.1.json';

export function makeLoader({vectors, didDocument = null}) {
  const contexts = new Map();
  for(const m of [credentialsContexts, bitstringContexts, dataIntegrityContext.contexts,
    multikeyContext.contexts]) {
    for(const [url, doc] of m) {
      contexts.set(url, doc);
    }
  }
  for(const [url, file] of [[OB_303, 'ob-context-3.0.3.json'],
    [OB_EXTENSIONS, 'ob-extensions.json'], [CLR_201, 'clr-context-2.0.1.json']]) {
    contexts.set(url, JSON.parse(fs.readFileSync(path.join(vectors, 'contexts', file), 'utf8')));
  }

  return async function documentLoader(url) {
    if(contexts.has(url)) {
      return {contextUrl: null, documentUrl: url, document: structuredClone(contexts.get(url))};
    }
    const [did, fragment] = url.split('#');
    if(did.startsWith('did:key:z6Mk')) {
      const mb = did.slice('did:key:'.length);
      const vm = {id: `${did}#${mb}`, type: 'Multikey', controller: did, publicKeyMultibase: mb};
      if(fragment !== undefined) {
        if(fragment !== mb) {
          throw new Error(`did:key fragment ${fragment} does not repeat the key`);
        }
        return {contextUrl: null, documentUrl: url, document: {'@context': MULTIKEY_V1, ...vm}};
      }
      return {contextUrl: null, documentUrl: url, document: {
        '@context': [DID_V1, MULTIKEY_V1], id: did, verificationMethod: [vm],
        assertionMethod: [vm.id]
      }};
    }
    if(didDocument && did === didDocument.id) {
      if(fragment === undefined) {
        return {contextUrl: null, documentUrl: url, document: didDocument};
      }
      const vm = (didDocument.verificationMethod || []).find(
        m => m.id === url || m.id === `#${fragment}`);
      if(!vm) {
        throw new Error(`${url} is not in the DID document`);
      }
      return {contextUrl: null, documentUrl: url,
        document: {'@context': MULTIKEY_V1, ...vm, id: url}};
    }
    throw new Error(`offline document loader: refusing to load ${url}`);
  };
}

export function parseArgs(argv) {
  const opts = {positional: []};
  for(let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if(a.startsWith('--')) {
      opts[a.slice(2)] = argv[++i];
    } else {
      opts.positional.push(a);
    }
  }
  return opts;
}
