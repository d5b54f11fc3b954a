"""Residents' photos: checked by decoding, re-encoded without metadata, stored under new names.

- **Type** is what Pillow finds by decoding the bytes (JPEG, PNG or WebP), never the declared
  content type or file name: anything else is :class:`PhotoRefused` with ``status`` 415.
- **Size**: over ``max_bytes`` → 413; over :data:`MAX_PIXELS` (a small file can decode into
  gigabytes) → 422, checked from the header before decoding.
- **Public copy**: rotated upright from the EXIF orientation, shrunk to :data:`PUBLIC_MAX_SIDE`,
  re-encoded as a baseline JPEG with *no* metadata at all (EXIF, GPS, XMP, ICC, comments): a
  resident's phone writes where they live into its photos.
- **Original**: kept as uploaded (the evidence), readable by operators only.
- **Files**: ``<root>/original/<id>.<ext>`` and ``<root>/public/<id>.jpg``, ``id`` 32 random hex
  digits chosen here, created exclusively (``O_EXCL``) with mode 0600; the client's file name is
  never used. :func:`store_photos` writes all of a report's photos or none.
"""

from __future__ import annotations

import io
import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

_log = logging.getLogger(__name__)
FORMATS = {
    "JPEG": ("image/jpeg", "jpg"),
    "PNG": ("image/png", "png"),
    "WEBP": ("image/webp", "webp"),
}
MAX_PIXELS = 40_000_000
PUBLIC_MAX_SIDE = 1600
PUBLIC_QUALITY = 85
PHOTO_ID_PATTERN = r"^[0-9a-f]{32}$"


class PhotoRefused(ValueError):
    """A photo we do not take: ``status`` is the HTTP status to answer (413, 415 or 422)."""

    def __init__(self, index: int, status: int, reason: str) -> None:
        self.index = index
        self.status = status
        self.reason = reason
        super().__init__(f"photos[{index}]: {reason}")


@dataclass(frozen=True, slots=True)
class CheckedPhoto:
    id: str
    media_type: str
    extension: str
    original: bytes
    public: bytes
    width: int
    height: int


def check_photo(index: int, data: bytes, max_bytes: int) -> CheckedPhoto:
    """Decode, check and re-encode one upload (module doc); CPU-bound: run it on a thread."""
    if len(data) > max_bytes:
        raise PhotoRefused(index, 413, f"{len(data)} bytes; at most {max_bytes} per photo")
    if not data:
        raise PhotoRefused(index, 422, "empty file")
    try:
        with Image.open(io.BytesIO(data)) as probe:
            found = probe.format
            width, height = probe.size
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        raise PhotoRefused(index, 415, "not a JPEG, PNG or WebP image") from None
    if found not in FORMATS:
        raise PhotoRefused(index, 415, f"{found} images are not taken: JPEG, PNG or WebP")
    if width * height > MAX_PIXELS:
        raise PhotoRefused(index, 422, f"{width}x{height} pixels; at most {MAX_PIXELS} in all")
    try:
        public = _public_copy(data)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        raise PhotoRefused(index, 415, "the image is damaged and cannot be decoded") from None
    media_type, extension = FORMATS[found]
    return CheckedPhoto(secrets.token_hex(16), media_type, extension, data, public, width, height)


def _public_copy(data: bytes) -> bytes:
    with Image.open(io.BytesIO(data)) as image:
        width, height = image.size
        scale = min(1.0, PUBLIC_MAX_SIDE / max(width, height))
        # JPEG only: decode straight at the smallest DCT scale still >= the public size, far
        # cheaper on a 12 Mpx phone photo than decoding it whole and resampling every pixel.
        image.draft("RGB", (max(1, round(width * scale)), max(1, round(height * scale))))
        image.load()
        upright = ImageOps.exif_transpose(image)
        if upright.mode in ("RGBA", "LA", "P"):
            rgba = upright.convert("RGBA")
            flat = Image.new("RGB", rgba.size, (255, 255, 255))
            flat.paste(rgba, mask=rgba.getchannel("A"))
            upright = flat
        elif upright.mode != "RGB":
            upright = upright.convert("RGB")
        upright.thumbnail((PUBLIC_MAX_SIDE, PUBLIC_MAX_SIDE))
        clean = Image.new("RGB", upright.size)
        clean.paste(upright)  # pixels only: no info dict, no EXIF, no ICC profile carried over
        out = io.BytesIO()
        clean.save(out, format="JPEG", quality=PUBLIC_QUALITY, optimize=True)
        return out.getvalue()


def original_path(root: Path, photo_id: str, extension: str) -> Path:
    return root / "original" / f"{photo_id}.{extension}"


def public_path(root: Path, photo_id: str) -> Path:
    return root / "public" / f"{photo_id}.jpg"


def extension_of(media_type: str) -> str:
    for known_type, extension in FORMATS.values():
        if known_type == media_type:
            return extension
    raise ValueError(f"media type {media_type!r} is not one of the stored photo types")


def store_photos(root: Path, photos: list[CheckedPhoto]) -> list[Path]:
    """Write every photo's two files; on any failure remove what was written and re-raise."""
    written: list[Path] = []
    try:
        for photo in photos:
            for path, data in (
                (original_path(root, photo.id, photo.extension), photo.original),
                (public_path(root, photo.id), photo.public),
            ):
                path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                _write_new(path, data)
                written.append(path)
    except BaseException:
        remove_files(written)
        raise
    return written


def remove_files(paths: list[Path]) -> None:
    for path in paths:
        try:
            path.unlink(missing_ok=True)
        except OSError as error:
            _log.error("could not remove photo file %s: %s", path, error)


def _write_new(path: Path, data: bytes) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)
        file.flush()
        os.fsync(file.fileno())
