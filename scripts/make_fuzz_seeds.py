#!/usr/bin/env python3
"""Writes the image seeds of the fuzzer (Tests/Fixtures/fuzz-seeds/images): tiny JPEGs and PNGs
in the layouts the decoding wrappers convert differently, so libFuzzer starts from every branch
instead of having to discover the formats. Needs Pillow. `scripts/fuzz` sorts them to the jpeg
and png targets by their first bytes."""
from pathlib import Path

from PIL import Image

OUT = Path(__file__).resolve().parent.parent / "Tests/Fixtures/fuzz-seeds/images"


def gradient(mode, size=(16, 12)):
    image = Image.new("RGB", size)
    image.putdata([(x * 16, y * 20, (x + y) * 9) for y in range(size[1]) for x in range(size[0])])
    return image.convert(mode)


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    seeds = {
        "baseline-420.jpg": (gradient("RGB"), dict(quality=75, subsampling=2)),
        "baseline-444.jpg": (gradient("RGB"), dict(quality=90, subsampling=0)),
        "gray.jpg": (gradient("L"), dict(quality=75)),
        "progressive.jpg": (gradient("RGB"), dict(quality=75, progressive=True)),
        "cmyk.jpg": (gradient("CMYK"), dict(quality=75)),
        "rgb.png": (gradient("RGB"), {}),
        "rgba.png": (gradient("RGBA"), {}),
        "gray.png": (gradient("L"), {}),
        "gray16.png": (gradient("L").point(lambda v: v * 257, "I").convert("I;16"), {}),
        "palette.png": (gradient("RGB").quantize(8), dict(transparency=0)),
        "bilevel.png": (gradient("1"), {}),
    }
    for name, (image, options) in seeds.items():
        image.save(OUT / name, **options)
        print(f"{name}: {(OUT / name).stat().st_size} bytes")


if __name__ == "__main__":
    main()
