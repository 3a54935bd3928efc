// Builds the web page into dist/: index.html, app.js (the page and Uppy, bundled), app.css.
// Run by the root `pnpm run build`; the server serves dist/ at / (protocols/web).
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { build } from 'esbuild';

const here = (path) => new URL(path, import.meta.url);
const require = createRequire(import.meta.url);
await mkdir(here('dist/'), { recursive: true });
await build({
  entryPoints: [here('src/app.ts').pathname],
  bundle: true,
  format: 'esm',
  target: 'es2022',
  minify: true,
  sourcemap: true,
  legalComments: 'linked',
  outfile: here('dist/app.js').pathname,
  logLevel: 'warning',
});
// Uppy's styles first, ours after (ours win).
const styles = await Promise.all([
  readFile(require.resolve('@uppy/core/css/style.min.css'), 'utf8'),
  readFile(require.resolve('@uppy/dashboard/css/style.min.css'), 'utf8'),
  readFile(here('src/app.css'), 'utf8'),
]);
await writeFile(here('dist/app.css'), styles.join('\n'));
await copyFile(here('src/index.html'), here('dist/index.html'));
