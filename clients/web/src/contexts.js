// The JSON-LD contexts the page knows, embedded at build time (esbuild inlines them): the W3C
// and Digital Bazaar context packages, and the Open Badges 3.0.3 context and extensions and the
// CLR 2.0.1 context as published (tests/vectors/contexts, copied unchanged there with provenance). A context that is
// not here is refused, never fetched.
import {contexts as credentials} from '@digitalbazaar/credentials-context';
import {contexts as bitstring} from '@digitalbazaar/vc-bitstring-status-list-context';
import dataIntegrity from '@digitalbazaar/data-integrity-context';
import multikey from '@digitalbazaar/multikey-context';
import ob303 from '../../../tests/vectors/contexts/ob-context-3.0.3.json';
import obExtensions from '../../../tests/vectors/contexts/ob-extensions.json';
import clr201 from '../../../tests/vectors/contexts/clr-context-2.0.1.json';

export const CONTEXTS = new Map();
for(const m of [credentials, bitstring, dataIntegrity.contexts, multikey.contexts]) {
  for(const [url, doc] of m) {
    CONTEXTS.set(url, doc);
  }
}
CONTEXTS.set('https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json', ob303);
CONTEXTS.set('https://purl.imsglobal.org/spec/ob/v3p0/extensions.json', obExtensions);
CONTEXTS.set('https://purl.imsglobal.org/spec/clr/v2p0/context-2.0.1.json', clr201);
