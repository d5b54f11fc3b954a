"""Photo checks: type by decoding, limits, upright public copies without any metadata, files
written all or nothing under server-chosen names."""

from __future__ import annotations

import io
import os
import stat
from pathlib import Path

import pytest
from PIL import ExifTags, Image

from cloud.reports.photos import (
    PUBLIC_MAX_SIDE,
    PhotoRefused,
    check_photo,
    original_path,
    public_path,
    store_photos,
)


def encoded(image: Image.Image, fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def exif_with_gps(orientation: int = 1) -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.Base.Make] = "PhoneMaker"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (49.0, 28.0, 7.0)
    return exif


def test_jpeg_public_copy_is_upright_and_has_no_metadata() -> None:
    data = encoded(Image.new("RGB", (80, 40), "red"), "JPEG", exif=exif_with_gps(orientation=6))
    photo = check_photo(0, data, 1_000_000)
    assert photo.media_type == "image/jpeg"
    assert photo.original == data
    with Image.open(io.BytesIO(photo.public)) as public:
        assert public.format == "JPEG"
        assert public.size == (40, 80)  # orientation 6: rotated a quarter turn
        assert not public.getexif()
        assert "exif" not in public.info
        assert "icc_profile" not in public.info


def test_png_with_transparency_and_text_chunks_becomes_a_clean_jpeg() -> None:
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "chez moi, 12 rue des Lilas")
    data = encoded(Image.new("RGBA", (30, 30), (0, 0, 0, 0)), "PNG", pnginfo=info)
    photo = check_photo(0, data, 1_000_000)
    assert photo.media_type == "image/png"
    assert b"Lilas" not in photo.public
    with Image.open(io.BytesIO(photo.public)) as public:
        assert public.getpixel((5, 5)) == (255, 255, 255)


def test_webp_is_taken_and_large_photos_are_shrunk() -> None:
    data = encoded(Image.new("RGB", (3200, 1000), "blue"), "WEBP")
    photo = check_photo(2, data, 5_000_000)
    assert photo.media_type == "image/webp"
    with Image.open(io.BytesIO(photo.public)) as public:
        assert max(public.size) == PUBLIC_MAX_SIDE


@pytest.mark.parametrize(
    ("data", "status", "reason"),
    [
        (b"<svg xmlns='http://www.w3.org/2000/svg'><script/></svg>", 415, "not a JPEG"),
        (encoded(Image.new("RGB", (4, 4)), "GIF"), 415, "GIF"),
        (encoded(Image.new("RGB", (4, 4)), "JPEG")[:40], 415, "damaged|not a JPEG"),
        (b"", 422, "empty"),
        (b"\xff" * 2000, 413, "at most 1000"),
    ],
)
def test_refusals_carry_the_status_and_the_index(data: bytes, status: int, reason: str) -> None:
    with pytest.raises(PhotoRefused, match=reason) as refused:
        check_photo(1, data, 1000 if status == 413 else 1_000_000)
    assert refused.value.status == status
    assert refused.value.index == 1


def test_a_decompression_bomb_is_refused_before_decoding() -> None:
    data = encoded(Image.new("1", (8000, 6000)), "PNG")  # 48 Mpx in a few kB
    assert len(data) < 100_000
    with pytest.raises(PhotoRefused, match="pixels") as refused:
        check_photo(0, data, 1_000_000)
    assert refused.value.status == 422


def test_files_are_private_and_named_by_the_server(tmp_path: Path) -> None:
    photo = check_photo(0, encoded(Image.new("RGB", (8, 8)), "JPEG"), 1_000_000)
    written = store_photos(tmp_path, [photo])
    assert written == [original_path(tmp_path, photo.id, "jpg"), public_path(tmp_path, photo.id)]
    for path in written:
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert len(photo.id) == 32


def test_a_failed_write_removes_what_was_written(tmp_path: Path) -> None:
    first = check_photo(0, encoded(Image.new("RGB", (8, 8)), "JPEG"), 1_000_000)
    second = check_photo(1, encoded(Image.new("RGB", (8, 8)), "PNG"), 1_000_000)
    clash = public_path(tmp_path, second.id)
    clash.parent.mkdir(parents=True)
    clash.write_bytes(b"already there")  # O_EXCL refuses to overwrite it
    with pytest.raises(FileExistsError):
        store_photos(tmp_path, [first, second])
    left = sorted(p for p in tmp_path.rglob("*") if p.is_file())
    assert left == [clash]


def test_a_large_jpeg_is_decoded_reduced_and_shrunk_to_the_public_size() -> None:
    data = encoded(Image.new("RGB", (4000, 3000), "green"), "JPEG", exif=exif_with_gps(8))
    photo = check_photo(0, data, 5_000_000)
    assert (photo.width, photo.height) == (4000, 3000)
    with Image.open(io.BytesIO(photo.public)) as public:
        assert public.size == (1200, 1600)  # orientation 8: a quarter turn
        assert not public.getexif()
