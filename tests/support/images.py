"""Pictures for the photo tests, made in memory: photos with EXIF and colour profiles, and
PNGs written by hand, whose header says what a decoder would allocate (a bomb) at little cost."""

from __future__ import annotations

import io
import struct
import zlib
from typing import Any, Final

from PIL import Image, ImageCms
from PIL.ExifTags import Base

RED: Final = (220, 30, 30)
BLUE: Final = (30, 30, 220)
# Adobe RGB (1998): its primaries and white (D65), adapted to the ICC's D50 (XYZ, as its
# published profile gives them), and its gamma 563/256.
ADOBE_RGB_XYZ: Final = ((0.60974, 0.31111, 0.01947), (0.20528, 0.62567, 0.06087),
                        (0.14919, 0.06322, 0.74457))
D50: Final = (0.9642, 1.0, 0.8249)
ADOBE_GAMMA_U8F8: Final = 563


def halves(size: tuple[int, int], mode: str = "RGB", left: Any = RED, right: Any = BLUE
           ) -> Image.Image:
    """A picture whose left half is one colour and right half another."""
    image = Image.new(mode, size, right)
    image.paste(left, (0, 0, size[0] // 2, size[1]))
    return image


def encoded(image: Image.Image, kind: str, **params: Any) -> bytes:
    out = io.BytesIO()
    image.save(out, kind, **params)
    return out.getvalue()


def jpeg(size: tuple[int, int] = (400, 200), orientation: int | None = None,
         **params: Any) -> bytes:
    """Red and blue halves as a JPEG, with that EXIF orientation."""
    image = halves(size)
    if orientation is not None:
        exif = Image.Exif()
        exif[Base.Orientation] = orientation  # 6: turn 90° clockwise to show
        params["exif"] = exif.tobytes()
    return encoded(image, "JPEG", quality=95, **params)


def srgb_profile() -> bytes:
    return bytes(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())


def _tag(signature: bytes, body: bytes) -> tuple[bytes, bytes]:
    return signature, body + b"\0" * (-len(body) % 4)


def _xyz(x: float, y: float, z: float) -> bytes:
    return b"XYZ \0\0\0\0" + struct.pack(">3i", *(round(v * 65536) for v in (x, y, z)))


def adobe_rgb_profile() -> bytes:
    """A matrix/TRC ICC v2 profile of Adobe RGB (1998), written out field by field."""
    text = b"Adobe RGB (1998) test"
    description = (b"desc\0\0\0\0" + struct.pack(">I", len(text) + 1) + text + b"\0"
                   + b"\0" * 8 + b"\0" * 70)  # no Unicode nor ScriptCode text
    curve = b"curv\0\0\0\0" + struct.pack(">IH", 1, ADOBE_GAMMA_U8F8)
    tags = [_tag(b"desc", description), _tag(b"cprt", b"text\0\0\0\0none\0"),
            _tag(b"wtpt", _xyz(*D50)), _tag(b"rXYZ", _xyz(*ADOBE_RGB_XYZ[0])),
            _tag(b"gXYZ", _xyz(*ADOBE_RGB_XYZ[1])), _tag(b"bXYZ", _xyz(*ADOBE_RGB_XYZ[2])),
            _tag(b"rTRC", curve), _tag(b"gTRC", curve), _tag(b"bTRC", curve)]
    table_size = 4 + 12 * len(tags)
    offset = 128 + table_size
    table, data = struct.pack(">I", len(tags)), b""
    for signature, body in tags:
        table += signature + struct.pack(">II", offset + len(data), len(body))
        data += body
    size = 128 + table_size + len(data)
    header = (struct.pack(">I", size) + b"none" + bytes([2, 0x10, 0, 0]) + b"mntr" + b"RGB "
              + b"XYZ " + b"\0" * 12 + b"acsp" + b"\0" * 24
              + struct.pack(">I", 0) + struct.pack(">3i", *(round(v * 65536) for v in D50))
              + b"\0" * 48)
    assert len(header) == 128, len(header)
    return header + table + data


def png(width: int, height: int, *, rows: bool = True) -> bytes:
    """A black 1-bit grey PNG of any size, written by hand: its rows are compressed as they
    are made (a 20000 × 20000 one is some 50 KB and never whole in memory). rows=False: the
    header alone, with no pixel data at all."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body)))

    header = chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0))
    pixels = b""
    if rows:
        packer = zlib.compressobj(9)
        row = bytes(1 + (width + 7) // 8)  # filter "none", then the row's bits
        pixels = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    return b"\x89PNG\r\n\x1a\n" + header + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def webp_chunks(data: bytes) -> list[bytes]:
    """The FourCCs of a WebP file's chunks (RIFF): where EXIF, ICCP or XMP would show."""
    assert data[:4] == b"RIFF" and data[8:12] == b"WEBP", data[:16]
    found, at = [], 12
    while at + 8 <= len(data):
        kind, size = data[at:at + 4], struct.unpack("<I", data[at + 4:at + 8])[0]
        found.append(kind)
        at += 8 + size + size % 2
    return found


def opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image
