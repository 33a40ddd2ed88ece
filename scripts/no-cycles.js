#!/usr/bin/env node
// Part of npm run lint: fails when the modules of runtime/, infra/ and assembly/ import each other
// in a cycle (type-only imports included: a cycle of types is still two modules that cannot be
// read apart). Relative imports only; prints each cycle once, as a path of files.
const { readdirSync, readFileSync, statSync } = require('node:fs');
const path = require('node:path');
const root = path.join(__dirname, '..');

function files(dir) {
  const out = [];
  for (const e of readdirSync(dir)) {
    const p = path.join(dir, e);
    if (statSync(p).isDirectory()) out.push(...files(p));
    else if (p.endsWith('.ts') && !p.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

const all = ['runtime', 'infra', 'assembly'].flatMap((d) => files(path.join(root, d)));
const known = new Set(all);
const graph = new Map();
for (const f of all) {
  const text = readFileSync(f, 'utf8');
  const deps = new Set();
  for (const m of text.matchAll(/^\s*(?:import|export)\b[^'";]*?from\s+['"](\.[^'"]+)['"]/gm)) {
    const target = path.resolve(path.dirname(f), m[1]);
    for (const cand of [`${target}.ts`, path.join(target, 'index.ts')]) if (known.has(cand)) deps.add(cand);
  }
  graph.set(f, [...deps]);
}

// Tarjan's strongly connected components: every component of more than one file is a cycle.
let index = 0;
const idx = new Map();
const low = new Map();
const stack = [];
const on = new Set();
const cycles = [];
function visit(v) {
  idx.set(v, index);
  low.set(v, index++);
  stack.push(v);
  on.add(v);
  for (const w of graph.get(v)) {
    if (!idx.has(w)) {
      visit(w);
      low.set(v, Math.min(low.get(v), low.get(w)));
    } else if (on.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
  }
  if (low.get(v) === idx.get(v)) {
    const comp = [];
    let w;
    do {
      w = stack.pop();
      on.delete(w);
      comp.push(path.relative(root, w));
    } while (w !== v);
    if (comp.length > 1) cycles.push(comp.sort());
  }
}
for (const v of graph.keys()) if (!idx.has(v)) visit(v);
if (cycles.length) {
  for (const c of cycles) console.error(`import cycle: ${c.join(' <-> ')}`);
  process.exit(1);
}
console.log(`no import cycles (${all.length} modules)`);
