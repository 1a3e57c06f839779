#!/usr/bin/python3
"""dpn-shapes: the seed network's Dual Path Network turned into a small anchor-free detector,
trained on procedurally drawn shapes, so fusescope has a DPN detector whose BatchNorms are still
there to be folded.

What it writes (all under assets/dpn-shapes/ unless --out says otherwise):
  dpn-shapes.onnx      opset 13, BatchNormalization nodes kept (exported with
                       TrainingMode.PRESERVE from an eval-mode model: running statistics, no
                       folding), input "image" [1, 3, 128, 128], outputs "p8" [1, 9, 16, 16] and
                       "p16" [1, 9, 8, 8] (see the head below for what the 9 channels are)
  classes.txt          one class name a line, in class-id order
  decoder.json         the generic YOLO-style decoder's config for this model (src/vision)
  heldout/NNN.png      the held-out set: 48 frames drawn with a fixed seed of their own
  heldout/ground_truth.json   their boxes (x, y, w, h in pixels, pixel i covering [i, i + 1))
  training_log.json    settings, the loss curve, held-out mAP@0.5 during and after training
                       (PyTorch, on the PNGs as written, with the thresholds the C++ test uses)

Why the choices:
  * The backbone's bottleneck is the seed's dual-path one (1x1 conv-BN-ReLU, grouped 3x3
    conv-BN-ReLU, 1x1 conv-BN; the first `d` channels of its output are added to the shortcut
    -- the residual path -- and the rest concatenated -- the densely connected path), only
    narrow, so that training fits in about a quarter of an hour on two CPU cores and a frame
    runs at camera rate on lavapipe.
  * The head is anchor-free (FCOS-like): every cell of the stride-8 and stride-16 maps predicts
    the distances from its centre to the box's four sides (left, top, right, bottom, in grid
    cells, through exp), an objectness logit and one logit per class. The score of a class is
    sigmoid(objectness) * sigmoid(class). This is exactly what decoder.json describes, so the
    C++ side decodes it with the generic decoder and no code of its own.
  * Frames are drawn with numpy, 8-bit, so the training input is what a PNG holds and the
    held-out set written to disk is bit for bit what PyTorch measured.

Reproduce (about 19 minutes on one thread of a busy 2-core machine; fixed seeds: the held-out
set and decoder.json come out byte for byte, the model up to float noise of the CPU's kernels):
  /usr/bin/python3 tools/dpn_shapes.py
Options: --steps N, --batch N, --threads N, --out DIR.
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from dual_path import DualPathBottleneck  # tools/dual_path.py

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.join(os.path.dirname(HERE), "assets", "dpn-shapes")

CLASSES = ["circle", "square", "triangle", "cross"]
INPUT = 128
STRIDES = [8, 16]
OUTPUT_NAMES = ["p8", "p16"]
TRAIN_SEED = 20240610
HELDOUT_SEED = 777
HELDOUT_COUNT = 48
# The evaluation settings: the C++ mAP test uses the same (they are in training_log.json).
EVAL_SCORE_THRESHOLD = 0.05
EVAL_IOU_THRESHOLD = 0.5     # NMS
EVAL_TOP_K = 100
MAP_IOU = 0.5                # a detection matches a ground-truth box at IoU >= this


# ---------------------------------------------------------------------------------------------
# Frames

def _background(rng):
    kind = rng.random()
    if kind < 0.35:  # flat colour
        img = np.ones((INPUT, INPUT, 3), np.float32) * rng.uniform(0, 255, 3).astype(np.float32)
    elif kind < 0.7:  # linear gradient between two colours
        a, b = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
        ang = rng.uniform(0, 2 * math.pi)
        ys, xs = np.mgrid[0:INPUT, 0:INPUT].astype(np.float32) / INPUT
        t = (xs * math.cos(ang) + ys * math.sin(ang))
        t = (t - t.min()) / max(1e-6, t.max() - t.min())
        img = (a[None, None, :] * (1 - t[..., None]) + b[None, None, :] * t[..., None]).astype(np.float32)
    else:  # blotches: a coarse random colour field, upsampled
        n = int(rng.integers(3, 9))
        coarse = torch.from_numpy(rng.uniform(0, 255, (1, 3, n, n)).astype(np.float32))
        img = F.interpolate(coarse, size=(INPUT, INPUT), mode="bilinear", align_corners=False)[0]
        img = img.permute(1, 2, 0).numpy().copy()
    return img


def _shape_mask(cls, r, theta, cx, cy, x0, y0, size):
    """Mask of a shape of class `cls`, circumradius r, rotated by theta, centred at (cx, cy),
    on the window [y0, y0 + size) x [x0, x0 + size) of the frame (pixel centres at +0.5)."""
    ys, xs = np.mgrid[y0:y0 + size, x0:x0 + size].astype(np.float32) + 0.5
    dx, dy = xs - cx, ys - cy
    c, s = math.cos(theta), math.sin(theta)
    u, v = c * dx + s * dy, -s * dx + c * dy
    if cls == 0:  # circle
        return u * u + v * v <= r * r
    if cls == 1:  # square, half side r / sqrt(2)
        a = r / math.sqrt(2.0)
        return (np.abs(u) <= a) & (np.abs(v) <= a)
    if cls == 2:  # equilateral triangle: inside three half-planes at the inradius r / 2
        m = np.ones_like(u, dtype=bool)
        for phi in (math.radians(30), math.radians(150), math.radians(270)):
            m &= u * math.cos(phi) + v * math.sin(phi) <= r * 0.5
        return m
    # cross: two bars of half width r / 3
    w = r / 3.0
    return ((np.abs(u) <= r) & (np.abs(v) <= w)) | ((np.abs(v) <= r) & (np.abs(u) <= w))


def _box_iou(a, b):
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _overlap_of_smaller(a, b):
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return ix * iy / smaller


def draw_frame(rng):
    """One frame: uint8 [H, W, 3] RGB and its boxes [(x1, y1, x2, y2, cls)] in pixels."""
    img = _background(rng)
    bg_mean = img.reshape(-1, 3).mean(0)
    boxes = []
    for _ in range(int(rng.integers(1, 5))):
        for _attempt in range(10):
            cls = int(rng.integers(0, len(CLASSES)))
            r = float(rng.uniform(7, 30))
            cx, cy = rng.uniform(r * 0.6, INPUT - r * 0.6, 2)
            theta = float(rng.uniform(0, 2 * math.pi))
            size = int(2 * r + 4)
            x0, y0 = int(cx - size / 2), int(cy - size / 2)
            m = _shape_mask(cls, r, theta, cx, cy, x0, y0, size)
            # Clip the window to the frame.
            wx0, wy0 = max(0, x0), max(0, y0)
            wx1, wy1 = min(INPUT, x0 + size), min(INPUT, y0 + size)
            m = m[wy0 - y0:wy1 - y0, wx0 - x0:wx1 - x0]
            if m.sum() < 40:
                continue
            rows, cols = np.nonzero(m.any(1))[0], np.nonzero(m.any(0))[0]
            box = (wx0 + cols[0], wy0 + rows[0], wx0 + cols[-1] + 1, wy0 + rows[-1] + 1)
            if box[2] - box[0] < 8 or box[3] - box[1] < 8:
                continue
            # Overlap a little, never so much that one shape hides most of another.
            if any(_overlap_of_smaller(box, b[:4]) > 0.2 for b in boxes):
                continue
            # A colour that stands out from the background.
            for _c in range(20):
                colour = rng.uniform(0, 255, 3)
                if np.linalg.norm(colour - bg_mean) > 110:
                    break
            region = img[wy0:wy1, wx0:wx1]
            region[m] = colour.astype(np.float32)
            boxes.append((float(box[0]), float(box[1]), float(box[2]), float(box[3]), cls))
            break
    if rng.random() < 0.4:  # blur: one or two passes of a separable [1, 2, 1] / 4
        t = torch.from_numpy(img).permute(2, 0, 1)[None]
        k = torch.tensor([1.0, 2.0, 1.0]) / 4
        k2 = (k[:, None] * k[None, :]).expand(3, 1, 3, 3).contiguous()
        for _ in range(int(rng.integers(1, 3))):
            t = F.conv2d(F.pad(t, (1, 1, 1, 1), mode="replicate"), k2, groups=3)
        img = t[0].permute(1, 2, 0).numpy()
    img = img + rng.normal(0, rng.uniform(0, 14), img.shape).astype(np.float32)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8), boxes


def to_input(images_u8):
    """uint8 [B, H, W, 3] RGB -> float [B, 3, H, W], (p / 255 - 0.5) / 0.5 (decoder.json says so)."""
    x = torch.from_numpy(np.ascontiguousarray(images_u8)).permute(0, 3, 1, 2).float()
    return (x / 255.0 - 0.5) / 0.5


# ---------------------------------------------------------------------------------------------
# The network

class Head(nn.Module):
    """Per cell: 4 box distances (l, t, r, b; exp gives grid cells), objectness, class logits."""

    def __init__(self, channels, width):
        super().__init__()
        self.conv = nn.Conv2d(channels, width, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(width)
        self.pred = nn.Conv2d(width, 4 + 1 + len(CLASSES), 1)
        nn.init.zeros_(self.pred.weight)
        with torch.no_grad():  # start from boxes ~1 cell, few objects, no class preference
            self.pred.bias.zero_()
            self.pred.bias[4] = -4.0
            self.pred.bias[5:] = -2.0

    def forward(self, x):
        return self.pred(F.relu(self.bn(self.conv(x))))


class DPNShapes(nn.Module):
    # (in_planes, out_planes, blocks, dense_depth) per stage, as the seed's cfg, only narrow.
    STAGES = [(32, 32, 1, 8), (48, 64, 2, 16), (64, 96, 2, 16)]
    GROUPS = 8

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 24, 3, stride=2, padding=1, bias=False),
                                  nn.BatchNorm2d(24), nn.ReLU())
        last = 24
        stages, widths = [], []
        for in_planes, out_planes, blocks, dense in self.STAGES:
            layers = []
            for i in range(blocks):
                layers.append(DualPathBottleneck(last, in_planes, out_planes, dense,
                                                 2 if i == 0 else 1, i == 0, self.GROUPS))
                last = out_planes + (i + 2) * dense
            stages.append(nn.Sequential(*layers))
            widths.append(last)
        self.stage1, self.stage2, self.stage3 = stages  # strides 4, 8, 16
        self.head8 = Head(widths[1], 48)
        self.head16 = Head(widths[2], 64)

    def forward(self, x):
        x = self.stem(x)
        x = self.stage1(x)
        f8 = self.stage2(x)
        f16 = self.stage3(f8)
        return self.head8(f8), self.head16(f16)


# ---------------------------------------------------------------------------------------------
# Targets and losses

def cell_centres(stride):
    g = INPUT // stride
    c = (torch.arange(g, dtype=torch.float32) + 0.5) * stride
    cy, cx = torch.meshgrid(c, c, indexing="ij")
    return cx.reshape(-1), cy.reshape(-1)


def assign(boxes_per_image, stride):
    """Per image and cell: positive or not, the class and the target box (x1, y1, x2, y2).
    An object belongs to stride 8 when its longer side is <= 32 px, to stride 16 when >= 24
    (both in between); its positive cells are those whose centre lies inside the box and within
    1.5 strides of the box centre, plus always the cell holding the centre. A cell claimed by two
    objects goes to the smaller."""
    g = INPUT // stride
    cx, cy = cell_centres(stride)
    n = len(boxes_per_image)
    pos = torch.zeros(n, g * g, dtype=torch.bool)
    cls = torch.zeros(n, g * g, dtype=torch.long)
    tgt = torch.zeros(n, g * g, 4)
    area = torch.full((n, g * g), float("inf"))
    for i, boxes in enumerate(boxes_per_image):
        for (x1, y1, x2, y2, c) in boxes:
            side = max(x2 - x1, y2 - y1)
            if (stride == 8 and side > 32) or (stride == 16 and side < 24):
                continue
            bx, by = 0.5 * (x1 + x2), 0.5 * (y1 + y2)
            inside = (cx > x1) & (cx < x2) & (cy > y1) & (cy < y2)
            near = ((cx - bx).abs() <= 1.5 * stride) & ((cy - by).abs() <= 1.5 * stride)
            m = inside & near
            centre_cell = min(int(by // stride), g - 1) * g + min(int(bx // stride), g - 1)
            m[centre_cell] = True
            a = (x2 - x1) * (y2 - y1)
            m &= a < area[i]
            pos[i, m], cls[i, m], area[i, m] = True, c, a
            tgt[i, m] = torch.tensor([x1, y1, x2, y2])
    return pos, cls, tgt


def decode_boxes(pred, stride):
    """pred [B, 9, g, g] -> boxes [B, g*g, 4] (x1, y1, x2, y2 pixels), obj [B, g*g], cls [B, g*g, C]."""
    b = pred.shape[0]
    p = pred.reshape(b, pred.shape[1], -1).permute(0, 2, 1)
    cx, cy = cell_centres(stride)
    d = torch.exp(p[..., :4].clamp(max=6.0)) * stride
    boxes = torch.stack([cx - d[..., 0], cy - d[..., 1], cx + d[..., 2], cy + d[..., 3]], -1)
    return boxes, p[..., 4], p[..., 5:]


def giou_loss(a, b):
    ix1, iy1 = torch.max(a[:, 0], b[:, 0]), torch.max(a[:, 1], b[:, 1])
    ix2, iy2 = torch.min(a[:, 2], b[:, 2]), torch.min(a[:, 3], b[:, 3])
    inter = (ix2 - ix1).clamp(min=0) * (iy2 - iy1).clamp(min=0)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a + area_b - inter
    iou = inter / union.clamp(min=1e-6)
    ex = (torch.max(a[:, 2], b[:, 2]) - torch.min(a[:, 0], b[:, 0])) * \
         (torch.max(a[:, 3], b[:, 3]) - torch.min(a[:, 1], b[:, 1]))
    return 1 - iou + (ex - union) / ex.clamp(min=1e-6), iou


def detection_loss(outputs, boxes_per_image):
    parts = {"obj": 0.0, "cls": 0.0, "box": 0.0}
    n_pos = 0
    for pred, stride in zip(outputs, STRIDES):
        pos, cls_t, tgt = assign(boxes_per_image, stride)
        boxes, obj, cls = decode_boxes(pred, stride)
        n_pos += int(pos.sum())
        obj_t = torch.zeros_like(obj)
        if pos.any():
            gl, iou = giou_loss(boxes[pos], tgt[pos])
            parts["box"] = parts["box"] + gl.sum()
            # Objectness learns how good the box is (IoU-aware), so scores rank boxes for mAP.
            obj_t[pos] = iou.detach().clamp(min=0.0)
            onehot = F.one_hot(cls_t[pos], len(CLASSES)).float()
            parts["cls"] = parts["cls"] + F.binary_cross_entropy_with_logits(cls[pos], onehot, reduction="sum")
        parts["obj"] = parts["obj"] + F.binary_cross_entropy_with_logits(obj, obj_t, reduction="sum")
    n = max(1, n_pos)
    parts = {k: v / n for k, v in parts.items()}
    total = parts["obj"] + parts["cls"] + 2.0 * parts["box"]
    return total, {k: float(v) for k, v in parts.items()}


# ---------------------------------------------------------------------------------------------
# Decoding, NMS and mAP (the same definitions as src/vision: greedy class-aware NMS, VOC-style
# all-point interpolated AP per class, mean over classes)

def detect(model, images_u8):
    with torch.no_grad():
        outputs = model(to_input(images_u8))
    results = []
    for i in range(images_u8.shape[0]):
        cand = []
        for pred, stride in zip(outputs, STRIDES):
            boxes, obj, cls = decode_boxes(pred[i:i + 1], stride)
            score = torch.sigmoid(obj[0])[:, None] * torch.sigmoid(cls[0])
            for cell, c in zip(*torch.nonzero(score >= EVAL_SCORE_THRESHOLD, as_tuple=True)):
                cand.append((float(score[cell, c]), int(c), boxes[0, cell].tolist()))
        cand.sort(key=lambda t: -t[0])
        kept = []
        for s, c, b in cand:
            if all(k[1] != c or _box_iou(k[2], b) <= EVAL_IOU_THRESHOLD for k in kept):
                kept.append((s, c, b))
                if len(kept) == EVAL_TOP_K:
                    break
        results.append(kept)
    return results


def mean_average_precision(detections, ground_truth):
    aps = []
    for c in range(len(CLASSES)):
        dets = [(s, i, b) for i, ds in enumerate(detections) for (s, cc, b) in ds if cc == c]
        dets.sort(key=lambda t: -t[0])
        gts = {i: [g[:4] for g in gt if g[4] == c] for i, gt in enumerate(ground_truth)}
        n_gt = sum(len(v) for v in gts.values())
        if n_gt == 0:
            continue
        used = {i: [False] * len(v) for i, v in gts.items()}
        tp = []
        for s, i, b in dets:
            best, best_j = 0.0, -1
            for j, g in enumerate(gts[i]):
                o = _box_iou(b, g)
                if o > best:
                    best, best_j = o, j
            if best >= MAP_IOU and not used[i][best_j]:
                used[i][best_j] = True
                tp.append(1)
            else:
                tp.append(0)
        tp = np.array(tp, np.float64)
        ctp = np.cumsum(tp)
        recall = ctp / n_gt
        precision = ctp / np.arange(1, len(tp) + 1)
        # All-point interpolation: precision made monotone from the right, summed over recall steps.
        mrec = np.concatenate([[0.0], recall, [1.0]])
        mpre = np.concatenate([[0.0], precision, [0.0]])
        for k in range(len(mpre) - 2, -1, -1):
            mpre[k] = max(mpre[k], mpre[k + 1])
        idx = np.nonzero(mrec[1:] != mrec[:-1])[0]
        aps.append(float(np.sum((mrec[idx + 1] - mrec[idx]) * mpre[idx + 1])))
    return float(np.mean(aps)), aps


# ---------------------------------------------------------------------------------------------
# Files

def write_heldout(out_dir):
    from PIL import Image
    rng = np.random.default_rng(HELDOUT_SEED)
    d = os.path.join(out_dir, "heldout")
    os.makedirs(d, exist_ok=True)
    entries = []
    for k in range(HELDOUT_COUNT):
        img, boxes = draw_frame(rng)
        name = f"{k:03d}.png"
        Image.fromarray(img).save(os.path.join(d, name))
        entries.append({"file": name, "boxes": [
            {"x": b[0], "y": b[1], "w": b[2] - b[0], "h": b[3] - b[1], "class_id": b[4],
             "class_name": CLASSES[b[4]]} for b in boxes]})
    gt = {"about": "dpn-shapes held-out frames (tools/dpn_shapes.py, seed %d); boxes in pixels, "
                   "x, y top-left, pixel i covering [i, i + 1)" % HELDOUT_SEED,
          "classes": CLASSES, "images": entries}
    with open(os.path.join(d, "ground_truth.json"), "w") as f:
        json.dump(gt, f, indent=1)
    return gt


def load_heldout(out_dir):
    from PIL import Image
    d = os.path.join(out_dir, "heldout")
    with open(os.path.join(d, "ground_truth.json")) as f:
        gt = json.load(f)
    images = np.stack([np.array(Image.open(os.path.join(d, e["file"])).convert("RGB")) for e in gt["images"]])
    truth = [[(b["x"], b["y"], b["x"] + b["w"], b["y"] + b["h"], b["class_id"]) for b in e["boxes"]]
             for e in gt["images"]]
    return images, truth


def evaluate(model, images, truth):
    model.eval()
    dets = []
    for k in range(0, len(images), 16):
        dets += detect(model, images[k:k + 16])
    return mean_average_precision(dets, truth)


def decoder_config():
    return {
        "about": "dpn-shapes: narrow DPN with an anchor-free head (tools/dpn_shapes.py)",
        "input": {"name": "image", "width": INPUT, "height": INPUT, "order": "rgb", "fit": "letterbox",
                  "pad": 114, "mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5], "scale": "unit"},
        "outputs": [{"name": n, "stride": s} for n, s in zip(OUTPUT_NAMES, STRIDES)],
        "layout": "nchw",
        "box": {"format": "ltrb", "units": "grid", "activation": "exp"},
        "objectness": True,
        "score_activation": "sigmoid",
        "classes": CLASSES,
        "score_threshold": 0.3,
        "iou_threshold": EVAL_IOU_THRESHOLD,
        "class_aware": True,
        "top_k": EVAL_TOP_K,
    }


def export_onnx(model, path):
    model.eval()
    dummy = torch.zeros(1, 3, INPUT, INPUT)
    tmp = path + ".tmp"
    torch.onnx.export(model, dummy, tmp, opset_version=13, input_names=["image"],
                      output_names=OUTPUT_NAMES, training=torch.onnx.TrainingMode.PRESERVE,
                      do_constant_folding=False)
    import onnx
    m = onnx.load(tmp)
    n_bn = sum(1 for n in m.graph.node if n.op_type == "BatchNormalization")
    n_conv = sum(1 for n in m.graph.node if n.op_type == "Conv")
    if n_bn == 0:
        raise SystemExit("export folded the BatchNorms; fusescope needs them unfused")
    os.replace(tmp, path)
    return n_conv, n_bn


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--steps", type=int, default=3600)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--eval-every", type=int, default=400)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(TRAIN_SEED)
    os.makedirs(args.out, exist_ok=True)
    onnx_path = os.path.join(args.out, "dpn-shapes.onnx")

    write_heldout(args.out)
    images, truth = load_heldout(args.out)
    model = DPNShapes()
    n_params = sum(p.numel() for p in model.parameters())

    with open(os.path.join(args.out, "classes.txt"), "w") as f:
        f.write("\n".join(CLASSES) + "\n")
    with open(os.path.join(args.out, "decoder.json"), "w") as f:
        json.dump(decoder_config(), f, indent=2)
        f.write("\n")

    rng = np.random.default_rng(TRAIN_SEED)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=args.steps, pct_start=0.1)
    curve, evals = [], []
    start = time.time()
    window = []
    for step in range(1, args.steps + 1):
        model.train()
        frames = [draw_frame(rng) for _ in range(args.batch)]
        x = to_input(np.stack([f[0] for f in frames]))
        loss, parts = detection_loss(model(x), [f[1] for f in frames])
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        window.append((float(loss), parts))
        if step % 50 == 0 or step == args.steps:
            mean = float(np.mean([w[0] for w in window]))
            mparts = {k: round(float(np.mean([w[1][k] for w in window])), 4) for k in window[0][1]}
            curve.append({"step": step, "loss": round(mean, 4), **mparts, "seconds": round(time.time() - start, 1)})
            print(f"step {step:5d}  loss {mean:.4f}  {mparts}  {time.time() - start:.0f}s", flush=True)
            window = []
        if step % args.eval_every == 0 and step != args.steps:
            m, _ = evaluate(model, images, truth)
            evals.append({"step": step, "map50": round(m, 4)})
            print(f"step {step:5d}  held-out mAP@0.5 {m:.4f}", flush=True)

    train_seconds = time.time() - start
    final_map, per_class = evaluate(model, images, truth)
    print(f"final held-out mAP@0.5 {final_map:.4f}  per class {per_class}", flush=True)
    n_conv, n_bn = export_onnx(model, onnx_path)

    log = {
        "model": "dpn-shapes", "script": "tools/dpn_shapes.py",
        "parameters": n_params, "input": [1, 3, INPUT, INPUT], "classes": CLASSES,
        "onnx": {"file": "dpn-shapes.onnx", "opset": 13, "conv_nodes": n_conv, "batchnorm_nodes": n_bn},
        "training": {"seed": TRAIN_SEED, "steps": args.steps, "batch": args.batch, "optimizer": "AdamW",
                     "max_lr": 3e-3, "schedule": "one-cycle", "threads": args.threads,
                     "wall_seconds": round(train_seconds, 1)},
        "heldout": {"seed": HELDOUT_SEED, "images": HELDOUT_COUNT, "folder": "heldout",
                    "boxes": sum(len(t) for t in truth)},
        "evaluation": {"score_threshold": EVAL_SCORE_THRESHOLD, "nms_iou_threshold": EVAL_IOU_THRESHOLD,
                       "class_aware": True, "top_k": EVAL_TOP_K, "match_iou": MAP_IOU,
                       "ap": "VOC all-point interpolation, mean over classes"},
        "heldout_map50": round(final_map, 4),
        "heldout_ap50_per_class": {c: round(a, 4) for c, a in zip(CLASSES, per_class)},
        "heldout_map50_during_training": evals,
        "loss_curve": curve,
    }
    with open(os.path.join(args.out, "training_log.json"), "w") as f:
        json.dump(log, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
