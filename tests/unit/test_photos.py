"""A dish's photo made the menu's WebP (core/photos.py), and its files (store/media.py):
pictures made in memory, no sockets."""

from __future__ import annotations

import hashlib
import io
import os
import warnings
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from robodyne.core.errors import Invalid
from robodyne.core.photos import MAX_PIXELS, fit, media_name, media_url, menu_photo, photo_name
from robodyne.settings import load_settings
from robodyne.store.media import MediaFiles
from tests.support.images import (
    BLUE,
    RED,
    adobe_rgb_profile,
    encoded,
    halves,
    jpeg,
    opened,
    png,
    srgb_profile,
    webp_chunks,
)

# Adobe RGB (1998) to sRGB by the published matrices (D65), not by LittleCMS: what the server
# computes is checked against arithmetic of its own.
ADOBE_TO_XYZ = ((0.5767309, 0.1855540, 0.1881852), (0.2973769, 0.6273491, 0.0752741),
                (0.0270343, 0.0706872, 0.9911085))
XYZ_TO_SRGB = ((3.2404542, -1.5371385, -0.4985314), (-0.9692660, 1.8760108, 0.0415560),
               (0.0556434, -0.2040259, 1.0572252))
# A lossy WebP of a flat colour is within a few levels of it.
LEVELS = 8


def near(pixel: Any, colour: tuple[int, ...]) -> bool:
    return all(abs(a - b) <= LEVELS for a, b in zip(pixel, colour))


def adobe_in_srgb(colour: tuple[int, int, int]) -> tuple[int, ...]:
    linear = [(v / 255) ** (563 / 256) for v in colour]
    xyz = [sum(m * v for m, v in zip(row, linear)) for row in ADOBE_TO_XYZ]
    srgb = [min(1.0, max(0.0, sum(m * v for m, v in zip(row, xyz)))) for row in XYZ_TO_SRGB]
    return tuple(round(255 * (12.92 * v if v <= 0.0031308 else 1.055 * v ** (1 / 2.4) - 0.055))
                 for v in srgb)


def test_a_photo_turned_by_its_exif_is_stored_upright() -> None:
    # Orientation 6: the camera was turned; shown, the picture turns 90° clockwise, so its
    # left half (red) comes on top.
    made = opened(menu_photo(jpeg((400, 200), orientation=6), "image/jpeg"))
    assert made.format == "WEBP" and made.size == (200, 400)
    assert near(made.getpixel((100, 50)), RED) and near(made.getpixel((100, 350)), BLUE)


def test_a_photo_with_broken_exif_is_taken_as_it_is_and_nothing_is_warned() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6
    broken = exif.tobytes()[:-6]
    with warnings.catch_warnings(record=True) as warned:
        warnings.simplefilter("always")
        made = opened(menu_photo(encoded(halves((400, 200)), "JPEG", exif=broken), "image/jpeg"))
    assert made.size == (400, 200) and warned == []


def test_no_metadata_of_the_upload_is_kept() -> None:
    upload = jpeg(orientation=1, icc_profile=srgb_profile(),
                  xmp=b'<x:xmpmeta xmlns:x="adobe:ns:meta/">secret</x:xmpmeta>')
    assert {"exif", "icc_profile", "xmp"} <= set(Image.open(io.BytesIO(upload)).info)
    data = menu_photo(upload, "image/jpeg")
    made = opened(data)
    assert not {"exif", "icc_profile", "xmp"} & set(made.info)
    assert set(webp_chunks(data)) <= {b"VP8 ", b"VP8L", b"VP8X", b"ALPH"}
    assert b"secret" not in data


@pytest.mark.parametrize("size,fitted", [
    ((4000, 3000), (800, 600)), ((3000, 4000), (600, 800)), ((1600, 400), (800, 200)),
    ((200, 100), (200, 100)), ((800, 800), (800, 800)), ((1, 1), (1, 1)),
])
def test_a_photo_is_scaled_down_to_fit_800_never_up(size: tuple[int, int],
                                                    fitted: tuple[int, int]) -> None:
    assert fit(size, (800, 800)) == fitted
    made = opened(menu_photo(encoded(halves(size), "JPEG"), "image/jpeg"))
    assert made.size == fitted


def test_a_png_with_transparency_keeps_it() -> None:
    picture = halves((300, 100), "RGBA", left=(*RED, 255), right=(0, 0, 0, 0))
    made = opened(menu_photo(encoded(picture, "PNG"), "image/png"))
    assert made.mode == "RGBA" and made.size == (300, 100)
    assert near(made.getpixel((20, 50)), (*RED, 255)) and made.getpixel((280, 50))[3] == 0


def test_an_opaque_picture_has_no_alpha() -> None:
    made = opened(menu_photo(encoded(halves((100, 50)).convert("P"), "PNG"), "image/png"))
    assert made.mode == "RGB"


def test_an_adobe_rgb_photo_is_converted_to_srgb_and_loses_its_profile() -> None:
    colour = (100, 150, 200)
    upload = encoded(Image.new("RGB", (64, 64), colour), "PNG", icc_profile=adobe_rgb_profile())
    made = opened(menu_photo(upload, "image/png"))
    expected = adobe_in_srgb(colour)
    assert abs(expected[0] - colour[0]) > 3 * LEVELS  # the two differ: a real conversion
    assert near(made.getpixel((32, 32)), expected), (made.getpixel((32, 32)), expected)
    assert "icc_profile" not in made.info


def test_a_cmyk_jpeg_ends_as_srgb_without_a_profile() -> None:
    upload = encoded(Image.new("CMYK", (64, 64), (0, 255, 255, 0)), "JPEG", quality=95)
    made = opened(menu_photo(upload, "image/jpeg"))
    assert made.mode == "RGB" and "icc_profile" not in made.info
    assert near(made.getpixel((32, 32)), (255, 0, 0))


def test_a_profile_that_does_not_fit_the_picture_is_taken_as_srgb() -> None:
    colour = (100, 150, 200)
    grey = bytes(adobe_rgb_profile()[:16]) + b"GRAY" + adobe_rgb_profile()[20:]
    for profile in (b"not a profile", grey):
        upload = encoded(Image.new("RGB", (64, 64), colour), "PNG", icc_profile=profile)
        assert near(opened(menu_photo(upload, "image/png")).getpixel((32, 32)), colour)


def test_a_sixteen_bit_grey_png_keeps_its_levels() -> None:
    made = opened(menu_photo(encoded(Image.new("I;16", (40, 40), 0x8000), "PNG"), "image/png"))
    assert near(made.getpixel((20, 20)), (128, 128, 128))


def test_a_webp_is_taken_too() -> None:
    upload = encoded(halves((1000, 500)), "WEBP")
    assert opened(menu_photo(upload, "image/webp")).size == (800, 400)


@pytest.mark.parametrize("data,content_type,says", [
    (b"garbage", "image/jpeg", "not a JPEG image"),
    (encoded(halves((20, 20)), "PNG"), "image/jpeg", "not a JPEG image"),
    (jpeg(), "image/png", "not a PNG image"),
    (jpeg(), "image/webp", "not a WEBP image"),
    (jpeg()[:2000], "image/jpeg", "not a readable JPEG image"),
    (png(100, 100, rows=False), "image/png", "not a readable PNG image"),
])
def test_bytes_that_are_not_that_type_are_refused(data: bytes, content_type: str,
                                                  says: str) -> None:
    with pytest.raises(Invalid, match=says):
        menu_photo(data, content_type)


@pytest.mark.parametrize("size,rows", [
    # A real PNG of 40 MP and a row: refused from its header, by our limit.
    ((8000, 5001), True),
    # 100 MP: over Pillow's own warning, which is a refusal here too.
    ((10_000, 10_000), False),
    # 400 MP in 50 KB, every row there: Pillow's own bomb check refuses it at the header.
    ((20_000, 20_000), True),
])
def test_a_picture_of_more_than_40_megapixels_is_refused_before_decoding(
        size: tuple[int, int], rows: bool) -> None:
    assert size[0] * size[1] > MAX_PIXELS
    with pytest.raises(Invalid, match="40 megapixels"):
        menu_photo(png(*size, rows=rows), "image/png")


def test_40_megapixels_exactly_are_taken() -> None:
    assert opened(menu_photo(png(8000, 5000), "image/png")).size == (800, 500)


def test_a_photo_is_named_by_its_dish_and_the_hash_of_its_bytes() -> None:
    name = photo_name(12, b"webp bytes")
    assert name == f"menu/12-{hashlib.sha256(b'webp bytes').hexdigest()[:16]}.webp"
    assert media_url(name) == "/media/" + name and media_name(media_url(name)) == name
    assert media_name("/photos/x.webp") is None


def test_the_media_dir_is_beside_the_database_unless_set(tmp_path: Path) -> None:
    config = tmp_path / "robodyne.toml"
    config.write_text('[database]\npath = "/srv/r/robodyne.db"\n')
    assert load_settings(["--config", str(config)], {}).media_dir() == Path("/srv/r/media")
    config.write_text('[media]\ndir = "/srv/photos"\n')
    assert load_settings(["--config", str(config)], {}).media_dir() == Path("/srv/photos")


def test_a_file_is_written_whole_and_found_by_its_name_only(tmp_path: Path) -> None:
    files = MediaFiles(tmp_path / "media")
    files.write("menu/1-00aa.webp", b"photo")
    assert (tmp_path / "media/menu/1-00aa.webp").read_bytes() == b"photo"
    assert os.listdir(tmp_path / "media/menu") == ["1-00aa.webp"]  # no temporary left
    assert files.find("menu/1-00aa.webp") == tmp_path / "media/menu/1-00aa.webp"
    (tmp_path / "secret.webp").write_bytes(b"not ours")
    (tmp_path / "media/menu/notes.txt").write_bytes(b"not a photo")
    for name in ("menu/../../secret.webp", "../secret.webp", "/etc/passwd", "menu/notes.txt",
                 "menu/.1-00aa.webp", "menu//1-00aa.webp", "menu\\1-00aa.webp", "",
                 "menu/1-00aa.webp\0", "menu/2-00aa.webp", "menu"):
        assert files.find(name) is None, name
    with pytest.raises(ValueError):
        files.write("../secret.webp", b"x")


def test_a_symbolic_link_under_the_media_dir_is_never_followed(tmp_path: Path) -> None:
    files = MediaFiles(tmp_path / "media")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside/1-00aa.webp").write_bytes(b"outside")
    (tmp_path / "media").mkdir()
    (tmp_path / "media/menu").symlink_to(tmp_path / "outside")
    (tmp_path / "media/link.webp").symlink_to(tmp_path / "outside/1-00aa.webp")
    assert files.find("menu/1-00aa.webp") is None and files.find("link.webp") is None
    files.remove("link.webp")
    assert (tmp_path / "outside/1-00aa.webp").exists()


def test_removing_a_file_that_is_not_there_is_no_error(tmp_path: Path) -> None:
    files = MediaFiles(tmp_path / "media")
    files.remove("menu/1-00aa.webp")
    files.write("menu/1-00aa.webp", b"photo")
    files.remove("menu/1-00aa.webp")
    assert files.find("menu/1-00aa.webp") is None
