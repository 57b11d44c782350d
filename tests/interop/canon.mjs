// Prints the RDFC-1.0 canonical N-Quads of a JSON-LD document without its "proof" member, as
// jsonld.js + rdf-canonize compute them: what eddsa-rdfc-2022 hashes. The test compares them
// with make_badge canon (the C expander and canonicalizer), byte for byte.
//   node canon.mjs --vectors DIR FILE
import fs from 'node:fs';
import jsonld from 'jsonld';
import {makeLoader, parseArgs} from './loader.mjs';

const opts = parseArgs(process.argv.slice(2));
if(!opts.vectors || opts.positional.length !== 1) {
  console.error('usage: node canon.mjs --vectors DIR FILE');
  process.exit(2);
}
const doc = JSON.parse(fs.readFileSync(opts.positional[0], 'utf8'));
delete doc.proof;
const nquads = await jsonld.canonize(doc, {
  algorithm: 'RDFC-1.0', format: 'application/n-quads', safe: true,
  documentLoader: makeLoader({vectors: opts.vectors})
});
process.stdout.write(nquads);
