#!/usr/bin/env python3
"""Writes the image corpus of Tests/Fixtures/bad-input/images: hostile, broken and unusual photos,
each with the outcome decoding must have, in manifest.json.

Every case is a small file (a 24 x 16 photo at most, a few kB). A case is either
- "decodes": the upright RGB image Pillow makes of it (`ImageOps.exif_transpose(im).convert("RGB")`,
  the way transformers' `load_image` reads a photo), stored raw (height x width x 3 bytes, row-major)
  as expected/<file name>.rgb, with the largest per-sample difference allowed (0 for PNG; a little for
  JPEG, because Pillow's libjpeg-turbo and the system's may round the IDCT differently). Where
  vlsam deliberately differs from Pillow (16-bit grey, malformed EXIF) the reference is computed
  from the source pixels instead and "reference" says so;
- "refused": the ImageError kind decoding must throw and words its one-line message must contain.

Cases: the eight EXIF orientations as JPEG (APP1, little-endian TIFF as Pillow writes it) and as
PNG (eXIf chunk), a big-endian (Motorola) EXIF block, malformed EXIF blocks (ignored: the photo is
used as stored), CMYK JPEGs with and without Adobe's APP14 marker, greyscale and progressive
JPEG (one with 1000 scans, the most vlsam reads, and one with 1001), every PNG colour type (grey
1/8/16-bit, RGB 8/16-bit, RGB+tRNS, grey+alpha, RGBA, palette, palette+tRNS, Adam7 interlaced),
content whose extension names the other format; zero-byte, garbage, text and truncated files, a corrupt CRC, corrupt compressed data, random JPEG scan data (no checksum, so it
decodes, to garbage, as in Pillow), zero and absurd dimensions (a PNG whose IHDR claims
100000 x 100000, a JPEG whose SOF claims 60000 x 60000 and one above libjpeg's 65500), 12-bit and
lossless JPEG.

PNGs are written by hand here (zlib, so every colour type and bit depth is possible); JPEGs with
Pillow (made with Pillow 13.0, numpy 2). Pillow and numpy are used only here.
Run: python3 scripts/make_bad_inputs.py (deterministic: a second run rewrites the same bytes).
"""
import io
import json
import shutil
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "Tests" / "Fixtures" / "bad-input" / "images"
WIDTH, HEIGHT = 24, 16
# Pillow's libjpeg-turbo and the system's agree exactly on these 4:4:4 files today; a newer one may
# round the IDCT a level differently. A wrong orientation or colour conversion is off by far more.
JPEG_TOLERANCE = 2


def photo():
    """A stored photo whose every flip and turn looks different: red grows to the right, green
    downwards, blue marks the top-left corner."""
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH]
    rgb = np.stack([x * 10 + 10, y * 14 + 20, np.where((x < 8) & (y < 6), 220, 40)], axis=-1)
    return rgb.astype(np.uint8)


# --- PNG, byte by byte -------------------------------------------------------------------------

def chunk(kind, data):
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


def png(rows, width, height, bit_depth, color_type, extra=(), interlaced=False, after_idat=()):
    """`rows`: packed scanlines of the whole image (bytes each); Adam7 needs whole-byte pixels."""
    if interlaced:
        pixel = len(rows[0]) // width
        raw = b""
        for x0, y0, dx, dy in [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]:
            if x0 >= width or y0 >= height:
                continue
            for y in range(y0, height, dy):
                raw += b"\0" + b"".join(rows[y][x * pixel:(x + 1) * pixel] for x in range(x0, width, dx))
    else:
        raw = b"".join(b"\0" + row for row in rows)
    header = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 1 if interlaced else 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + b"".join(chunk(k, d) for k, d in extra)
            + chunk(b"IDAT", zlib.compress(raw, 9)) + b"".join(chunk(k, d) for k, d in after_idat) + chunk(b"IEND", b""))


def rgb_png(rgb, **options):
    return png([row.tobytes() for row in rgb], rgb.shape[1], rgb.shape[0], 8, 2, **options)


# --- EXIF ----------------------------------------------------------------------------------------

def tiff(entries, order="<", ifd_offset=8, count_override=None):
    """A TIFF block with one IFD of (tag, type, count, value bytes) entries."""
    magic = b"II" if order == "<" else b"MM"
    head = magic + struct.pack(order + "HI", 42, ifd_offset)
    count = len(entries) if count_override is None else count_override
    ifd = struct.pack(order + "H", count)
    for tag, kind, n, value in entries:
        ifd += struct.pack(order + "HHI", tag, kind, n) + value.ljust(4, b"\0")
    return head + ifd + struct.pack(order + "I", 0)


def orientation_entry(value, order="<", kind=3, count=1):
    packed = struct.pack(order + ("H" if kind == 3 else "I"), value)
    return (0x0112, kind, count, packed)


def jpeg(rgb_or_image, exif=None, **options):
    image = rgb_or_image if isinstance(rgb_or_image, Image.Image) else Image.fromarray(rgb_or_image)
    buffer = io.BytesIO()
    arguments = {"quality": 95, **options}
    if image.mode != "CMYK" and image.mode != "L":
        arguments.setdefault("subsampling", 0)
    if exif is not None:
        arguments["exif"] = exif
    image.save(buffer, "JPEG", **arguments)
    return buffer.getvalue()


def with_app1(jpeg_bytes, payload):
    """Inserts an APP1 segment right after SOI (Pillow refuses to write malformed EXIF)."""
    return jpeg_bytes[:2] + b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload + jpeg_bytes[2:]


def without_segment(jpeg_bytes, marker):
    """Removes every segment of `marker` (e.g. 0xEE, Adobe's APP14) before the scan."""
    out, i = bytearray(jpeg_bytes[:2]), 2
    while i < len(jpeg_bytes):
        kind = jpeg_bytes[i + 1]
        if kind == 0xDA:
            out += jpeg_bytes[i:]
            break
        length = struct.unpack(">H", jpeg_bytes[i + 2:i + 4])[0]
        if kind != marker:
            out += jpeg_bytes[i:i + 2 + length]
        i += 2 + length
    return bytes(out)


def patched_sof(jpeg_bytes, width=None, height=None, precision=None, marker=None):
    """The same JPEG with its SOF0 header's fields replaced."""
    data = bytearray(jpeg_bytes)
    sof = data.index(b"\xff\xc0")
    if marker is not None:
        data[sof + 1] = marker
    if precision is not None:
        data[sof + 4] = precision
    if height is not None:
        data[sof + 5:sof + 7] = struct.pack(">H", height)
    if width is not None:
        data[sof + 7:sof + 9] = struct.pack(">H", width)
    return bytes(data)


def with_scans(jpeg_bytes, total):
    """The same JPEG with its last scan repeated until it has `total` scans (a repeated refinement
    scan is a bogus progression, which libjpeg warns about and decodes)."""
    last = jpeg_bytes.rindex(b"\xff\xda")
    assert jpeg_bytes.endswith(b"\xff\xd9")
    scans = jpeg_bytes.count(b"\xff\xda")
    return jpeg_bytes[:-2] + jpeg_bytes[last:-2] * (total - scans) + b"\xff\xd9"


def pillow_upright(data):
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(ImageOps.exif_transpose(image).convert("RGB"))


def pillow_stored(data):
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("RGB"))


# --- the corpus ----------------------------------------------------------------------------------

def cases():
    stored = photo()
    plain_jpeg = jpeg(stored)
    plain_png = rgb_png(stored)
    decodes, refused = {}, {}

    def decode(name, data, reference=None, tolerance=0, note=None):
        decodes[name] = (data, pillow_upright(data) if reference is None else reference, tolerance, note)

    def refuse(name, data, kind, mentions):
        refused[name] = (data, kind, mentions)

    for value in range(1, 9):
        exif = tiff([orientation_entry(value)])
        decode(f"exif-orientation-{value}.jpg", jpeg(stored, exif=b"Exif\0\0" + exif), tolerance=JPEG_TOLERANCE)
        decode(f"exif-orientation-{value}.png", rgb_png(stored, extra=[(b"eXIf", exif)]))
    decode("exif-big-endian-6.jpg", with_app1(plain_jpeg, b"Exif\0\0" + tiff([orientation_entry(6, ">")], ">")), tolerance=JPEG_TOLERANCE)
    decode("exif-long-type-8.jpg", with_app1(plain_jpeg, b"Exif\0\0" + tiff([orientation_entry(8, kind=4)])), tolerance=JPEG_TOLERANCE)
    decode("exif-two-values-6.jpg", with_app1(plain_jpeg, b"Exif\0\0" + tiff([orientation_entry(6, count=2)])),
           tolerance=JPEG_TOLERANCE, note="Pillow reads the first of two values")
    decode("exif-after-image-data-3.png", rgb_png(stored, after_idat=[(b"eXIf", tiff([orientation_entry(3)]))]))

    # Malformed EXIF is ignored: the photo as stored. (Pillow 13 ignores each of these too; vlsam
    # never fails a photo for its metadata.)
    as_stored = pillow_stored(plain_jpeg)
    malformed = {
        "exif-ifd-offset-past-end.jpg": tiff([orientation_entry(6)], ifd_offset=4000),
        "exif-entry-count-too-large.jpg": tiff([(0x0100, 3, 1, b"\x18\0")], count_override=0xFFFF)[:-4],
        "exif-entry-cut-short.jpg": tiff([orientation_entry(6)])[:14],
        "exif-bad-byte-order.jpg": b"XX" + tiff([orientation_entry(6)])[2:],
        "exif-orientation-zero.jpg": tiff([orientation_entry(0)]),
        "exif-orientation-nine.jpg": tiff([orientation_entry(9)]),
        "exif-orientation-ascii-type.jpg": tiff([(0x0112, 2, 2, b"6\0")]),
        "exif-header-only.jpg": b"",
        "exif-ifd-loops-to-itself.jpg": tiff([(0x0100, 3, 1, b"\x18\0")])[:-4] + struct.pack("<I", 8),
    }
    for name, block in malformed.items():
        decode(name, with_app1(plain_jpeg, b"Exif\0\0" + block), reference=as_stored, tolerance=JPEG_TOLERANCE,
               note="malformed EXIF is ignored: the photo as stored")
    decode("exif-malformed-then-valid.jpg",
           with_app1(with_app1(plain_jpeg, b"Exif\0\0" + tiff([orientation_entry(6)])), b"Exif\0\0" + b"XX"),
           reference=as_stored, tolerance=JPEG_TOLERANCE, note="only the first EXIF segment counts, as in Pillow")

    cmyk = Image.fromarray(np.concatenate([255 - stored, np.full((HEIGHT, WIDTH, 1), 30, np.uint8)], axis=-1), "CMYK")
    cmyk_jpeg = jpeg(cmyk)
    decode("cmyk-adobe.jpg", cmyk_jpeg, tolerance=JPEG_TOLERANCE)
    decode("cmyk-no-adobe-marker.jpg", without_segment(cmyk_jpeg, 0xEE), tolerance=JPEG_TOLERANCE)
    decode("grey.jpg", jpeg(Image.fromarray(stored[:, :, 1])), tolerance=JPEG_TOLERANCE)
    decode("progressive.jpg", jpeg(stored, progressive=True), tolerance=JPEG_TOLERANCE)
    grey_progressive = jpeg(Image.fromarray(stored[:, :, 1]), progressive=True)
    decode("progressive-1000-scans.jpg", with_scans(grey_progressive, 1000), tolerance=JPEG_TOLERANCE,
           note="the most scans vlsam decodes")
    decode("png-content.jpg", plain_png, note="named .jpg, sniffed as PNG")
    decode("jpeg-content.png", plain_jpeg, tolerance=JPEG_TOLERANCE, note="named .png, sniffed as JPEG")

    grey = stored[:, :, 1]
    sixteen = (stored.astype(np.uint16) * 257 + np.arange(WIDTH, dtype=np.uint16)[None, :, None] * 3)
    decode("grey-1bit.png", png([np.packbits(row >= 100).tobytes() for row in grey], WIDTH, HEIGHT, 1, 0))
    decode("grey.png", png([row.tobytes() for row in grey], WIDTH, HEIGHT, 8, 0))
    decode("grey-16bit.png", png([row.astype(">u2").tobytes() for row in sixteen[:, :, 1]], WIDTH, HEIGHT, 16, 0),
           reference=np.repeat((sixteen[:, :, 1:2] >> 8).astype(np.uint8), 3, axis=-1),
           note="high byte, as OpenCV's imread; Pillow's convert('RGB') clips I;16 to 255 instead")
    decode("rgb-16bit.png", png([row.astype(">u2").tobytes() for row in sixteen], WIDTH, HEIGHT, 16, 2))
    alpha = (np.arange(WIDTH * HEIGHT).reshape(HEIGHT, WIDTH) * 7 % 256).astype(np.uint8)
    decode("grey-alpha.png", png([np.stack([g, a], -1).tobytes() for g, a in zip(grey, alpha)], WIDTH, HEIGHT, 8, 4))
    decode("rgba.png", png([np.concatenate([r, a[:, None]], -1).tobytes() for r, a in zip(stored, alpha)], WIDTH, HEIGHT, 8, 6))
    palette = np.array([[0, 0, 0], [250, 20, 20], [20, 250, 20], [20, 20, 250]], np.uint8)
    indices = ((np.arange(WIDTH)[None, :] // 6 + np.arange(HEIGHT)[:, None] // 4) % 4).astype(np.uint8)
    decode("palette.png", png([row.tobytes() for row in indices], WIDTH, HEIGHT, 8, 3, extra=[(b"PLTE", palette.tobytes())]))
    decode("palette-trns.png", png([row.tobytes() for row in indices], WIDTH, HEIGHT, 8, 3,
                                   extra=[(b"PLTE", palette.tobytes()), (b"tRNS", bytes([0, 128, 255, 7]))]))
    decode("interlaced.png", rgb_png(stored, interlaced=True))
    decode("rgb-trns.png", rgb_png(stored, extra=[(b"tRNS", struct.pack(">HHH", *stored[0, 0]))]))

    refuse("zero-byte.jpg", b"", "empty", ["empty"])
    refuse("zero-byte.png", b"", "empty", ["empty"])
    noise = np.random.default_rng(7).integers(0, 256, 2000, dtype=np.uint8).tobytes()
    refuse("garbage.jpg", noise, "notAnImage", ["not a JPEG or PNG"])
    refuse("garbage.png", noise[1000:], "notAnImage", ["not a JPEG or PNG"])
    refuse("text.png", b"<html>this is a web page</html>\n", "notAnImage", ["not a JPEG or PNG"])
    refuse("png-signature-cut.png", plain_png[:5], "notAnImage", ["not a JPEG or PNG"])
    refuse("png-ihdr-cut.png", plain_png[:20], "corrupt", ["truncated"])
    refuse("png-half.png", plain_png[:len(plain_png) // 2], "corrupt", ["truncated"])
    refuse("png-no-iend.png", plain_png[:-12], "corrupt", ["truncated"])
    ihdr_crc = bytearray(plain_png)
    ihdr_crc[29] ^= 0xFF
    refuse("png-ihdr-crc.png", bytes(ihdr_crc), "corrupt", ["IHDR", "CRC"])
    image_data = bytearray(plain_png)
    idat = plain_png.index(b"IDAT")
    image_data[idat + 4:idat + 40] = noise[:36]
    refuse("png-garbage-image-data.png", bytes(image_data), "corrupt", ["corrupt or truncated PNG"])
    refuse("png-100000x100000.png", png([], 100000, 100000, 8, 2), "tooLarge",
           ["100000x100000", "limit of 100000000 pixels", "--max-pixels"])
    refuse("png-zero-height.png", png([], WIDTH, 0, 8, 2), "corrupt", ["Invalid IHDR data", "height is zero"])
    refuse("png-bad-bit-depth.png", png([row.tobytes() for row in stored], WIDTH, HEIGHT, 7, 2), "corrupt", ["Invalid IHDR data", "bit depth"])
    refuse("jpeg-soi-only.jpg", plain_jpeg[:4], "corrupt", ["corrupt or truncated JPEG"])
    refuse("jpeg-half.jpg", plain_jpeg[:len(plain_jpeg) // 2], "corrupt", ["Premature end"])
    refuse("jpeg-no-eoi.jpg", plain_jpeg[:-2], "corrupt", ["Premature end"])
    scan = plain_jpeg.index(b"\xff\xda")
    scan_length = struct.unpack(">H", plain_jpeg[scan + 2:scan + 4])[0]
    entropy = scan + 2 + scan_length
    garbled = plain_jpeg[:entropy] + bytes(b if b != 0xFF else 0x00 for b in noise[:len(plain_jpeg) - entropy - 2]) + b"\xff\xd9"
    decode("jpeg-garbage-entropy-data.jpg", garbled, tolerance=JPEG_TOLERANCE,
           note="JPEG has no checksum: scan data libjpeg can parse decodes, to garbage, as in Pillow")
    refuse("jpeg-sof-60000x60000.jpg", patched_sof(plain_jpeg, 60000, 60000), "tooLarge",
           ["60000x60000", "limit of 100000000 pixels"])
    refuse("jpeg-sof-65535x65535.jpg", patched_sof(plain_jpeg, 65535, 65535), "unsupported", ["65500"])
    refuse("jpeg-sof-zero-width.jpg", patched_sof(plain_jpeg, width=0), "corrupt", ["Empty JPEG image"])
    refuse("jpeg-12-bit.jpg", patched_sof(plain_jpeg, precision=12), "unsupported", ["precision 12"])
    refuse("jpeg-lossless.jpg", patched_sof(plain_jpeg, marker=0xC3), "unsupported", ["SOF type 0xc3"])
    refuse("progressive-1001-scans.jpg", with_scans(grey_progressive, 1001), "unsupported", ["more than 1000 scans"])
    return decodes, refused


def main():
    if OUT.exists():
        shutil.rmtree(OUT)
    (OUT / "expected").mkdir(parents=True)
    decodes, refused = cases()
    manifest = []
    for name, (data, reference, tolerance, note) in sorted(decodes.items()):
        (OUT / name).write_bytes(data)
        rgb = np.ascontiguousarray(reference, dtype=np.uint8)
        expected = f"expected/{name}.rgb"
        (OUT / expected).write_bytes(rgb.tobytes())
        entry = {"file": name, "outcome": "decodes", "width": int(rgb.shape[1]), "height": int(rgb.shape[0]),
                 "rgb": expected, "tolerance": tolerance}
        if note:
            entry["reference"] = note
        manifest.append(entry)
    for name, (data, kind, mentions) in sorted(refused.items()):
        (OUT / name).write_bytes(data)
        manifest.append({"file": name, "outcome": "refused", "kind": kind, "mentions": mentions})
    (OUT / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    print(f"{len(decodes)} decoding and {len(refused)} refused cases in {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
