// Bundles the two pages into dist/: scripts and styles minified under content-hashed
// names (served as immutable), each page's HTML pointing at its own, and a gzip and a
// brotli copy of every text file so that courierd never compresses on the fly.
import { build } from 'esbuild';
import { readFile, writeFile, rm, mkdir, readdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { brotliCompressSync, gzipSync, constants } from 'node:zlib';

const pages = ['console', 'citizen'];
const dist = 'dist';
const assets = join(dist, 'assets');

await rm(dist, { recursive: true, force: true });
await mkdir(assets, { recursive: true });
// The embed directive needs the folder to hold a file even before the first build.
await writeFile(join(dist, '.gitkeep'), '');

const result = await build({
  entryPoints: pages.map((p) => `src/${p}.js`),
  bundle: true,
  minify: true,
  sourcemap: false,
  format: 'iife',
  target: ['es2020', 'chrome90', 'safari15', 'firefox90'],
  outdir: assets,
  entryNames: '[name]-[hash]',
  assetNames: '[name]-[hash]',
  loader: { '.png': 'file', '.svg': 'file' },
  metafile: true,
  legalComments: 'linked',
  logLevel: 'warning',
});

// Each entry point's outputs, by extension: the page's <script> and <link>.
const outputs = {};
for (const [file, meta] of Object.entries(result.metafile.outputs)) {
  if (!meta.entryPoint && !meta.cssBundle) continue;
  const page = basename(meta.entryPoint ?? '', '.js');
  outputs[page] = outputs[page] ?? {};
  outputs[page].js = '/assets/' + basename(file);
  if (meta.cssBundle) outputs[page].css = '/assets/' + basename(meta.cssBundle);
}
for (const page of pages) {
  const out = outputs[page];
  if (!out?.js || !out?.css) throw new Error(`${page}: no script or no style was built`);
  const html = (await readFile(`src/${page}.html`, 'utf8'))
    .replaceAll('%SCRIPT%', out.js)
    .replaceAll('%STYLE%', out.css);
  if (/%[A-Z]+%/.test(html)) throw new Error(`${page}.html: a placeholder is left`);
  await writeFile(join(dist, `${page}.html`), html);
}

const compressible = /\.(js|css|html|svg|txt|json)$/;
for (const dir of [dist, assets]) {
  for (const name of await readdir(dir)) {
    if (!compressible.test(name)) continue;
    const body = await readFile(join(dir, name));
    await writeFile(join(dir, name + '.gz'), gzipSync(body, { level: 9 }));
    await writeFile(join(dir, name + '.br'), brotliCompressSync(body, {
      params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: body.length },
    }));
  }
}
