// safetensors in plain JavaScript, F32 only (all the ORT tools need): read a file into a Map
// name -> {shape, data: Float32Array}, plus its metadata; write tensors whole-or-not-at-all.
import { readFileSync, writeFileSync, renameSync, unlinkSync } from 'node:fs';

// safetensors: 8-byte little-endian header length N, N bytes of JSON
// {"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}}, then the
// raw little-endian data; offsets are relative to the start of the data.
export function readSafetensors(path) {
  let bytes;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new Error(`${path}: cannot read: ${e.message}`);
  }
  if (bytes.length < 8) throw new Error(`${path}: not a safetensors file (${bytes.length} bytes)`);
  const headerLength = bytes.readBigUInt64LE(0);
  if (headerLength > BigInt(bytes.length - 8)) throw new Error(`${path}: header length ${headerLength} exceeds the file`);
  const dataStart = 8 + Number(headerLength);
  let header;
  try {
    header = JSON.parse(bytes.subarray(8, dataStart).toString('utf8'));
  } catch (e) {
    throw new Error(`${path}: header is not JSON: ${e.message}`);
  }
  const tensors = new Map();
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    if (info.dtype !== 'F32') throw new Error(`${path}: tensor '${name}' is ${info.dtype}; only F32 tensors are read`);
    const [begin, end] = info.data_offsets;
    const count = info.shape.reduce((a, b) => a * b, 1);
    if (end - begin !== count * 4 || dataStart + end > bytes.length) {
      throw new Error(`${path}: tensor '${name}' has shape [${info.shape}] but bytes ${begin}..${end}`);
    }
    // Copy: the Float32Array needs 4-byte alignment, which the file's layout does not promise.
    const data = new Float32Array(count);
    Buffer.from(data.buffer).set(bytes.subarray(dataStart + begin, dataStart + end));
    tensors.set(name, { shape: info.shape, data });
  }
  return tensors;
}

export function writeSafetensors(path, tensors, metadata) {
  const header = { __metadata__: metadata };
  let offset = 0;
  for (const { name, shape, data } of tensors) {
    header[name] = { dtype: 'F32', shape, data_offsets: [offset, offset + data.byteLength] };
    offset += data.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);  // the data starts 8-byte aligned
  const head = Buffer.alloc(8);
  head.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  const parts = [head, Buffer.from(json, 'utf8')];
  for (const { data } of tensors) parts.push(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  const tmp = `${path}.tmp${process.pid}`;
  try {
    writeFileSync(tmp, Buffer.concat(parts));
    renameSync(tmp, path);
  } catch (e) {
    try { unlinkSync(tmp); } catch { /* nothing written */ }
    throw new Error(`${path}: cannot write: ${e.message}`);
  }
}

