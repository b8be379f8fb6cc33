/**
 * `migrate up --typecheck`: the TypeScript compiler over the scripts about to
 * run, before any is loaded, with `dspipe` (and its subpaths) resolved to the
 * types of the dspipe that runs them, as resolve-hook.ts resolves the code.
 * Any error refuses the run, naming each file:line. tsx alone only strips
 * types, so without this a wrong type shows up mid-run, if at all.
 *
 * TypeScript is an optional peer dependency: the project's own (found from
 * the migrations folder) is used first, then one beside dspipe.
 */
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as TS from 'typescript';
import { DspipeError } from '../errors.js';

/** dist/src of the running dspipe: its .d.ts files sit beside the code. */
const DIST_SRC = fileURLToPath(new URL('../', import.meta.url));
const MAX_SHOWN = 20;

function requireFrom(dir: string, id: string): unknown {
  return createRequire(join(dir, 'noop.js'))(id);
}

function resolveFrom(dirs: string[], id: string): string | undefined {
  for (const dir of dirs) {
    try {
      return createRequire(join(dir, 'noop.js')).resolve(id);
    } catch {
      // not there: the next place
    }
  }
  return undefined;
}

function loadTypeScript(dir: string): typeof TS {
  for (const from of [dir, DIST_SRC]) {
    try {
      return requireFrom(from, 'typescript') as typeof TS;
    } catch {
      // not there: the next place
    }
  }
  throw new DspipeError('DSPIPE_INVALID_OPTION', '--typecheck needs TypeScript, which is installed neither in this project nor beside dspipe', {
    hint: 'npm install --save-dev typescript (or run without --typecheck)',
  });
}

/** Refuses (DSPIPE_MIGRATION_FAILED) when a script has a type error; JavaScript scripts are passed over. */
export function typecheckMigrations(files: readonly string[], dir: string): void {
  const scripts = files.filter((f) => /\.m?ts$/.test(f));
  if (scripts.length === 0) return;
  const ts = loadTypeScript(dir);
  const nodeTypes = resolveFrom([dir, DIST_SRC], '@types/node/package.json');
  const options: TS.CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    esModuleInterop: true,
    allowImportingTsExtensions: true,
    types: nodeTypes === undefined ? [] : ['node'],
    ...(nodeTypes !== undefined && { typeRoots: [dirname(dirname(nodeTypes))] }),
    paths: {
      dspipe: [join(DIST_SRC, 'index.d.ts')],
      'dspipe/stages': [join(DIST_SRC, 'stages.d.ts')],
      'dspipe/format': [join(DIST_SRC, 'format.d.ts')],
    },
  };
  const program = ts.createProgram([...scripts], options);
  const errors = ts.getPreEmitDiagnostics(program).filter((d) => d.category === ts.DiagnosticCategory.Error);
  if (errors.length === 0) return;
  const at = (d: TS.Diagnostic) => {
    if (d.file === undefined || d.start === undefined) return { where: '(options)', file: undefined, line: undefined };
    const { line, character } = d.file.getLineAndCharacterOfPosition(d.start);
    return { where: `${relative(process.cwd(), d.file.fileName)}:${line + 1}:${character + 1}`, file: d.file.fileName, line: line + 1 };
  };
  const lines = errors.slice(0, MAX_SHOWN).map((d) => `  ${at(d).where}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`);
  if (errors.length > MAX_SHOWN) lines.push(`  … and ${errors.length - MAX_SHOWN} more`);
  const first = at(errors[0]!);
  throw new DspipeError('DSPIPE_MIGRATION_FAILED', `migration does not type-check (${errors.length} error${errors.length > 1 ? 's' : ''}); nothing was run:\n${lines.join('\n')}`, {
    ...(first.file !== undefined && { file: relative(process.cwd(), first.file), line: first.line }),
    hint: 'fix the types (the lines above), or run without --typecheck',
  });
}
