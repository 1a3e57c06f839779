#!/usr/bin/env node
// Runs an ONNX model through ONNX Runtime (onnxruntime-node, CPU execution provider): the
// reference fusescope's real-model goldens are made with (tools/README.md, "ONNX Runtime parity").
//
//   node tools/ort/run_model.mjs --model M.onnx --input IN.safetensors --output OUT.safetensors
//                                [--opt disabled|basic|all] [--repeat N]
//
// IN.safetensors holds one F32 tensor per ONNX input, named by the input's name, with the shape
// to feed. OUT.safetensors receives every ONNX output by name as F32 (written under a temporary
// name, then renamed: never half a file), with the model, its sha256, the ORT version and the
// optimization level in the metadata. --opt picks ORT's graph optimization level ("disabled":
// the model exactly as written; default "disabled"). --repeat N runs the model N times (default
// 1); the outputs are the last run's. stdout gets one JSON line:
//   {"load_ms":…, "run_ms_median":…, "runs":N, "opt":…}
// load_ms is InferenceSession.create (parsing, optimizing, kernel set-up); run_ms_median the
// median wall time of session.run. Errors go to stderr with exit status 1 (2 for bad usage).
//
// Needs tools/ort/install.sh to have run once (it installs the pinned onnxruntime-node into
// tools/ort/node_modules, which git ignores).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename } from 'node:path';
import { performance } from 'node:perf_hooks';

import { readSafetensors, writeSafetensors } from './safetensors.mjs';

const require = createRequire(import.meta.url);

function usage(message) {
  process.stderr.write(`run_model: ${message}\n` +
    'usage: node tools/ort/run_model.mjs --model M.onnx --input IN.safetensors --output OUT.safetensors ' +
    '[--opt disabled|basic|all] [--repeat N]\n');
  process.exit(2);
}

function fail(message) {
  process.stderr.write(`run_model: ${message}\n`);
  process.exit(1);
}

function parseArgs(argv) {
  const args = { opt: 'disabled', repeat: 1 };
  const known = new Set(['--model', '--input', '--output', '--opt', '--repeat']);
  for (let i = 0; i < argv.length; i += 2) {
    const flag = argv[i];
    if (!known.has(flag)) usage(`unknown argument '${flag}'`);
    if (i + 1 >= argv.length) usage(`${flag} needs a value`);
    args[flag.slice(2)] = argv[i + 1];
  }
  for (const required of ['model', 'input', 'output']) if (!args[required]) usage(`--${required} is required`);
  if (!['disabled', 'basic', 'all'].includes(args.opt)) usage(`--opt ${args.opt}: expected disabled, basic or all`);
  const repeat = Number(args.repeat);
  if (!Number.isInteger(repeat) || repeat < 1) usage(`--repeat ${args.repeat}: expected a positive integer`);
  args.repeat = repeat;
  return args;
}

function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const args = parseArgs(process.argv.slice(2));
let ort, ortVersion;
try {
  ort = require('onnxruntime-node');
  ortVersion = require('onnxruntime-node/package.json').version;
} catch (e) {
  fail(`onnxruntime-node is not installed (run tools/ort/install.sh): ${e.message.split('\n')[0]}`);
}

let modelBytes;
try {
  modelBytes = readFileSync(args.model);
} catch (e) {
  fail(`${args.model}: cannot read: ${e.message}`);
}
let inputs;
try {
  inputs = readSafetensors(args.input);
} catch (e) {
  fail(e.message);
}

const t0 = performance.now();
let session;
try {
  session = await ort.InferenceSession.create(modelBytes, { graphOptimizationLevel: args.opt, logSeverityLevel: 3 });
} catch (e) {
  fail(`${args.model}: ONNX Runtime cannot load it: ${e.message}`);
}
const loadMs = performance.now() - t0;

const feeds = {};
for (const name of session.inputNames) {
  const t = inputs.get(name);
  if (!t) fail(`${args.input} has no tensor named '${name}' (the model's inputs: ${session.inputNames.join(', ')})`);
  feeds[name] = new ort.Tensor('float32', t.data, t.shape);
}

const times = [];
let results;
for (let i = 0; i < args.repeat; ++i) {
  const start = performance.now();
  try {
    results = await session.run(feeds);
  } catch (e) {
    fail(`${args.model}: ONNX Runtime run failed: ${e.message}`);
  }
  times.push(performance.now() - start);
}

const outputs = session.outputNames.map((name) => {
  const t = results[name];
  if (t.type !== 'float32') fail(`output '${name}' is ${t.type}; only float32 outputs are written`);
  return { name, shape: t.dims.map(Number), data: t.data };
});
try {
  writeSafetensors(args.output, outputs, {
    producer: `onnxruntime-node ${ortVersion} (CPU execution provider)`,
    model: basename(args.model),
    model_sha256: createHash('sha256').update(modelBytes).digest('hex'),
    graph_optimization: args.opt,
  });
} catch (e) {
  fail(e.message);
}

process.stdout.write(JSON.stringify({
  load_ms: Number(loadMs.toFixed(3)),
  run_ms_median: Number(median(times).toFixed(3)),
  runs: args.repeat,
  opt: args.opt,
}) + '\n');
