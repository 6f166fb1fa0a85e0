// Prints the server's shape in numbers: import cycles, imports from one feature folder into another,
// and the largest source files. Run it before and after a restructuring to compare:
//   node scripts/architecture-report.mjs [--json]
import { readFileSync } from 'node:fs';
import { cruise } from 'dependency-cruiser';

const root = 'apps/server/src';
const isTest = (path) => /\.test\.tsx?$/.test(path);

// Type-only imports are kept (marked) so each figure can be given with and without them.
const result = await cruise([root], {
  tsPreCompilationDeps: true,
  doNotFollow: { path: 'node_modules' },
  includeOnly: `^${root}/`,
  exclude: { path: 'node_modules' },
});
const modules = result.output.modules.filter(
  (m) => !m.coreModule && m.source.startsWith(`${root}/`),
);

const isTypeOnly = (dep) => dep.dependencyTypes.includes('type-only');
const edgesOf = (m, { types }) =>
  m.dependencies.filter((d) => d.resolved.startsWith(`${root}/`) && (types || !isTypeOnly(d)));

// Strongly connected components (Tarjan): each one of more than one file is a tangle of cycles.
function tangles({ types }) {
  const graph = new Map(
    modules.map((m) => [m.source, edgesOf(m, { types }).map((d) => d.resolved)]),
  );
  let counter = 0;
  const index = new Map();
  const low = new Map();
  const stack = [];
  const onStack = new Set();
  const found = [];
  const visit = (v) => {
    index.set(v, counter);
    low.set(v, counter);
    counter += 1;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v), index.get(w)));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component = [];
      let w;
      do {
        w = stack.pop();
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      const selfLoop = (graph.get(v) ?? []).includes(v);
      if (component.length > 1 || selfLoop) found.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found.sort((a, b) => b.length - a.length);
}

// The distinct cycles dependency-cruiser reports (one per circular edge, deduplicated by rotation).
function reportedCycles({ types }) {
  const seen = new Set();
  for (const m of modules) {
    for (const d of edgesOf(m, { types })) {
      if (!d.circular) continue;
      const path = [m.source, ...d.cycle.map((c) => c.name)];
      if (!types && d.cycle.some((c) => c.dependencyTypes.includes('type-only'))) continue;
      path.pop();
      const start = path.indexOf([...path].sort()[0]);
      seen.add([...path.slice(start), ...path.slice(0, start)].join(' > '));
    }
  }
  return seen.size;
}

const featureOf = (path) => path.match(/^apps\/server\/src\/features\/([^/]+)\//)?.[1];
const crossFeature = modules.flatMap((m) =>
  edgesOf(m, { types: true })
    .filter((d) => featureOf(m.source) && featureOf(d.resolved))
    .filter((d) => featureOf(m.source) !== featureOf(d.resolved))
    .map((d) => ({ from: m.source, to: d.resolved, typeOnly: isTypeOnly(d) })),
);
const intoRepository = crossFeature.filter((e) => e.to.endsWith('-repository.ts'));

const largest = modules
  .filter((m) => m.source.endsWith('.ts') && !isTest(m.source))
  .map((m) => ({
    file: m.source,
    lines: readFileSync(m.source, 'utf8').split('\n').length - 1,
  }))
  .sort((a, b) => b.lines - a.lines)
  .slice(0, 10);

const all = tangles({ types: true });
const runtime = tangles({ types: false });
const figures = {
  files: modules.length,
  cycles: {
    tangles: all.length,
    filesInTangles: all.reduce((n, c) => n + c.length, 0),
    tangleSizes: all.map((c) => c.length),
    distinctCyclesReported: reportedCycles({ types: true }),
  },
  runtimeCycles: {
    tangles: runtime.length,
    filesInTangles: runtime.reduce((n, c) => n + c.length, 0),
    tangleSizes: runtime.map((c) => c.length),
    distinctCyclesReported: reportedCycles({ types: false }),
  },
  crossFeature: {
    imports: crossFeature.length,
    typeOnly: crossFeature.filter((e) => e.typeOnly).length,
    intoRepositories: intoRepository.length,
    fromTests: crossFeature.filter((e) => isTest(e.from)).length,
    intoRepositoriesFromNonTests: intoRepository.filter((e) => !isTest(e.from)).length,
  },
  largest,
};

if (process.argv.includes('--json')) {
  console.log(
    JSON.stringify({ ...figures, tangles: all, crossFeatureImports: crossFeature }, null, 2),
  );
} else {
  const c = figures.cycles;
  const r = figures.runtimeCycles;
  const x = figures.crossFeature;
  console.log(`${root}: ${figures.files} files`);
  console.log(
    `cycles (type-only imports included): ${c.tangles} tangles, ${c.filesInTangles} files in them (sizes ${c.tangleSizes.join(', ') || '-'}), ${c.distinctCyclesReported} distinct cycles reported by dependency-cruiser`,
  );
  console.log(
    `cycles (runtime imports only): ${r.tangles} tangles, ${r.filesInTangles} files in them (sizes ${r.tangleSizes.join(', ') || '-'}), ${r.distinctCyclesReported} distinct cycles reported`,
  );
  console.log(
    `imports from features/<a>/ into features/<b>/: ${x.imports} (${x.typeOnly} type-only, ${x.fromTests} from tests); into a *-repository.ts: ${x.intoRepositories} (${x.intoRepositoriesFromNonTests} from non-test files)`,
  );
  console.log('largest non-test .ts files (lines):');
  for (const f of largest) console.log(`  ${String(f.lines).padStart(5)}  ${f.file}`);
}
