#!/usr/bin/env python3
"""Checks a dicomizer output folder with readers we did not write.

dciodvfy (zero errors per instance), dcentvfy (consistency across instances), OpenSlide 4 and wsidicom
open the folder, level sizes and counts are right, and level 0 and 1 pixels match the source read
through OpenSlide (or Pillow for plain images) within a mean absolute difference.

Prints one JSON object and exits 0 when every check passed, 1 otherwise.
"""
import argparse
import glob
import json
import os
import subprocess
import sys

import numpy as np


def halve(a):
    """2x2 area average rounding odd sizes up, as dicomizer computes lower levels."""
    h, w, _ = a.shape
    a = a.astype(np.uint32)
    if w % 2:
        a = np.concatenate([a, a[:, -1:]], axis=1)
    if h % 2:
        a = np.concatenate([a, a[-1:]], axis=0)
    s = a[0::2, 0::2] + a[0::2, 1::2] + a[1::2, 0::2] + a[1::2, 1::2]
    return ((s + 2) >> 2).astype(np.uint8)


def over_white(img):
    """An OpenSlide region as RGB, what it leaves transparent (sparse tiles, no scan) white."""
    from PIL import Image
    img = img.convert("RGBA")
    return np.asarray(Image.alpha_composite(Image.new("RGBA", img.size, (255, 255, 255, 255)), img).convert("RGB"))


def source_level0(path):
    import openslide
    from PIL import Image
    try:
        slide = openslide.OpenSlide(path)
        return over_white(slide.read_region((0, 0), 0, slide.dimensions))
    except openslide.OpenSlideError:
        pass
    except openslide.OpenSlideUnsupportedFormatError:
        pass
    Image.MAX_IMAGE_PIXELS = None
    return np.asarray(Image.open(path).convert("RGB"))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("folder")
    p.add_argument("source")
    p.add_argument("--max-mad0", type=float, default=3.0, help="level-0 tolerance (0 for copied or lossless)")
    p.add_argument("--max-mad1", type=float, default=3.0, help="level-1 tolerance")
    p.add_argument("--levels", type=int, help="expected pyramid level count")
    p.add_argument("--source-pyramid", action="store_true",
                   help="the source's own levels were kept (--pyramid source): they come first, then halvings")
    p.add_argument("--associated", default="", help="comma-separated associated images expected")
    p.add_argument("--source-offset", help="X,Y: level 0 is the region of the source's level 0 (as OpenSlide reads it) "
                                            "at this offset, not all of it (a Leica SCN's main image on its collection)")
    args = p.parse_args()

    result = {"errors": [], "dciodvfy_errors": {}, "levels": None, "mad": {}}
    files = sorted(glob.glob(os.path.join(args.folder, "*.dcm")))
    if not files:
        result["errors"].append("no .dcm files")
        print(json.dumps(result))
        return 1

    for f in files:
        out = subprocess.run(["dciodvfy", "-new", f], capture_output=True, text=True)
        errors = [l for l in (out.stdout + out.stderr).splitlines() if l.startswith("Error")]
        result["dciodvfy_errors"][os.path.basename(f)] = len(errors)
        if errors:
            result["errors"].append(f"dciodvfy {os.path.basename(f)}: {errors[:3]}")
    out = subprocess.run(["dcentvfy"] + files, capture_output=True, text=True)
    errors = [l for l in (out.stdout + out.stderr).splitlines() if l.startswith("Error")]
    if errors:
        result["errors"].append(f"dcentvfy: {errors[:3]}")

    import openslide_bin  # noqa: F401  (OpenSlide 4 with DICOM support)
    import openslide
    slide = openslide.OpenSlide(files[0])
    result["openslide_version"] = openslide.__library_version__
    result["vendor"] = slide.properties.get("openslide.vendor")
    result["levels"] = [list(d) for d in slide.level_dimensions]
    result["openslide_associated"] = sorted(slide.associated_images.keys())
    if result["vendor"] != "dicom":
        result["errors"].append(f"OpenSlide vendor {result['vendor']}")
    if args.levels is not None and slide.level_count != args.levels:
        result["errors"].append(f"OpenSlide sees {slide.level_count} levels, expected {args.levels}")

    if args.source_offset:
        x, y = (int(v) for v in args.source_offset.split(","))
        src = over_white(openslide.OpenSlide(args.source).read_region((x, y), 0, slide.dimensions))
    else:
        src = source_level0(args.source)
    h, w, _ = src.shape
    if tuple(slide.dimensions) != (w, h):
        result["errors"].append(f"level 0 is {slide.dimensions}, source is {(w, h)}")
    import openslide
    kept = list(openslide.OpenSlide(args.source).level_dimensions) if args.source_pyramid else [(w, h)]
    expected = kept[0]
    for i, d in enumerate(slide.level_dimensions):
        if i < len(kept):
            expected = tuple(kept[i])
        if tuple(d) != expected:
            result["errors"].append(f"level {i} is {d}, expected {expected}")
        expected = ((expected[0] + 1) // 2, (expected[1] + 1) // 2)

    def read_level(level):
        lw, lh = slide.level_dimensions[level]
        ds = slide.level_downsamples[level]
        img = slide.read_region((0, 0), level, (lw, lh)).convert("RGB")
        return np.asarray(img)

    lvl0 = read_level(0)
    result["mad"]["level0"] = float(np.abs(lvl0.astype(int) - src.astype(int)).mean())
    if result["mad"]["level0"] > args.max_mad0:
        result["errors"].append(f"level 0 differs from source: MAD {result['mad']['level0']:.3f} > {args.max_mad0}")
    if slide.level_count > 1:
        lvl1 = read_level(1)
        if args.source_pyramid:
            # The source's own level 1, as OpenSlide reads it from the source.
            source_slide = openslide.OpenSlide(args.source)
            ref1 = over_white(source_slide.read_region((0, 0), 1, source_slide.level_dimensions[1]))
        else:
            ref1 = halve(src)
        result["mad"]["level1"] = float(np.abs(lvl1.astype(int) - ref1.astype(int)).mean())
        if result["mad"]["level1"] > args.max_mad1:
            result["errors"].append(f"level 1 differs from source: MAD {result['mad']['level1']:.3f} > {args.max_mad1}")

    wanted = [a for a in args.associated.split(",") if a]
    os_names = {"label": "label", "overview": "macro", "thumbnail": "thumbnail"}
    for a in wanted:
        if os_names[a] not in slide.associated_images:
            result["errors"].append(f"OpenSlide has no {a} image")

    import wsidicom
    with wsidicom.WsiDicom.open(args.folder) as wsi:
        result["wsidicom_levels"] = len(wsi.levels)
        if len(wsi.levels) != slide.level_count:
            result["errors"].append(f"wsidicom sees {len(wsi.levels)} levels, OpenSlide {slide.level_count}")
        region = np.asarray(wsi.read_region((0, 0), 0, (min(w, 512), min(h, 512))).convert("RGB"))
        mad = float(np.abs(region.astype(int) - lvl0[: region.shape[0], : region.shape[1]].astype(int)).mean())
        result["mad"]["wsidicom_vs_openslide"] = mad
        if mad > 1.0:
            result["errors"].append(f"wsidicom and OpenSlide disagree on level 0: MAD {mad:.3f}")
        if "label" in wanted and wsi.read_label() is None:
            result["errors"].append("wsidicom has no label")
        if "overview" in wanted and wsi.read_overview() is None:
            result["errors"].append("wsidicom has no overview")

    print(json.dumps(result))
    return 0 if not result["errors"] else 1


if __name__ == "__main__":
    sys.exit(main())
