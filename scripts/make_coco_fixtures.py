#!/usr/bin/env python3
"""Writes the fixtures of Tests/COCOFormatTests: binary masks with what pycocotools says about them.

For every case, Tests/COCOFormatTests/Fixtures/cases.json holds the mask size, pycocotools'
compressed RLE string (`pycocotools.mask.encode(np.asfortranarray(mask))["counts"]`), its `area`
and its `toBbox`. Some cases also keep the mask itself, independently of any RLE, as
`raw/<name>.bits`: the row-major (C order) height x width mask as bits, numpy.packbits order
(most significant bit first), zero-padded to a whole byte. The Swift tests encode those raw masks
and compare the strings byte for byte, decode every string back, and compare area and box.

Cases:
- COCO ground truth: 30 annotations of ../shared/data/coco-dev/instances.json rasterised with
  `COCO.annToMask` (polygons and the crowd annotations' uncompressed RLE), spread over the range
  of areas; a crowd case also records its original uncompressed counts list.
- synthetic edge cases: empty and full masks, one pixel in each corner, 1x1 images, a single row
  and column, runs longer than 32 and 1024 pixels, a large mask whose first run needs five
  characters, stripes, a checkerboard, seeded noise (many negative differences) and a foreground
  run that wraps from the bottom of one column to the top of the next (toBbox then reports the full
  height).

pycocotools is used only here. Setup: pip install pycocotools numpy (made with pycocotools 2.0.11,
numpy 2). Run from anywhere: python3 scripts/make_coco_fixtures.py [path/to/instances.json]
(default: $VLSAM_SHARED/data/coco-dev/instances.json, else ../shared next to the checkout).

The output is deterministic: running the script again regenerates every fixture file byte for
byte (the selection depends only on the annotations file, the noise comes from a fixed LCG, and
JSON is written with a fixed key order). Files it did not write are removed from raw/.
"""
import json
import os
import sys
from pathlib import Path

import numpy as np
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "Tests" / "COCOFormatTests" / "Fixtures"
SHARED = Path(os.environ.get("VLSAM_SHARED", ROOT.parent / "shared"))
ANNOTATIONS = SHARED / "data" / "coco-dev" / "instances.json"

COCO_CASES = 30          # annotations taken from the COCO file
COCO_CROWD_CASES = 4     # of which crowd (RLE) annotations
COCO_RAW = 5             # of the COCO cases, how many also keep the raw mask


def encode(mask):
    """pycocotools' view of a row-major 0/1 mask: compressed string, area, toBbox."""
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {
        "counts": rle["counts"].decode("ascii"),
        "area": int(mask_utils.area(rle)),
        "bbox": [float(v) for v in mask_utils.toBbox(rle)],
    }


class LCG:
    """A fixed 32-bit linear congruential generator, so the noise never depends on numpy's RNGs."""

    def __init__(self, seed):
        self.state = seed

    def bit(self):
        self.state = (1664525 * self.state + 1013904223) % 2**32
        return (self.state >> 16) & 1


def synthetic_cases():
    cases = []

    def add(name, mask, note):
        cases.append((name, np.ascontiguousarray(mask, dtype=np.uint8), note))

    add("empty_4x5", np.zeros((4, 5)), "no foreground")
    add("full_4x5", np.ones((4, 5)), "all foreground: counts start with a zero-length run")
    for name, (row, col) in {"top_left": (0, 0), "top_right": (0, 8), "bottom_left": (6, 0),
                             "bottom_right": (6, 8)}.items():
        m = np.zeros((7, 9))
        m[row, col] = 1
        add(f"corner_{name}_7x9", m, f"one pixel at row {row}, column {col}")
    add("pixel_off_1x1", np.zeros((1, 1)), "1x1 image, background")
    add("pixel_on_1x1", np.ones((1, 1)), "1x1 image, foreground")
    row = np.zeros((1, 40))
    row[0, 3:9] = 1
    row[0, 20:21] = 1
    row[0, 33:] = 1
    add("row_1x40", row, "a single row: every column is one pixel")
    add("column_40x1", row.T.copy(), "a single column: one run per change")
    m = np.zeros((100, 60))
    m[10:90, 5:50] = 1
    add("runs_over_32_100x60", m, "foreground runs of 80 and a first run of 510 pixels")
    m = np.zeros((64, 64))
    m[:, 20:41] = 1
    add("runs_over_1024_64x64", m, "whole columns: runs of 1280, 1344 and 1472 pixels")
    yy, xx = np.mgrid[0:600, 0:900]
    ellipse = (((xx - 650) / 200.0) ** 2 + ((yy - 280) / 150.0) ** 2 <= 1.0)
    ellipse[500:560, 40:45] = True
    ellipse[0:600, 899] = True
    add("large_ellipse_600x900", ellipse, "first run of 24000 pixels, later ones need five characters")
    m = np.zeros((16, 24))
    m[::2, :] = 1
    add("stripes_rows_16x24", m, "alternating rows: runs of one pixel down every column")
    m = np.zeros((16, 24))
    m[:, 1::2] = 1
    add("stripes_columns_16x24", m, "alternating columns: runs of a whole column")
    m = np.zeros((18, 30))
    m[:, (np.arange(30) // 4) % 2 == 1] = 1
    add("stripes_wide_18x30", m, "stripes four columns wide")
    add("checkerboard_15x17", (np.add.outer(np.arange(15), np.arange(17)) % 2).astype(np.uint8),
        "checkerboard with an odd height: runs of one pixel")
    rng = LCG(20240601)
    noise = np.array([[rng.bit() for _ in range(53)] for _ in range(37)])
    add("noise_37x53", noise, "seeded noise: many short runs, negative differences")
    m = np.zeros((8, 6))
    m[6:, 2] = 1
    m[:3, 3] = 1
    add("wrap_8x6", m, "a run from the bottom of column 2 into the top of column 3: toBbox gives the full height")
    m = np.zeros((8, 6))
    m[5:, 1] = 1
    m[:2, 2] = 1
    m[3, 4] = 1
    add("wrap_then_pixel_8x6", m, "a wrapping run and a single pixel")
    return cases


def coco_cases(path):
    coco = COCO(str(path))
    annotations = sorted(coco.dataset["annotations"], key=lambda a: a["id"])
    plain = sorted((a for a in annotations if not a["iscrowd"]), key=lambda a: (a["area"], a["id"]))
    crowd = sorted((a for a in annotations if a["iscrowd"]), key=lambda a: (a["area"], a["id"]))

    def spread(items, count):
        if len(items) <= count:
            return list(items)
        return [items[round(i * (len(items) - 1) / (count - 1))] for i in range(count)]

    chosen = spread(plain, COCO_CASES - COCO_CROWD_CASES) + spread(crowd, COCO_CROWD_CASES)
    # Raw masks for the smallest, a middle and the largest polygon case, and two crowd cases.
    polygon_count = len(chosen) - min(len(crowd), COCO_CROWD_CASES)
    raw_indices = {0, polygon_count // 2, polygon_count - 1, polygon_count, len(chosen) - 1}
    raw_indices = set(sorted(raw_indices)[:COCO_RAW])
    cases = []
    for index, annotation in enumerate(chosen):
        image = coco.imgs[annotation["image_id"]]
        mask = coco.annToMask(annotation)
        assert mask.shape == (image["height"], image["width"])
        kind = "crowd" if annotation["iscrowd"] else "polygon"
        source = {"annotation_id": annotation["id"], "image_id": annotation["image_id"], "iscrowd": annotation["iscrowd"]}
        extra = {}
        if annotation["iscrowd"] and isinstance(annotation["segmentation"]["counts"], list):
            extra["uncompressed_counts"] = annotation["segmentation"]["counts"]
        cases.append((f"coco_{kind}_{annotation['id']}", mask, source, index in raw_indices, extra))
    return cases


def main():
    annotations = Path(sys.argv[1]) if len(sys.argv) > 1 else ANNOTATIONS
    if not annotations.exists():
        sys.exit(f"{annotations}: COCO annotations not found (pass the path of instances.json or set VLSAM_SHARED)")
    raw_dir = OUT / "raw"
    raw_dir.mkdir(parents=True, exist_ok=True)
    written = set()
    records = []

    def record(name, mask, source, keep_raw, extra=None):
        entry = {"name": name, "height": int(mask.shape[0]), "width": int(mask.shape[1]), "source": source}
        entry.update(encode(mask))
        # The string must decode to the same mask, or the fixture itself would be wrong.
        decoded = mask_utils.decode({"size": list(mask.shape), "counts": entry["counts"].encode("ascii")})
        assert np.array_equal(decoded, mask), name
        if keep_raw:
            file_name = f"{name}.bits"
            (raw_dir / file_name).write_bytes(np.packbits(mask.reshape(-1)).tobytes())
            written.add(file_name)
            entry["raw"] = f"raw/{file_name}"
        else:
            entry["raw"] = None
        entry.update(extra or {})
        records.append(entry)

    for name, mask, note in synthetic_cases():
        record(name, mask, {"synthetic": note}, keep_raw=True)
    for name, mask, source, keep_raw, extra in coco_cases(annotations):
        record(name, mask, source, keep_raw, extra)

    for stale in raw_dir.iterdir():
        if stale.name not in written:
            stale.unlink()
    document = {
        "generator": "scripts/make_coco_fixtures.py",
        "convention": "counts: pycocotools compressed RLE of the column-major mask; raw: row-major bits, packbits order",
        "cases": records,
    }
    text = json.dumps(document, indent=1, ensure_ascii=True) + "\n"
    (OUT / "cases.json").write_text(text, encoding="ascii")
    total = sum(f.stat().st_size for f in OUT.rglob("*") if f.is_file())
    print(f"{len(records)} cases ({sum(r['raw'] is not None for r in records)} with raw masks), "
          f"{total} bytes in {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
