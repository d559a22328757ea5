// Bundles the two pages into dist/: scripts and styles minified under content-hashed
// names (served as immutable), each page's HTML pointing at its own, and a gzip and a
// brotli copy of every asset so that courierd never compresses on the fly.
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
  // ES modules, so that what only some screens need is split off and fetched on demand.
  format: 'esm',
  splitting: true,
  chunkNames: 'chunk-[hash]',
  target: ['es2020', 'chrome90', 'safari15', 'firefox90'],
  outdir: assets,
  entryNames: '[name]-[hash]',
  assetNames: '[name]-[hash]',
  loader: { '.png': 'file', '.svg': 'file' },
  metafile: true,
  legalComments: 'linked',
  logLevel: 'warning',
});

// Each entry point's outputs: the page's <script> and <link>, and the chunks its script
// imports at once, which the page asks for together with it rather than one after another.
const metas = result.metafile.outputs;
const asset = (file) => '/assets/' + basename(file);
const staticImports = (file, seen = new Set()) => {
  for (const i of metas[file].imports) {
    if (i.kind === 'import-statement' && !seen.has(i.path)) {
      seen.add(i.path);
      staticImports(i.path, seen);
    }
  }
  return seen;
};
const outputs = {};
for (const [file, meta] of Object.entries(metas)) {
  if (!meta.entryPoint) continue;
  const preload = [...staticImports(file)].filter((f) => metas[f].bytes > 0);
  outputs[basename(meta.entryPoint, '.js')] = { js: asset(file), css: meta.cssBundle && asset(meta.cssBundle), preload: preload.map(asset) };
}
for (const page of pages) {
  const out = outputs[page];
  if (!out?.js || !out?.css) throw new Error(`${page}: no script or no style was built`);
  const preloads = out.preload.map((href) => `<link rel="modulepreload" href="${href}">`).join('\n');
  const html = (await readFile(`src/${page}.html`, 'utf8'))
    .replaceAll('%SCRIPT%', out.js)
    .replaceAll('%STYLE%', out.css)
    .replace('<script type="module"', (preloads ? preloads + '\n' : '') + '<script type="module"');
  if (/%[A-Z]+%/.test(html)) throw new Error(`${page}.html: a placeholder is left`);
  await writeFile(join(dist, `${page}.html`), html);
}

// The pages are compressed by the server, once it has written its settings into them.
const compressible = /\.(js|css|svg|txt|json)$/;
for (const name of await readdir(assets)) {
  if (!compressible.test(name)) continue;
  const body = await readFile(join(assets, name));
  await writeFile(join(assets, name + '.gz'), gzipSync(body, { level: 9 }));
  await writeFile(join(assets, name + '.br'), brotliCompressSync(body, {
    params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: body.length },
  }));
}
