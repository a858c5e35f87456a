#!/usr/bin/env python3
"""Writes a synthetic evaluation set the size of COCO val2017 for `make bench-eval`.

From ../shared/data/coco-dev (160 photos, 1,444 instances) it makes, by repetition and
perturbation:
- instances.json: 5,000 images; image i repeats coco-dev photo i mod 160 (same size) and keeps each
  of its non-crowd annotations with probability 0.8 (crowd regions always), every polygon vertex
  jittered by up to 1.5 pixels. That gives about 36,000 ground-truth instances, as val2017 has
  (36,781).
- detections.json: 100 detections per image, each with a compressed-RLE segmentation, its box and
  a random score. They are drawn from a pool made once per coco-dev photo: every ground-truth mask
  shifted, dilated and eroded by a few pixels, the same masks under a wrong category, and false
  detections (ellipses at random places). Two repetitions of a photo draw different subsets, so no
  two images are evaluated alike.

The masks are encoded with pycocotools (this is a data generator, not the product). The output is
deterministic for a given seed. Usage:
    python3 scripts/make_eval_bench_set.py OUT_DIR [--images 5000] [--per-image 100] [--seed 0]
"""
import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np
from pycocotools import mask as mask_utils

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("VLSAM_SHARED", ROOT.parent / "shared"))
POOL_PER_OBJECT = 12
FALSE_PER_PHOTO = 100


def annotation_mask(annotation, height, width):
    segmentation = annotation["segmentation"]
    if isinstance(segmentation, list):
        rles = mask_utils.frPyObjects(segmentation, height, width)
        rle = mask_utils.merge(rles)
    elif isinstance(segmentation["counts"], list):
        rle = mask_utils.frPyObjects(segmentation, height, width)
    else:
        rle = segmentation
    return mask_utils.decode(rle).astype(bool)


def shifted(mask, dy, dx):
    out = np.zeros_like(mask)
    height, width = mask.shape
    source = mask[max(0, -dy):height - max(0, dy), max(0, -dx):width - max(0, dx)]
    out[max(0, dy):max(0, dy) + source.shape[0], max(0, dx):max(0, dx) + source.shape[1]] = source
    return out


def grown(mask, steps):
    """Dilates (steps > 0) or erodes (steps < 0) with a 3x3 cross, |steps| times."""
    out = mask
    for _ in range(abs(steps)):
        neighbours = [shifted(out, 1, 0), shifted(out, -1, 0), shifted(out, 0, 1), shifted(out, 0, -1)]
        if steps > 0:
            out = out | neighbours[0] | neighbours[1] | neighbours[2] | neighbours[3]
        else:
            out = out & neighbours[0] & neighbours[1] & neighbours[2] & neighbours[3]
    return out


def ellipse(height, width, rng):
    cy, cx = rng.uniform(0, height), rng.uniform(0, width)
    ry, rx = rng.uniform(3, height / 4), rng.uniform(3, width / 4)
    ys, xs = np.ogrid[:height, :width]
    return ((ys - cy) / ry) ** 2 + ((xs - cx) / rx) ** 2 <= 1.0


def encoded(mask):
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    box = [float(v) for v in mask_utils.toBbox(rle)]
    return {"size": [int(v) for v in rle["size"]], "counts": rle["counts"].decode("ascii")}, box


def detection_pool(image, annotations, category_ids, rng):
    """(category_id, segmentation, bbox) candidates for one coco-dev photo."""
    height, width = image["height"], image["width"]
    pool = []
    for annotation in annotations:
        if annotation["iscrowd"]:
            continue
        mask = annotation_mask(annotation, height, width)
        for variant in range(POOL_PER_OBJECT):
            moved = shifted(mask, int(rng.integers(-6, 7)), int(rng.integers(-6, 7)))
            moved = grown(moved, int(rng.integers(-2, 3)))
            if not moved.any():
                continue
            wrong = variant >= POOL_PER_OBJECT - 2
            category = int(rng.choice(category_ids)) if wrong else annotation["category_id"]
            pool.append((category, *encoded(moved)))
    for _ in range(FALSE_PER_PHOTO):
        pool.append((int(rng.choice(category_ids)), *encoded(ellipse(height, width, rng))))
    return pool


def jittered(segmentation, rng, height, width):
    if not isinstance(segmentation, list):
        return segmentation
    out = []
    for polygon in segmentation:
        points = np.asarray(polygon, dtype=np.float64)
        points = points + rng.uniform(-1.5, 1.5, size=points.shape)
        points[0::2] = np.clip(points[0::2], 0, width)
        points[1::2] = np.clip(points[1::2], 0, height)
        out.append([round(float(v), 2) for v in points])
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--images", type=int, default=5000)
    parser.add_argument("--per-image", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--source", type=Path, default=SHARED / "data" / "coco-dev" / "instances.json")
    args = parser.parse_args()
    if not args.source.is_file():
        sys.exit(f"make_eval_bench_set: {args.source} is missing (../shared beside the checkout, or set VLSAM_SHARED)")

    source = json.loads(args.source.read_text())
    rng = np.random.default_rng(args.seed)
    category_ids = [c["id"] for c in source["categories"]]
    by_image = {image["id"]: [] for image in source["images"]}
    for annotation in source["annotations"]:
        by_image[annotation["image_id"]].append(annotation)
    photos = source["images"]
    pools = []
    for index, image in enumerate(photos):
        pools.append(detection_pool(image, by_image[image["id"]], category_ids, rng))
        if (index + 1) % 40 == 0:
            print(f"make_eval_bench_set: detection pools for {index + 1} of {len(photos)} photos", file=sys.stderr)

    images, annotations, detections = [], [], []
    for image_id in range(1, args.images + 1):
        base = photos[(image_id - 1) % len(photos)]
        height, width = base["height"], base["width"]
        images.append({"id": image_id, "file_name": f"{image_id:012d}.jpg", "height": height, "width": width})
        for annotation in by_image[base["id"]]:
            if not annotation["iscrowd"] and rng.random() >= 0.8:
                continue
            annotations.append({
                "id": len(annotations) + 1, "image_id": image_id, "category_id": annotation["category_id"],
                "iscrowd": annotation["iscrowd"], "area": annotation["area"], "bbox": annotation["bbox"],
                "segmentation": jittered(annotation["segmentation"], rng, height, width),
            })
        pool = pools[(image_id - 1) % len(photos)]
        for pick in rng.choice(len(pool), size=min(args.per_image, len(pool)), replace=False):
            category, segmentation, box = pool[pick]
            detections.append({"image_id": image_id, "category_id": category, "segmentation": segmentation,
                               "bbox": box, "score": round(float(rng.random()), 6)})

    args.out.mkdir(parents=True, exist_ok=True)
    ground_truth = {"info": {"description": f"synthetic val2017-size set from coco-dev, seed {args.seed}"},
                    "images": images, "annotations": annotations, "categories": source["categories"]}
    for name, content in (("instances.json", ground_truth), ("detections.json", detections)):
        partial = args.out / f".{name}.partial"
        partial.write_text(json.dumps(content, separators=(",", ":")))
        partial.replace(args.out / name)
    print(f"make_eval_bench_set: {len(images)} images, {len(annotations)} ground-truth instances, "
          f"{len(detections)} detections in {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
