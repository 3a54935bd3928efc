import { readFile } from 'node:fs/promises';
import { builtinModules, createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { expect } from 'chai';

const STATIC_IMPORT = /^\s*(?:import|export)\s(?:[^'"]*?\sfrom\s*)?['"]([^'"]+)['"]/gm;
const DYNAMIC_IMPORT = /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;
const BUILTINS = new Set(builtinModules);

/** Every module the SDK loads (compiled JavaScript), from its entry through relative and `@spool/*` imports, with the built-ins each imports. */
async function sdkModules(entry: string): Promise<Map<string, { source: string; builtins: string[] }>> {
  const modules = new Map<string, { source: string; builtins: string[] }>();
  const pending = [entry];
  for (let path = pending.pop(); path !== undefined; path = pending.pop()) {
    if (modules.has(path)) continue;
    const source = await readFile(path, 'utf8');
    const builtins: string[] = [];
    modules.set(path, { source, builtins });
    const require = createRequire(path);
    for (const match of [...source.matchAll(STATIC_IMPORT), ...source.matchAll(DYNAMIC_IMPORT)]) {
      const specifier = match[1] as string;
      if (specifier.startsWith('node:') || BUILTINS.has(specifier)) builtins.push(specifier.replace(/^node:/, ''));
      else if (specifier.startsWith('.')) pending.push(fileURLToPath(new URL(specifier, pathToFileURL(path))));
      else if (specifier.startsWith('@spool/')) pending.push(require.resolve(specifier));
    }
  }
  return modules;
}

describe('the SDK is bundle-safe', () => {
  it('loads no worker thread and locates no file through import.meta.url; @spool/common uses no import.meta at all', async () => {
    const modules = await sdkModules(fileURLToPath(new URL('./index.js', import.meta.url)));
    const packages = new Set([...modules.keys()].map((path) => /packages\/([^/]+)\/dist\//.exec(path)?.[1]));
    expect([...packages].sort()).to.deep.equal(['client-download', 'client-upload', 'common', 'impl-websocket']);
    const offenders: string[] = [];
    for (const [path, { source, builtins }] of modules) {
      if (builtins.includes('worker_threads')) offenders.push(`${path} imports worker_threads`);
      // `new URL('./x.js', import.meta.url)`: a file next to the module, which a bundle does not have.
      if (/new URL\([^)]*import\.meta\.url/.test(source)) offenders.push(`${path} locates a file through import.meta.url`);
      if (path.includes('/packages/common/') && /\bimport\.meta\b|\bnew Worker\b/.test(source))
        offenders.push(`${path} uses import.meta or Worker`);
    }
    expect(offenders).to.deep.equal([]);
  });
});
