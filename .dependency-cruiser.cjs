// The layering check (`npm run layers`). A violation prints the rule's name and its comment, one
// sentence saying what the rule keeps apart and why: that sentence is what a developer reads.
const ours = '^(apps|packages|tools)/';
const server = '^apps/server/src/';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      severity: 'error',
      comment:
        'These modules import each other in a circle (type-only imports count: a type cycle still ties the files together), so move the shared part into a module both import.',
      from: { path: ours },
      to: { circular: true },
    },
    {
      name: 'core-imports-nothing-of-ours',
      severity: 'error',
      comment:
        'packages/core is the pure domain every other workspace builds on, so it imports no other workspace.',
      from: { path: '^packages/core/' },
      to: { path: ours, pathNot: '^packages/core/' },
    },
    {
      name: 'contracts-import-only-core',
      severity: 'error',
      comment:
        'packages/contracts is shared by the server, the SDK and the console, so it may import packages/core and nothing else of ours.',
      from: { path: '^packages/contracts/' },
      to: { path: ours, pathNot: '^packages/(contracts|core)/' },
    },
    {
      name: 'sdk-imports-only-contracts-and-core',
      severity: 'error',
      comment:
        'packages/sdk runs in browsers and other programs, so it may import packages/contracts and packages/core and nothing else of ours.',
      from: { path: '^packages/sdk/' },
      to: { path: ours, pathNot: '^packages/(sdk|contracts|core)/' },
    },
    {
      name: 'clients-never-import-the-server',
      severity: 'error',
      comment:
        'The console (apps/web) and the CLI (apps/cli) talk to Onramp through the API (packages/sdk, packages/contracts), never through the server’s code; the exceptions are `onramp keys` and `onramp oidc rotate`, which run where the server’s keyring and database are and load that command alone, lazily.',
      from: { path: '^apps/(web|cli)/' },
      to: {
        path: '^apps/server/',
        pathNot: '^apps/server/src/commands/(keys-rotate|oidc-rotate)\\.ts$',
      },
    },
    {
      name: 'features-keep-their-repositories',
      severity: 'error',
      comment:
        'A feature reaches another feature’s rows only through that feature’s service, so each table has one owner that keeps its rules.',
      from: {
        path: `${server}features/([^/]+)/`,
        // A test may seed another feature's rows to set the scene for its own.
        pathNot: '\\.test\\.tsx?$',
      },
      to: {
        path: `${server}features/([^/]+)/.*-repository\\.ts$`,
        pathNot: `${server}features/$1/`,
      },
    },
    {
      name: 'only-entry-points-use-the-composition-root',
      severity: 'error',
      comment:
        'app.ts, main.ts and wiring.ts assemble everything, so a module below them that imports them depends on the whole graph; take what you need as a parameter.',
      // A test is an entry point of its own: nothing imports it, so it may assemble the app.
      from: { path: `${server}(features|http|ports|domain|adapters)/`, pathNot: '\\.test\\.tsx?$' },
      to: { path: `${server}(app|main|wiring)\\.ts$` },
    },
    {
      name: 'ports-and-domain-stay-below-features',
      severity: 'error',
      comment:
        'Features and adapters depend on ports/ and domain/, so ports/ and domain/ never import them back (the table types in adapters/db/schema.ts excepted: a port that joins a caller’s transaction names its type).',
      from: { path: `${server}(ports|domain)/` },
      to: { path: `${server}(features|adapters)/`, pathNot: `${server}adapters/db/schema\\.ts$` },
    },
    {
      name: 'tooling-uses-package-names',
      severity: 'error',
      comment:
        'bench/, e2e/ and scripts/ import a workspace by its package name (@onramp/server, @onramp/server/testing, @onramp/loopback-aws…), so its entry points stay the one way in.',
      from: { path: '^(bench|e2e|scripts)/' },
      // A package import resolves to the same files but through the package's exports: only a
      // relative path (a 'local' dependency that is not an aliased workspace) is refused.
      to: { path: ours, dependencyTypes: ['local'], dependencyTypesNot: ['aliased-workspace'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(node_modules|dist)/' },
    // Type-only imports are dependencies too: without this they vanish from the graph.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.tsx', '.js', '.mjs', '.cjs', '.json'],
    },
    reporterOptions: {
      text: { highlightFocused: true },
    },
  },
};
