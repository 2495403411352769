"""python -m bench photos: how long making a menu photo holds the server's one event loop
(core/photos.menu_photo: decode, upright, sRGB, scale to 800 × 800, WebP), for uploads up to
the limits: 5 MiB and 40 megapixels (docs/benchmarks.md, "Menu photos").

In-process and single-threaded, as the server runs it: the time of one call is the time every
socket of the restaurant waits. The pictures are made here: smooth gradients with grain, so a
photo-sized JPEG is a phone photo's size; a PNG or WebP of as many pixels must compress into
5 MiB, so theirs have less grain.
"""

from __future__ import annotations

import io
import statistics
import time
from typing import Any, Final

from PIL import Image
from PIL.ExifTags import Base

from robodyne.core.photos import MAX_UPLOAD_BYTES, menu_photo

PHONE: Final = (4032, 3024)  # 12 MP, a phone's 4:3
LARGEST: Final = (7300, 5475)  # 39.97 MP, just under the limit
# name: (size, format, grain, EXIF orientation)
Case = tuple[tuple[int, int], str, int, int | None]
CASES: Final[dict[str, Case]] = {
    "jpeg_12mp": (PHONE, "JPEG", 40, None),
    "jpeg_12mp_turned": (PHONE, "JPEG", 40, 6),
    "jpeg_40mp": (LARGEST, "JPEG", 20, None),
    "png_12mp": (PHONE, "PNG", 0, None),
    "webp_12mp": (PHONE, "WEBP", 40, None),
    "png_40mp": (LARGEST, "PNG", 0, None),
    "webp_40mp": (LARGEST, "WEBP", 10, None),
}
CONTENT_TYPES: Final = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
QUALITIES: Final = (90, 80, 70, 60, 50)

# The median of each case (its max and the upload's size are in the JSON).
COLUMNS: Final = [(f"cases.{name}.median_ms", f"{name} ms") for name in CASES]


def picture(size: tuple[int, int], grain: int) -> Image.Image:
    """Two crossing gradients and grain: something like a photo's colours."""
    across = Image.linear_gradient("L").resize(size)
    down = Image.linear_gradient("L").rotate(90).resize(size)
    third = Image.effect_noise(size, grain) if grain else Image.new("L", size, 128)
    return Image.merge("RGB", [across, down, third])


def upload(size: tuple[int, int], kind: str, grain: int, orientation: int | None) -> bytes:
    """The picture in `kind` at the best quality that fits in an upload."""
    image = picture(size, grain)
    params: dict[str, Any] = {}
    if orientation is not None:
        exif = Image.Exif()
        exif[Base.Orientation] = orientation
        params["exif"] = exif.tobytes()
    for quality in QUALITIES if kind != "PNG" else (None,):
        out = io.BytesIO()
        image.save(out, kind, **params, **({"quality": quality} if quality else {}))
        if out.tell() <= MAX_UPLOAD_BYTES:
            return out.getvalue()
    raise RuntimeError(f"{kind} {size} does not fit in {MAX_UPLOAD_BYTES} bytes")


def photos(kind: str, *, repeats: int, cases: dict[str, Case] = CASES) -> dict[str, Any]:
    """Each case's upload made once, then menu_photo timed `repeats` times; one row."""
    if kind != "robodyne":
        raise ValueError(f"the photos scenario runs robodyne only, got {kind!r}")
    timed: dict[str, Any] = {}
    for name, (size, fmt, grain, orientation) in cases.items():
        data = upload(size, fmt, grain, orientation)
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            menu_photo(data, CONTENT_TYPES[fmt])
            times.append((time.perf_counter() - started) * 1000)
        timed[name] = {"megapixels": size[0] * size[1] / 1e6, "upload_mb": len(data) / 2**20,
                       "median_ms": statistics.median(times), "max_ms": max(times)}
    return {"server": kind, "repeats": repeats, "cases": timed}
