"""A dish's photo as the menu keeps it (SPEC §13): an upload decoded as the type it was sent
as, turned upright, in sRGB, without metadata, scaled down to fit 800 × 800 and saved as WebP.

Pure CPU work on bytes (no I/O), bounded before any pixel is decoded: at most MAX_UPLOAD_BYTES
in, and a picture whose header declares more than MAX_PIXELS is refused from that header, so a
decompression bomb never allocates its size. A JPEG is decoded at a reduced scale (draft) when
it is much larger than the box, which is most of the cost of a phone's photo.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from typing import Final

from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from .errors import Invalid

MAX_UPLOAD_BYTES: Final = 5 * 1024 * 1024
MAX_PIXELS: Final = 40_000_000
BOX: Final = (800, 800)
QUALITY: Final = 80
# The types an upload may be sent as, and the one decoder each may use (a PNG sent as
# image/jpeg is refused, not guessed).
FORMATS: Final = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}
# The menu's photos' folder under the media dir, and the URL the media dir is served at.
MENU_FOLDER: Final = "menu"
MEDIA_URL: Final = "/media/"
HASH_HEX: Final = 16
# Modes a colour transform takes as they are (a profile describes one of them); any other is
# converted to RGB first, and a picture with any transparency to RGBA.
OPAQUE_MODES: Final = frozenset({"RGB", "CMYK", "L"})
SRGB: Final = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


def menu_photo(data: bytes, content_type: str) -> bytes:
    """The upload as the menu's WebP, or Invalid saying why it cannot be one."""
    with warnings.catch_warnings():
        # Pillow warns of what it skips (corrupt EXIF: then no turn): not the server's news.
        # Its bomb warning, above ~89 MP, is a refusal (_opened).
        warnings.simplefilter("ignore")
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        return _made(data, FORMATS[content_type])


def _made(data: bytes, kind: str) -> bytes:
    image = _opened(data, kind)
    width, height = image.size
    if width * height > MAX_PIXELS:
        raise Invalid(f"body: the picture is {width} × {height}, more than"
                      f" {MAX_PIXELS // 1_000_000} megapixels")
    profile = image.info.get("icc_profile")
    # A JPEG is decoded at the smallest scale (1/2, 1/4, 1/8) still at least the size it is
    # scaled to: a 12-MP photo at 1/4, about a third of the time of 1/2 (bench/photos.py).
    # Any other type has no such thing and decodes whole.
    image.draft(None, fit(image.size, BOX))
    try:
        image.load()
        image = ImageOps.exif_transpose(image)
    except (OSError, ValueError, SyntaxError, EOFError) as err:
        raise Invalid(f"body: not a readable {kind} image ({err})") from err
    image.thumbnail(BOX, Image.Resampling.LANCZOS)
    return _webp(_srgb(_eight_bit(image), profile))


def _opened(data: bytes, kind: str) -> Image.Image:
    """The picture's header read (Image.open decodes no pixel yet). Pillow's own bomb check
    warns above ~89 MP and refuses above twice that: both are refusals here."""
    try:
        return Image.open(io.BytesIO(data), formats=[kind])
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        raise Invalid(f"body: more than {MAX_PIXELS // 1_000_000} megapixels") from err
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError) as err:
        raise Invalid(f"body: not a {kind} image") from err


def fit(size: tuple[int, int], box: tuple[int, int]) -> tuple[int, int]:
    """The size that fits `box` keeping the aspect ratio, never larger than `size`."""
    width, height = size
    scale = min(1.0, box[0] / width, box[1] / height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def _eight_bit(image: Image.Image) -> Image.Image:
    """A 16-bit grey PNG (mode I;16) as 8-bit grey: converted as it is, every level above 255
    would be white."""
    if not image.mode.startswith("I"):
        return image
    return image.convert("I").point(lambda level: level / 256).convert("L")


def _srgb(image: Image.Image, profile: bytes | None) -> Image.Image:
    """The picture in sRGB, as RGB or (when it has any transparency) RGBA. Without a profile
    its colours are taken as sRGB already; a profile that cannot be read or does not fit the
    picture's colours (a CMYK profile on an RGB picture) is ignored the same way."""
    alpha = image.has_transparency_data
    mode = "RGBA" if alpha else "RGB"
    if profile:
        kept = image.mode == "RGBA" if alpha else image.mode in OPAQUE_MODES
        source = image if kept else image.convert(mode)
        try:
            converted = ImageCms.profileToProfile(
                source, ImageCms.ImageCmsProfile(io.BytesIO(profile)), SRGB,
                outputMode="RGBA" if source.mode == "RGBA" else "RGB")
        except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
            converted = None
        if converted is not None:
            return converted
    return image if image.mode == mode else image.convert(mode)


def _webp(image: Image.Image) -> bytes:
    """The WebP's bytes; nothing of the upload's metadata (EXIF, ICC, XMP) goes in."""
    image.info.clear()
    out = io.BytesIO()
    image.save(out, "WEBP", quality=QUALITY)
    return out.getvalue()


def photo_name(dish_id: int, webp: bytes) -> str:
    """Where a dish's photo lives under the media dir: the hash of its bytes in the name, so
    a new photo is a new URL and every URL may be cached for good."""
    digest = hashlib.sha256(webp).hexdigest()[:HASH_HEX]
    return f"{MENU_FOLDER}/{dish_id}-{digest}.webp"


def media_url(name: str) -> str:
    return MEDIA_URL + name


def media_name(url: str) -> str | None:
    """The file under the media dir a URL of ours names; None for any other text."""
    return url.removeprefix(MEDIA_URL) if url.startswith(MEDIA_URL) else None
