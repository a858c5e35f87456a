#!/usr/bin/env python3
"""Writes the fixtures of Tests/COCOEvaluationTests: what pycocotools' COCOeval says about
prediction sets made on ../shared/data/coco-dev, and what pycocotools.mask says about edge cases.

Files in Tests/COCOEvaluationTests/Fixtures:
- sets/<name>.json: COCO results files (what vlsam-eval and COCO.loadRes read), made from the
  ground truth of coco-dev with a seeded generator:
  - perturbed: every non-crowd annotation, some dropped, the others as a detection whose mask is
    dilated, eroded, shifted or kept and whose box is jittered; some duplicated; some with another
    category; some empty masks; detections inside the crowd regions; false detections of every
    size (small, medium, large); uniform random scores. Every entry has a bbox, so loadRes takes
    its bbox branch (area = bbox w*h even for segm).
  - ties_maxdets: the perturbed set on the first 50 images with scores rounded to one decimal (many ties), plus images
    with more than 100 detections of one category; no bbox fields, so loadRes takes its
    segmentation branch (area = mask area, bbox = toBbox).
  - exact: the ground truth of every third image itself (annToRLE masks and the annotation
    boxes), all scored 1.
  - sparse: a few categories on every other image, including categories absent from an image.
  - boxes: boxes only (no segmentation) on every other image, fractional, degenerate and partly
    outside the image; evaluated as bbox only.
- expected.json: for every set and iou type, COCOeval's 12 stats and the same 12 figures per
  category (the summarize() formula applied to one category's slice of the accumulated
  precision/recall arrays), pycocotools' IoU and recall thresholds, and counts; every float as
  a hex string (exact whatever JSON reader the test uses).
- ground_truth_rle.json: pycocotools' compressed RLE (COCO.annToRLE) of every annotation of
  coco-dev, by annotation id.
- masks.json (every float as a hex string, e.g. "0x1.8p+1"): pycocotools.mask on edge cases: polygons (degenerate, on and beyond the border,
  tiny, half-integer and negative coordinates, repeated vertices, several parts, random ones)
  with frPyObjects + merge, including the inputs it rejects; uncompressed RLE (frPyObjects, area,
  toBbox, with empty runs); unions of RLEs (merge); mask IoU and box IoU matrices with crowd
  flags and a size mismatch (iou).

pycocotools is used only here. Setup: pip install pycocotools numpy (made with the versions
recorded in expected.json). Run from anywhere: python3 scripts/make_coco_eval_fixtures.py
[path/to/instances.json] (default: $VLSAM_SHARED/data/coco-dev/instances.json, else ../shared
next to the checkout). The output is deterministic (numpy's PCG64 with fixed seeds, JSON with a
fixed key order).
"""
import contextlib
import copy
import io
import json
import os
import sys
from pathlib import Path

import numpy as np
from importlib.metadata import version
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "Tests" / "COCOEvaluationTests" / "Fixtures"
SHARED = Path(os.environ.get("VLSAM_SHARED", ROOT.parent / "shared"))
ANNOTATIONS = SHARED / "data" / "coco-dev" / "instances.json"
SEED = 20261205
STAT_NAMES = ["AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl"]


def quiet(function, *args):
    """pycocotools prints progress; keep the script's output to its own lines."""
    with contextlib.redirect_stdout(io.StringIO()):
        return function(*args)


def text(rle):
    counts = rle["counts"]
    return counts.decode("ascii") if isinstance(counts, bytes) else counts


def encode(mask):
    return mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))


# ---------------------------------------------------------------- prediction sets

def grow(mask, steps):
    """Dilation (steps > 0) or erosion (steps < 0) with a 3x3 square, |steps| times."""
    result = mask.astype(bool)
    for _ in range(abs(steps)):
        source = result if steps > 0 else ~result
        padded = np.pad(source, 1)
        grown = np.zeros_like(source)
        for dy in (0, 1, 2):
            for dx in (0, 1, 2):
                grown |= padded[dy:dy + source.shape[0], dx:dx + source.shape[1]]
        result = grown if steps > 0 else ~grown
    return result


def shift(mask, dx, dy):
    result = np.zeros_like(mask)
    h, w = mask.shape
    ys, xs = slice(max(dy, 0), min(h + dy, h)), slice(max(dx, 0), min(w + dx, w))
    yt, xt = slice(max(-dy, 0), min(h - dy, h)), slice(max(-dx, 0), min(w - dx, w))
    result[ys, xs] = mask[yt, xt]
    return result


def jitter_box(rng, box, spread):
    x, y, w, h = box
    w2 = max(w * (1 + rng.normal(0, spread)), 0.5)
    h2 = max(h * (1 + rng.normal(0, spread)), 0.5)
    return [round(float(x + rng.normal(0, spread) * w), 2), round(float(y + rng.normal(0, spread) * h), 2),
            round(float(w2), 2), round(float(h2), 2)]


def detection(image_id, category_id, score, mask=None, box=None):
    entry = {"image_id": image_id, "category_id": category_id}
    if mask is not None:
        rle = encode(mask)
        entry["segmentation"] = {"size": [int(mask.shape[0]), int(mask.shape[1])], "counts": text(rle)}
        if box is None:
            box = [float(v) for v in mask_utils.toBbox(rle)]
    if box is not None:
        entry["bbox"] = box
    entry["score"] = score
    return entry


def false_detection(rng, image, category_id):
    """A rectangle or ellipse somewhere in the image, small, medium or large."""
    h, w = image["height"], image["width"]
    side = float(np.exp(rng.uniform(np.log(4), np.log(min(h, w) * 0.9))))
    bw, bh = side * rng.uniform(0.6, 1.6), side * rng.uniform(0.6, 1.6)
    x0, y0 = rng.uniform(-0.1 * w, w - bw * 0.5), rng.uniform(-0.1 * h, h - bh * 0.5)
    yy, xx = np.mgrid[0:h, 0:w]
    if rng.random() < 0.5:
        mask = (xx >= x0) & (xx < x0 + bw) & (yy >= y0) & (yy < y0 + bh)
    else:
        mask = ((xx - x0 - bw / 2) / (bw / 2)) ** 2 + ((yy - y0 - bh / 2) / (bh / 2)) ** 2 <= 1
    return detection(image["id"], category_id, round(float(rng.random()), 6), mask.astype(np.uint8))


def perturbed_set(coco, rng):
    results = []
    category_ids = sorted(coco.getCatIds())
    for image_id in sorted(coco.getImgIds()):
        image = coco.imgs[image_id]
        annotations = coco.imgToAnns[image_id]
        for annotation in annotations:
            mask = coco.annToMask(annotation)
            if annotation["iscrowd"]:
                # Detections inside the crowd region: they match it and are ignored.
                for _ in range(2):
                    x, y, w, h = annotation["bbox"]
                    part = np.zeros_like(mask)
                    x0, y0 = int(x + rng.uniform(0, 0.5) * w), int(y + rng.uniform(0, 0.5) * h)
                    part[y0:y0 + max(int(h * 0.4), 1), x0:x0 + max(int(w * 0.4), 1)] = 1
                    results.append(detection(image_id, annotation["category_id"], round(float(rng.random()), 6),
                                             part & mask, jitter_box(rng, annotation["bbox"], 0.2)))
                continue
            if rng.random() < 0.12:
                continue
            copies = 2 if rng.random() < 0.1 else 1
            for _ in range(copies):
                kind = rng.integers(0, 6)
                if kind == 0:
                    changed = grow(mask, 1)
                elif kind == 1:
                    changed = grow(mask, 2)
                elif kind == 2:
                    changed = grow(mask, -1)
                elif kind == 3:
                    changed = shift(mask, int(rng.integers(-6, 7)), int(rng.integers(-6, 7)))
                elif kind == 4:
                    changed = mask.copy()
                else:
                    changed = grow(shift(mask, int(rng.integers(-3, 4)), 0), -2)
                category_id = annotation["category_id"]
                if rng.random() < 0.05:
                    category_id = int(rng.choice(category_ids))
                box = list(annotation["bbox"]) if rng.random() < 0.2 else jitter_box(rng, annotation["bbox"], 0.08)
                results.append(detection(image_id, category_id, round(float(rng.random()), 6), changed.astype(np.uint8), box))
        present = sorted({a["category_id"] for a in annotations}) or category_ids
        for _ in range(int(rng.poisson(2))):
            category_id = int(rng.choice(present)) if rng.random() < 0.6 else int(rng.choice(category_ids))
            results.append(false_detection(rng, image, category_id))
    # A few empty masks (area 0, box [0, 0, 0, 0]).
    for index in rng.choice(len(results), 4, replace=False):
        entry = results[int(index)]
        h, w = entry["segmentation"]["size"]
        results.append(detection(entry["image_id"], entry["category_id"], round(float(rng.random()), 6),
                                 np.zeros((h, w), np.uint8), [0.0, 0.0, 0.0, 0.0]))
    return results


def ties_maxdets_set(coco, perturbed, rng):
    results = []
    image_ids = set(sorted(coco.getImgIds())[:50])
    for entry in (e for e in perturbed if e["image_id"] in image_ids):
        entry = copy.deepcopy(entry)
        del entry["bbox"]
        entry["score"] = round(entry["score"], 1)
        results.append(entry)
    # More than 100 detections of one category in a few images.
    for image_id in sorted(coco.getImgIds())[5:8]:
        image = coco.imgs[image_id]
        annotations = [a for a in coco.imgToAnns[image_id] if not a["iscrowd"]]
        category_id = annotations[0]["category_id"] if annotations else 1
        for _ in range(120):
            entry = false_detection(rng, image, category_id)
            del entry["bbox"]
            entry["score"] = round(float(rng.random()), 1)
            results.append(entry)
        for annotation in annotations[:3]:
            if annotation["category_id"] == category_id:
                results.append(detection(image_id, category_id, 0.5, coco.annToMask(annotation)))
                del results[-1]["bbox"]
    return results


def exact_set(coco):
    results = []
    for image_id in sorted(coco.getImgIds())[::3]:
        for annotation in coco.imgToAnns[image_id]:
            if annotation["iscrowd"]:
                continue
            rle = coco.annToRLE(annotation)
            results.append({"image_id": image_id, "category_id": annotation["category_id"],
                            "segmentation": {"size": rle["size"], "counts": text(rle)},
                            "bbox": list(annotation["bbox"]), "score": 1.0})
    return results


def sparse_set(coco, perturbed):
    chosen = {1, 3, 18, 44, 62, 67, 72, 85}
    image_ids = set(sorted(coco.getImgIds())[::2])
    results = [copy.deepcopy(e) for e in perturbed if e["category_id"] in chosen and e["image_id"] in image_ids]
    # Categories an image does not have.
    for entry in results[:12]:
        moved = copy.deepcopy(entry)
        moved["category_id"] = 90 if entry["category_id"] != 90 else 1
        results.append(moved)
    return results


def boxes_set(coco, rng):
    results = []
    for image_id in sorted(coco.getImgIds())[::2]:
        image = coco.imgs[image_id]
        for annotation in coco.imgToAnns[image_id]:
            if rng.random() < 0.15:
                continue
            box = jitter_box(rng, annotation["bbox"], 0.1)
            results.append({"image_id": image_id, "category_id": annotation["category_id"], "bbox": box,
                            "score": round(float(rng.random()), 4)})
        w, h = image["width"], image["height"]
        for box in ([0, 0, w, h], [w - 10, h - 10, 30, 30], [-20, -20, 25, 25], [5, 5, 0, 10], [7, 7, 10, 0],
                    [0.25, 0.75, 31.5, 32.5]):
            results.append({"image_id": image_id, "category_id": int(rng.choice(sorted(coco.getCatIds()))),
                            "bbox": [float(v) for v in box], "score": round(float(rng.random()), 4)})
    return results


def evaluate(coco, results, iou_type):
    detections = quiet(coco.loadRes, copy.deepcopy(results))
    evaluator = COCOeval(coco, detections, iou_type)
    quiet(evaluator.evaluate)
    quiet(evaluator.accumulate)
    quiet(evaluator.summarize)
    precision, recall = evaluator.eval["precision"], evaluator.eval["recall"]
    params = evaluator.params

    def figure(k, ap, iou, area, max_dets):
        """summarize()'s _summarize on category slice k."""
        a = params.areaRngLbl.index(area)
        m = params.maxDets.index(max_dets)
        s = precision[:, :, k, a, m] if ap else recall[:, k, a, m]
        if iou is not None:
            s = s[np.where(iou == params.iouThrs)[0]]
        return float(np.mean(s[s > -1])) if len(s[s > -1]) else -1.0

    specs = [(1, None, "all", 100), (1, .5, "all", 100), (1, .75, "all", 100), (1, None, "small", 100),
             (1, None, "medium", 100), (1, None, "large", 100), (0, None, "all", 1), (0, None, "all", 10),
             (0, None, "all", 100), (0, None, "small", 100), (0, None, "medium", 100), (0, None, "large", 100)]
    per_category = {}
    for k, category_id in enumerate(params.catIds):
        per_category[str(category_id)] = [figure(k, *spec) for spec in specs]
    return {
        "stats": dict(zip(STAT_NAMES, (float(v).hex() for v in evaluator.stats))),
        "per_category": {k: hexed(v) for k, v in per_category.items()},
        "detections": len(results),
    }


# ---------------------------------------------------------------- pycocotools.mask edge cases

def polygon_cases(rng):
    cases = [
        ("triangle", 10, 12, [[1, 1, 8, 2, 4, 7]]),
        ("image_border", 10, 12, [[0, 0, 12, 0, 12, 10, 0, 10]]),
        ("beyond_border", 10, 12, [[-3, -2, 15, -1, 14, 13, -2, 12]]),
        ("outside_left", 10, 12, [[-9, 1, -2, 1, -3, 8]]),
        ("outside_right", 10, 12, [[13, 1, 20, 1, 18, 8]]),
        ("outside_below", 10, 12, [[1, 11, 8, 12, 4, 17]]),
        ("outside_above", 10, 12, [[1, -11, 8, -12, 4, -1]]),
        ("right_edge_column", 10, 12, [[11, 0, 12, 0, 12, 10, 11, 10]]),
        ("last_pixel_centre", 10, 12, [[10.5, 8.5, 11.5, 8.5, 11.5, 9.5, 10.5, 9.5]]),
        ("same_point", 10, 12, [[3, 3, 3, 3, 3, 3]]),
        ("collinear", 10, 12, [[1, 1, 5, 5, 9, 9]]),
        ("horizontal_line", 10, 12, [[1, 4, 10, 4, 5, 4]]),
        ("vertical_line", 10, 12, [[4, 1, 4, 9, 4, 5]]),
        ("tiny_inside_pixel", 10, 12, [[3.1, 3.1, 3.3, 3.1, 3.2, 3.3]]),
        ("tiny_over_centre", 10, 12, [[3.4, 3.4, 3.6, 3.4, 3.5, 3.6]]),
        ("tiny_over_column_centre", 10, 12, [[2.95, 4.0, 3.05, 4.0, 3.0, 4.6]]),
        ("half_integers", 10, 12, [[2.5, 1.5, 8.5, 2.5, 6.5, 8.5, 1.5, 6.5]]),
        ("tenths", 20, 20, [[0.3, 0.7, 10.1, 0.2, 19.9, 9.6, 10.3, 19.7, 0.1, 10.9]]),
        ("negative_fractions", 10, 12, [[-0.3, -0.7, 6.2, -0.2, 5.6, 6.9, -0.8, 5.3]]),
        ("steep_negative", 10, 12, [[-0.9, -5.3, -0.1, 9.8, 3.3, 2.2]]),
        ("repeated_vertices", 10, 12, [[1, 1, 1, 1, 8, 2, 8, 2, 8, 2, 4, 7, 4, 7]]),
        ("closing_vertex_repeated", 10, 12, [[1, 1, 8, 2, 4, 7, 1, 1]]),
        ("bowtie", 12, 12, [[1, 1, 10, 10, 10, 1, 1, 10]]),
        ("two_parts_overlapping", 12, 14, [[1, 1, 8, 1, 8, 8, 1, 8], [5, 5, 12, 5, 12, 11, 5, 11]]),
        ("two_parts_disjoint", 12, 14, [[1, 1, 4, 1, 4, 4], [7, 7, 12, 7, 12, 11, 7, 11]]),
        ("three_parts_nested", 16, 16, [[1, 1, 15, 1, 15, 15, 1, 15], [4, 4, 12, 4, 12, 12, 4, 12], [2, 2, 3, 2, 3, 3]]),
        ("later_part_two_coordinates", 10, 12, [[1, 1, 5, 1, 5, 5], [3, 3]]),
        ("later_part_empty", 10, 12, [[1, 1, 5, 1, 5, 5], []]),
        ("later_part_four_coordinates", 10, 12, [[1, 1, 5, 1, 5, 5], [6, 6, 9, 9]]),
        ("odd_length", 10, 12, [[1, 1, 5, 1, 5, 5, 7]]),
        ("one_by_one_image", 1, 1, [[0, 0, 1, 0, 1, 1, 0, 1]]),
        ("one_by_one_image_outside", 1, 1, [[2, 2, 3, 2, 3, 3]]),
        ("single_row_image", 1, 30, [[2, -1, 25, -1, 25, 2, 2, 2]]),
        ("single_column_image", 30, 1, [[-1, 2, 2, 2, 2, 25, -1, 25]]),
        ("integer_ints", 10, 12, [[1, 2, 9, 2, 9, 8]]),
        ("large", 480, 640, [[10.5, 20.25, 600.75, 35.0, 630.0, 470.5, 320.0, 300.0, 15.0, 460.0]]),
        ("first_polygon_four_coordinates", 10, 12, [[1, 1, 5, 5]]),
        ("first_polygon_two_coordinates", 10, 12, [[1, 1]]),
        ("no_polygons", 10, 12, []),
    ]
    for index in range(40):
        h, w = int(rng.integers(1, 60)), int(rng.integers(1, 60))
        vertices = int(rng.integers(3, 25))
        cx, cy = rng.uniform(-0.2 * w, 1.2 * w), rng.uniform(-0.2 * h, 1.2 * h)
        radius = float(np.exp(rng.uniform(np.log(0.2), np.log(max(h, w)))))
        angles = np.sort(rng.uniform(0, 2 * np.pi, vertices))
        radii = radius * rng.uniform(0.3, 1.0, vertices)
        polygon = np.stack([cx + radii * np.cos(angles), cy + radii * np.sin(angles)], 1).reshape(-1)
        digits = int(rng.integers(0, 4))
        cases.append((f"random_{index:02d}", h, w, [[round(float(v), digits) for v in polygon]]))
    records = []
    for name, h, w, polygons in cases:
        record = {"name": name, "height": h, "width": w, "polygons": [[hexed(v) for v in p] for p in polygons]}
        try:
            rle = mask_utils.merge(mask_utils.frPyObjects(polygons, h, w))
            record["counts"] = text(rle)
        except Exception as error:  # pycocotools rejects it: so must vlsam
            record["error"] = f"{type(error).__name__}: {error}"
        records.append(record)
    return records


def uncompressed_cases():
    cases = [
        ("plain", 10, 12, [5, 10, 105]),
        ("starts_with_foreground", 10, 12, [0, 7, 13, 100]),
        ("empty_foreground_runs", 10, 12, [3, 0, 5, 2, 0, 0, 110]),
        ("only_empty_foreground", 10, 12, [30, 0, 90]),
        ("wraps_columns", 10, 12, [8, 5, 107]),
        ("all_foreground", 4, 5, [0, 20]),
    ]
    records = []
    for name, h, w, counts in cases:
        rle = mask_utils.frPyObjects({"size": [h, w], "counts": counts}, h, w)
        records.append({"name": name, "height": h, "width": w, "uncompressed": counts, "counts": text(rle),
                        "area": int(mask_utils.area(rle)), "bbox": [float(v) for v in mask_utils.toBbox(rle)]})
    return records


def random_masks(rng, count, h, w):
    masks = []
    yy, xx = np.mgrid[0:h, 0:w]
    for _ in range(count):
        mask = np.zeros((h, w), bool)
        for _ in range(int(rng.integers(0, 4))):
            x0, y0 = rng.uniform(-5, w), rng.uniform(-5, h)
            bw, bh = rng.uniform(1, max(w * 0.7, 1.5)), rng.uniform(1, max(h * 0.7, 1.5))
            if rng.random() < 0.5:
                mask |= (xx >= x0) & (xx < x0 + bw) & (yy >= y0) & (yy < y0 + bh)
            else:
                mask |= ((xx - x0) / bw) ** 2 + ((yy - y0) / bh) ** 2 <= 1
        masks.append(mask.astype(np.uint8))
    return masks


def union_cases(rng):
    records = []
    for index in range(12):
        h, w = int(rng.integers(1, 25)), int(rng.integers(1, 25))
        masks = random_masks(rng, int(rng.integers(1, 5)), h, w)
        rles = [encode(m) for m in masks]
        records.append({"name": f"union_{index:02d}", "height": h, "width": w, "masks": [text(r) for r in rles],
                        "union": text(mask_utils.merge(rles))})
    return records


def iou_cases(rng):
    h, w = 24, 36
    detections = random_masks(rng, 9, h, w) + [np.zeros((h, w), np.uint8)]
    truths = random_masks(rng, 6, h, w)
    crowd = [0, 1, 0, 0, 1, 0]
    dt = [encode(m) for m in detections]
    # A detection of another size: -1 where its box overlaps a ground-truth box.
    dt.append(encode(np.ones((h + 1, w), np.uint8)))
    gt = [encode(m) for m in truths]
    mask_iou = np.asarray(mask_utils.iou(dt, gt, crowd))
    dt_boxes = [[float(v) for v in rng.uniform(-5, 30, 2)] + [float(v) for v in rng.uniform(0, 20, 2)] for _ in range(10)]
    dt_boxes += [[2, 3, 10, 5], [12, 3, 4, 5], [0, 0, 0, 7], [3.5, 2.25, 10.5, 5.75]]
    gt_boxes = [[2, 3, 10, 5], [5.5, 1, 6, 9], [20, 20, 8, 8], [0, 0, 36, 24]]
    box_crowd = [0, 0, 1, 1]
    box_iou = np.asarray(mask_utils.iou(dt_boxes, gt_boxes, box_crowd))
    return {
        "mask": {"height": h, "width": w, "detections": [{"size": r["size"], "counts": text(r)} for r in dt],
                 "ground_truth": [text(r) for r in gt], "crowd": crowd, "iou": hexed(mask_iou)},
        "box": {"detections": hexed(dt_boxes), "ground_truth": hexed(gt_boxes), "crowd": box_crowd, "iou": hexed(box_iou)},
    }


def hexed(values):
    """Floats as hex strings (nested lists kept): exact whatever JSON reader the test uses."""
    if isinstance(values, (list, tuple, np.ndarray)):
        return [hexed(v) for v in values]
    return float(values).hex()


def write_json(path, document, indent=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    separators = (",", ":") if indent is None else (",", ": ")
    path.write_text(json.dumps(document, indent=indent, separators=separators, ensure_ascii=True) + "\n", encoding="ascii")


def main():
    annotations = Path(sys.argv[1]) if len(sys.argv) > 1 else ANNOTATIONS
    if not annotations.exists():
        sys.exit(f"{annotations}: COCO annotations not found (pass the path of instances.json or set VLSAM_SHARED)")
    coco = quiet(COCO, str(annotations))
    rng = np.random.default_rng(SEED)

    perturbed = perturbed_set(coco, rng)
    sets = {
        "perturbed": (perturbed, ["segm", "bbox"]),
        "ties_maxdets": (ties_maxdets_set(coco, perturbed, rng), ["segm", "bbox"]),
        "exact": (exact_set(coco), ["segm", "bbox"]),
        "sparse": (sparse_set(coco, perturbed), ["segm", "bbox"]),
        "boxes": (boxes_set(coco, rng), ["bbox"]),
    }
    sets_dir = OUT / "sets"
    sets_dir.mkdir(parents=True, exist_ok=True)
    for stale in sets_dir.iterdir():
        if stale.stem not in sets:
            stale.unlink()
    evaluations = {}
    for name, (results, iou_types) in sets.items():
        # One detection per line: small diffs when the generator changes.
        lines = ",\n".join(json.dumps(entry, separators=(",", ":")) for entry in results)
        (sets_dir / f"{name}.json").write_text("[\n" + lines + "\n]\n", encoding="ascii")
        evaluations[name] = {iou_type: evaluate(coco, results, iou_type) for iou_type in iou_types}

    params = COCOeval(coco, None, "segm").params
    write_json(OUT / "expected.json", {
        "generator": "scripts/make_coco_eval_fixtures.py",
        "versions": {"pycocotools": version("pycocotools"), "numpy": np.__version__, "python": sys.version.split()[0]},
        "seed": SEED,
        "stat_names": STAT_NAMES,
        "iou_thresholds": [float(v).hex() for v in params.iouThrs],
        "recall_thresholds": [float(v).hex() for v in params.recThrs],
        "sets": evaluations,
    })

    ground_truth = {}
    for annotation in sorted(coco.dataset["annotations"], key=lambda a: a["id"]):
        ground_truth[str(annotation["id"])] = text(coco.annToRLE(annotation))
    write_json(OUT / "ground_truth_rle.json", ground_truth)

    rng_masks = np.random.default_rng(SEED + 1)
    write_json(OUT / "masks.json", {
        "polygons": polygon_cases(rng_masks),
        "uncompressed": uncompressed_cases(),
        "unions": union_cases(rng_masks),
        "iou": iou_cases(rng_masks),
    })
    total = sum(f.stat().st_size for f in OUT.rglob("*") if f.is_file())
    print(f"{sum(len(r) for r, _ in sets.values())} detections in {len(sets)} sets, "
          f"{len(ground_truth)} ground-truth RLEs; {total} bytes in {OUT.relative_to(ROOT)}")
    for name, by_type in evaluations.items():
        for iou_type, evaluation in by_type.items():
            stats = {k: float.fromhex(v) for k, v in evaluation["stats"].items()}
            print(f"  {name:13s} {iou_type:4s} AP {stats['AP']:.4f}  AP50 {stats['AP50']:.4f}")


if __name__ == "__main__":
    main()
