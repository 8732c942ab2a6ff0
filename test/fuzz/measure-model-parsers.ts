/**
 * Count what the model-file parsers do with a fixed, seeded set of fuzz inputs (test/fuzz/
 * model-cases.ts, the same generators the fuzz tests use): clean errors (an InputError naming the
 * file, clearly), accepted and sound, crashes (any other exception, or checking an accepted value
 * threw something other than an assertion), unclear errors (an InputError whose message does not
 * name the file or reads `undefined`, `[object Object]`, or runs past 1,500 characters), silent
 * accepts (accepted but unsound: a non-finite weight, an absurd size, ids past the vocabulary, a
 * result that does not re-serialise), hangs (> 2 s) and memory blow-ups (peak RSS growth > 256
 * MiB). Prints one JSON line per parser, then a Markdown table.
 *
 *   npx tsx test/fuzz/measure-model-parsers.ts [--runs N] [--only PARSER] [--verbose] [--dump FILE]
 *
 * It only uses the parsers' public API, so the same script measures the code before the fuzzing
 * fixes (a worktree of commit 3cd67a5 with this folder and test/fixtures/arch copied in, and
 * SPARSEBOOK_SHARED set) and after. `--dump` writes every failing case descriptor, the seed of
 * test/fuzz/corpus/.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import fc from 'fast-check';
import { InputError } from '../../runtime/errors';
import {
  buildCase,
  caseArb,
  MODEL_PARSERS,
  NoSuchParser,
  type ModelCase,
  type ModelParser,
} from './model-cases';
import { expectClearError } from './model-oracles';
import { RssPeak } from './rss-peak';

const SEED = 20260512; // FUZZ_SEED of inputs.ts (not imported: it needs app code absent before)
const arg = (name: string) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const RUNS = Number(arg('--runs') ?? 400);
const verbose = process.argv.includes('--verbose');
/** A child that answers nothing for this long is killed, its case counted as a hang. */
const HUNG_MS = 30_000;

/** How many inputs of each parser, relative to --runs (the slow ones get fewer). */
const SHARE: Record<ModelParser, number> = {
  safetensors: 1,
  llama2c: 1,
  'llama2c-tokenizer': 1,
  'hf-tokenizer': 1,
  'hf-config': 2,
  'model-files': 1,
  'hf-checkpoint': 1,
  sae: 2,
};

type Outcome = 'clean' | 'ok' | 'crash' | 'unclear' | 'silent';
/** One case's result, as a child process reports it. */
interface Result {
  i: number;
  outcome: Outcome;
  ms: number;
  mib: number;
  what?: string;
}

function casesOf(parser: ModelParser): ModelCase[] {
  const cases = fc.sample(caseArb(parser), { seed: SEED, numRuns: Math.round(RUNS * SHARE[parser]) });
  if (parser === 'hf-tokenizer') {
    // A few edits of the real 1.8 MB Llama 2 tokenizer.json too.
    for (const c of fc.sample(caseArb('hf-tokenizer'), { seed: SEED + 1, numRuns: 8 })) {
      if (c.parser === 'hf-tokenizer') cases.push({ ...c, arch: 'lenml-llama2' });
    }
  }
  return cases;
}

/** Child: run the cases of `parser` from index `from`, printing "start i" before and a result after each. */
async function child(parser: ModelParser, from: number): Promise<void> {
  const cases = casesOf(parser);
  const rss = await RssPeak.start();
  for (let i = from; i < cases.length; i++) {
    let built;
    try {
      built = await buildCase(cases[i]!);
    } catch (e) {
      if (e instanceof NoSuchParser) {
        console.log(JSON.stringify({ missing: e.message }));
        break;
      }
      throw e;
    }
    console.log(JSON.stringify({ start: i }));
    const m = rss.measure(built.parse);
    let outcome: Outcome;
    let what: string | undefined;
    if ('error' in m) {
      if (m.error instanceof InputError) {
        try {
          expectClearError(m.error, built.files);
          outcome = 'clean';
        } catch {
          outcome = 'unclear';
          what = m.error.message;
        }
      } else {
        outcome = 'crash';
        what = String(m.error);
      }
    } else {
      try {
        built.sound(m.value);
        outcome = 'ok';
      } catch (e) {
        const assertion = e instanceof Error && e.name === 'AssertionError';
        outcome = assertion ? 'silent' : 'crash';
        what = `${assertion ? '' : 'using the accepted value threw '}${String(e)}`;
      }
    }
    const r: Result = {
      i,
      outcome,
      ms: Math.round(m.ms),
      mib: m.mib,
      ...(what ? { what: what.slice(0, 600) } : {}),
    };
    console.log(JSON.stringify(r));
  }
  await rss.stop();
}

/** Run a child from `from`; resolves with its results, the case it died in (if it did), and how. */
interface ChildRun {
  results: Result[];
  missing?: string;
  /** The case the child was in when it died or was killed. */
  died?: { i: number; how: string; hung: boolean };
}

function runChild(parser: ModelParser, from: number): Promise<ChildRun> {
  return new Promise<ChildRun>((resolve) => {
    const args = [process.argv[1]!, '--child', parser, '--from', String(from), '--runs', String(RUNS)];
    const p = spawn(process.execPath, [...process.execArgv, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: process.env,
    });
    const results: Result[] = [];
    let missing: string | undefined;
    let current = -1;
    let stderr = '';
    p.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    // A case that never returns (a parser looping) is killed after HUNG_MS without an answer.
    let hung = false;
    let timer: NodeJS.Timeout | undefined;
    const watch = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        hung = true;
        p.kill('SIGKILL');
      }, HUNG_MS);
    };
    watch();
    createInterface({ input: p.stdout }).on('line', (line) => {
      watch();
      if (!line.startsWith('{')) return;
      const j = JSON.parse(line) as Partial<Result> & { start?: number; missing?: string };
      if (j.missing) missing = j.missing;
      else if (j.start !== undefined) current = j.start;
      else {
        results.push(j as Result);
        current = -1;
      }
    });
    p.on('close', (code, signal) => {
      clearTimeout(timer);
      const how = hung
        ? `no answer in ${HUNG_MS / 1000} s: killed`
        : /heap out of memory|Allocation failed/.test(stderr)
          ? 'the process ran out of heap (V8 abort)'
          : `the process exited (${signal ?? code}): ${stderr.trim().split('\n').slice(-1)[0] ?? ''}`;
      resolve({ results, missing, ...(current >= 0 ? { died: { i: current, how, hung } } : {}) });
    });
  });
}

interface Failure {
  parser: ModelParser;
  failure: string;
  case: ModelCase;
}

async function main(): Promise<void> {
  const only = arg('--only');
  const failures: Failure[] = [];
  const rows: Record<string, unknown>[] = [];
  for (const parser of MODEL_PARSERS) {
    if (only && only !== parser) continue;
    const cases = casesOf(parser);
    const counts = { inputs: 0, clean: 0, ok: 0, crash: 0, unclear: 0, silent: 0, hangs: 0, memory: 0 };
    const examples: Record<string, string[]> = {};
    let maxMs = 0;
    let maxMib = 0;
    let missing: string | undefined;
    const note = (kind: string, c: ModelCase, what: string) => {
      failures.push({ parser, failure: `${kind}: ${what}`, case: c });
      const list = (examples[kind] ??= []);
      const line = `${what} ← ${JSON.stringify(c)}`.replace(/\s+/g, ' ');
      if (list.length < (verbose ? 20 : 3)) list.push(line.slice(0, verbose ? 400 : 200));
    };
    for (let from = 0; from < cases.length;) {
      const run = await runChild(parser, from);
      missing ??= run.missing;
      for (const r of run.results) {
        counts.inputs++;
        counts[r.outcome]++;
        maxMs = Math.max(maxMs, r.ms);
        maxMib = Math.max(maxMib, r.mib);
        if (r.ms > 2000) {
          counts.hangs++;
          note('hang', cases[r.i]!, `${r.ms} ms`);
        }
        if (r.mib > 256) {
          counts.memory++;
          note('memory', cases[r.i]!, `+${r.mib} MiB`);
        }
        if (r.outcome !== 'clean' && r.outcome !== 'ok') note(r.outcome, cases[r.i]!, r.what ?? '');
      }
      if (run.died) {
        // The process died inside this case (a heap abort: a crash and a memory blow-up) or was
        // killed (a hang); go on after it.
        counts.inputs++;
        if (run.died.hung) {
          counts.hangs++;
          note('hang', cases[run.died.i]!, run.died.how);
        } else {
          counts.crash++;
          counts.memory++;
          note('crash', cases[run.died.i]!, run.died.how);
        }
        from = run.died.i + 1;
      } else break;
    }
    const row = missing ? { parser, missing } : { parser, ...counts, maxMs, maxMib, examples };
    rows.push(row);
    console.log(JSON.stringify(row));
  }
  console.log(
    '\n| parser | inputs | clean | accepted, sound | crashes | unclear errors | silent accepts | hangs | memory blow-ups | worst time / RSS |',
  );
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of rows) {
    const f = (k: string) => String(r[k]);
    if ('missing' in r) console.log(`| ${f('parser')} | – | – | – | – | – | – | – | – | (${f('missing')}) |`);
    else {
      console.log(
        `| ${f('parser')} | ${f('inputs')} | ${f('clean')} | ${f('ok')} | ${f('crash')} | ${f('unclear')} | ${f('silent')} | ${f('hangs')} | ${f('memory')} | ${f('maxMs')} ms, ${f('maxMib')} MiB |`,
      );
    }
  }
  const dump = arg('--dump');
  if (dump) writeFileSync(dump, JSON.stringify(failures, null, 1));
}

const childOf = arg('--child');
if (childOf) await child(childOf as ModelParser, Number(arg('--from') ?? 0));
else await main();
