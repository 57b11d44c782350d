// Builds the self-contained verifier page: esbuild bundles src/main.js (the verifier, jsonld
// and rdf-canonize, the JSON-LD contexts) into one script, which goes inline into verify.html.
//   node build.mjs OUT_DIR
// Writes OUT_DIR/verify.html and OUT_DIR/verify.js (the bare bundle, for the badge page
// generator), and prints their sizes. Offline: everything comes from node_modules and the
// repository.
import fs from 'node:fs';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import * as esbuild from 'esbuild';

const here = path.dirname(fileURLToPath(import.meta.url));
const out = process.argv[2];
if(!out) {
  console.error('usage: node build.mjs OUT_DIR');
  process.exit(2);
}
fs.mkdirSync(out, {recursive: true});
const result = await esbuild.build({
  entryPoints: [path.join(here, 'src', 'main.js')],
  bundle: true, format: 'iife', platform: 'browser', target: ['chrome120', 'firefox128',
    'safari17'], minify: true, write: false, legalComments: 'none', charset: 'utf8',
  loader: {'.jsonld': 'json'},
  // the context packages compute a file URL for each context from import.meta.url (unused
  // here, but evaluated): give them a fixed one
  define: {'process.env.NODE_ENV': '"production"', 'import.meta.url': '"file:///bundled/"'},
  logLevel: 'warning',
});
// A script element ends at the first "</script": escape it wherever it appears in the bundle.
const js = result.outputFiles[0].text.replace(/<\/(script)/gi, '<\\/$1');
const version = JSON.parse(fs.readFileSync(path.join(here, 'package.json'), 'utf8')).name;
const html = fs.readFileSync(path.join(here, 'verify.html'), 'utf8')
  .replace('<!--TITLE-->', 'Check a badge')
  .replace('<!--VERSION-->', version)
  .replace('<!--SCRIPT-->', () => `<script>${js}</script>`);
fs.writeFileSync(path.join(out, 'verify.html'), html);
fs.writeFileSync(path.join(out, 'verify.js'), js);
console.log(`verify.html: ${Buffer.byteLength(html)} bytes (script ${Buffer.byteLength(js)} bytes)`);
