/**
 * The published packages work outside this repository: each packs (pnpm pack: workspace
 * ranges become versions) into a tarball without tests, test kits or fixtures; the
 * tarballs alone install with plain npm into an empty project (their dependencies from
 * the npm registry); a TypeScript program compiled against them with `skipLibCheck: false`
 * and no dev-only types starts a server, uploads and follows a resource.
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { freshDataDir } from './helpers/server.js';

const run = promisify(execFile);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const requireFromServer = createRequire(path.join(root, 'packages/server/package.json'));
const requireFromRoot = createRequire(path.join(root, 'package.json'));

interface Manifest {
  name: string;
  version: string;
  private?: boolean;
  license?: string;
  repository?: unknown;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

const readJson = <T>(file: string): T => JSON.parse(readFileSync(file, 'utf8')) as T;

/** Every package of packages/ that is published (the CLI too, once it is there). */
function publishedPackages(): { dir: string; manifest: Manifest }[] {
  return readdirSync(path.join(root, 'packages'))
    .map((name) => path.join(root, 'packages', name))
    .map((dir) => ({ dir, manifest: readJson<Manifest>(path.join(dir, 'package.json')) }))
    .filter(({ manifest }) => !manifest.private);
}

async function tarList(tarball: string): Promise<string[]> {
  const { stdout } = await run('tar', ['-tzf', tarball]);
  return stdout.split('\n').filter((line) => line !== '');
}

describe('published packages: pack → npm install → tsc (skipLibCheck: false) → run', function () {
  this.timeout(240_000);
  const work = freshDataDir();
  const tarballs = path.join(work, 'tarballs');
  const project = path.join(work, 'project');
  const packed = new Map<string, string>();

  before(async () => {
    mkdirSync(tarballs);
    for (const { dir, manifest } of publishedPackages()) {
      const { stdout } = await run('pnpm', ['pack', '--pack-destination', tarballs], { cwd: dir });
      const tarball = stdout.trim().split('\n').pop() as string;
      packed.set(manifest.name, path.isAbsolute(tarball) ? tarball : path.join(tarballs, path.basename(tarball)));
    }
  });

  it('packs every package with a README, its license and repository, and no tests, test kits or workspace ranges', async () => {
    expect([...packed.keys()]).to.include.members([
      '@spool/common',
      '@spool/client-upload',
      '@spool/client-download',
      '@spool/impl-websocket',
      '@spool/impl-http',
      '@spool/impl-hsp',
      '@spool/server',
    ]);
    for (const [name, tarball] of packed) {
      const files = await tarList(tarball);
      expect(files, name).to.include('package/README.md');
      const shipped = files.filter((file) => /\.test\.|\.testkit\.|\/testing\/|\/testing\.|fixtures?\/|\.tsbuildinfo$/.test(file));
      expect(shipped, `${name} ships test files`).to.deep.equal([]);
      const { stdout } = await run('tar', ['-xzOf', tarball, 'package/package.json']);
      const manifest = JSON.parse(stdout) as Manifest & { exports?: Record<string, unknown> };
      expect(manifest.license, name).to.equal('Apache-2.0');
      expect(manifest.repository, name).to.be.an('object');
      expect(stdout, `${name} keeps a workspace range`).to.not.include('workspace:');
      expect(manifest.dependencies?.bufferutil, `${name}: bufferutil must be optional`).to.equal(undefined);
      if (name === '@spool/server') expect(Object.keys(manifest.exports ?? {})).to.deep.equal(['.', './contracts']);
    }
  });

  it('installs from the tarballs alone, compiles a program with skipLibCheck false, which uploads and follows a resource', async () => {
    mkdirSync(project);
    // A native module is built once per machine: the workspace's build of the same version
    // is reused (install scripts off: nothing is downloaded or compiled here).
    const sqliteDir = path.dirname(requireFromServer.resolve('better-sqlite3/package.json'));
    const sqliteVersion = readJson<Manifest>(path.join(sqliteDir, 'package.json')).version;
    const nodeTypesVersion = readJson<Manifest>(requireFromRoot.resolve('@types/node/package.json')).version;
    const dependencies = Object.fromEntries([...packed].map(([name, tarball]) => [name, `file:${tarball}`]));
    writeFileSync(
      path.join(project, 'package.json'),
      JSON.stringify({
        name: 'outside-project',
        private: true,
        type: 'module',
        // Only what a user adds: the packages, and Node's types for their own program.
        dependencies: { ...dependencies, '@types/node': nodeTypesVersion },
        overrides: { 'better-sqlite3': sqliteVersion },
      }),
    );
    await run('npm', ['install', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: project, timeout: 180_000 });
    cpSync(path.join(sqliteDir, 'build'), path.join(project, 'node_modules/better-sqlite3/build'), { recursive: true });

    cpSync(path.join(root, 'test/src/pack/outside-program.ts'), path.join(project, 'main.ts'));
    writeFileSync(
      path.join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          skipLibCheck: false,
          types: ['node'],
          outDir: 'out',
        },
        files: ['main.ts'],
      }),
    );
    const tsc = requireFromRoot.resolve('typescript/bin/tsc');
    await run(process.execPath, [tsc, '-p', '.'], { cwd: project }).catch((err: { stdout?: string }) => {
      throw new Error(`tsc failed:\n${err.stdout ?? String(err)}`);
    });
    const { stdout } = await run(process.execPath, ['out/main.js'], { cwd: project, timeout: 60_000 });
    expect(JSON.parse(stdout.trim())).to.deep.include({ ok: true, state: 'COMPLETED', size: 1690 });
  });
});
