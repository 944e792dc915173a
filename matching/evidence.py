"""Checking uploaded files (skill evidence, job attachments, deliveries, dispute evidence): type
by content (magic bytes), never by name or header; images decoded by Pillow within a pixel limit
(no decompression bomb, no truncated or polyglot image); no markup or script anywhere."""

import hashlib
import re
import warnings
from dataclasses import dataclass
from pathlib import PurePath

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext as _

MAX_EVIDENCE_BYTES = 5 * 1024 * 1024
# A 24-megapixel photo passes; a small file declaring 50,000 × 50,000 pixels does not. Decoding
# is what costs memory, so the declared size is checked before any pixel is decoded.
MAX_IMAGE_PIXELS = 24_000_000
# The first bytes of each accepted format.
SIGNATURES = {
    b"%PDF-": "application/pdf",
    b"\x89PNG\r\n\x1a\n": "image/png",
    b"\xff\xd8\xff": "image/jpeg",
}
EXTENSIONS = {"application/pdf": ".pdf", "image/png": ".png", "image/jpeg": ".jpg"}


@dataclass(frozen=True)
class CheckedUpload:
    name: str
    content_type: str
    size: int
    sha256: str


def sniff_content_type(head: bytes) -> str | None:
    for signature, content_type in SIGNATURES.items():
        if head.startswith(signature):
            return content_type
    return None


def safe_display_name(name: str, content_type: str) -> str:
    """The uploader's file name without any path, control characters, or a misleading suffix."""
    base = PurePath(name.replace("\\", "/")).name
    base = "".join(char for char in base if char.isprintable() and char not in '<>:"/|?*')
    stem = PurePath(base).stem[:150] or "evidence"
    return f"{stem}{EXTENSIONS[content_type]}"


def _too_large(upload: UploadedFile) -> ValidationError:
    return ValidationError(
        _("“%(name)s” is too large: at most %(max)d MB.")
        % {"name": upload.name, "max": MAX_EVIDENCE_BYTES // (1024 * 1024)},
        code="too_large",
    )


# Markup that has no business in a PDF, PNG or JPEG: what a browser or a viewer would run if the
# file were ever opened as something else (an SVG or HTML page dressed up as an image, a
# polyglot). Long enough patterns that compressed pixel data practically never matches them
# (about one 5 MB image in ten thousand, for "<svg" then a space).
_MARKUP = re.compile(rb"<(script|svg\s|html|iframe|\?php|!doctype\s+html)", re.I)
# Actions a PDF reader may run on opening (an optional, cheap check of the uncompressed syntax).
_PDF_ACTIONS = re.compile(rb"/(JavaScript|JS|Launch|EmbeddedFiles?)\b")
_PNG_END = b"IEND\xaeB`\x82"


def _refused(upload: UploadedFile, message: str, code: str) -> ValidationError:
    return ValidationError(message % {"name": upload.name}, code=code)


def _check_image(upload: UploadedFile, data: bytes, content_type: str) -> None:
    """Decode the image with Pillow: the format must match the bytes' signature, the declared
    size stay within MAX_IMAGE_PIXELS, and the whole image decode (no truncated data); a PNG
    ends at its IEND chunk (anything after it would make a polyglot)."""
    from io import BytesIO

    from PIL import Image, UnidentifiedImageError

    damaged = _("“%(name)s” is a damaged or incomplete image.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(BytesIO(data))
            width, height = image.size
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _refused(
            upload, _("“%(name)s” declares far too many pixels to be opened safely."), "bomb"
        ) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise _refused(upload, damaged, "damaged") from None
    expected = {"image/png": "PNG", "image/jpeg": "JPEG"}[content_type]
    if image.format != expected:
        raise _refused(upload, damaged, "damaged")
    if width * height > MAX_IMAGE_PIXELS:
        raise ValidationError(
            _("“%(name)s” is %(width)d × %(height)d pixels: at most %(max)d megapixels.")
            % {
                "name": upload.name,
                "width": width,
                "height": height,
                "max": MAX_IMAGE_PIXELS // 1_000_000,
            },
            code="bomb",
        )
    try:
        if expected == "PNG":
            image.verify()  # every chunk's checksum, up to IEND
            image = Image.open(BytesIO(data))
        else:
            # A JPEG decoded at 1/8 scale still reads every byte of the scan: a truncated file
            # fails, and memory stays small.
            image.draft("RGB", (max(1, width // 8), max(1, height // 8)))
        image.load()
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise _refused(upload, damaged, "damaged") from None
    if expected == "PNG" and not data.endswith(_PNG_END):
        raise _refused(upload, _("“%(name)s” has data hidden after the image."), "polyglot")


def _check_markup(upload: UploadedFile, data: bytes, content_type: str) -> None:
    if content_type == "application/pdf":
        if _PDF_ACTIONS.search(data):
            raise _refused(
                upload,
                _(
                    "“%(name)s” contains scripts or embedded actions: export it again as a plain PDF."
                ),
                "pdf_active",
            )
        # Compressed PDF streams are binary: only the text around them could hold markup.
        return
    if _MARKUP.search(data):
        raise _refused(
            upload, _("“%(name)s” contains web page or script code: it is refused."), "markup"
        )


def _describe_refused_type(upload: UploadedFile, head: bytes) -> ValidationError:
    """Why a file of another type is refused, said plainly for the common cases."""
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if b"<svg" in start or (start.startswith(b"<?xml") and b"svg" in start):
        message = _("“%(name)s” is an SVG image, which is not accepted: send a PNG or JPEG.")
    elif start.startswith((b"<!doctype", b"<html", b"<")):
        message = _("“%(name)s” is a web page (HTML), not a PDF, PNG or JPEG file.")
    elif head.startswith(b"MZ"):
        message = _("“%(name)s” is a program, not a PDF, PNG or JPEG file.")
    else:
        message = _("“%(name)s” is not a PDF, PNG or JPEG file.")
    return _refused(upload, message, "bad_type")


def check_upload(upload: UploadedFile) -> CheckedUpload:
    """Refuse anything but a PDF, PNG or JPEG of at most MAX_EVIDENCE_BYTES, judged by content.

    The size Django measured while streaming the request (large files go to a temporary file on
    disk, not to memory) is checked before a byte is read; the file is read only once it is
    known to be small."""
    if upload.size is not None and upload.size > MAX_EVIDENCE_BYTES:
        raise _too_large(upload)
    upload.seek(0)
    head = upload.read(512)
    content_type = sniff_content_type(head)
    if content_type is None:
        raise _describe_refused_type(upload, head)
    digest = hashlib.sha256(head)
    chunks = [head]
    size = len(head)
    for chunk in iter(lambda: upload.read(64 * 1024), b""):
        size += len(chunk)
        if size > MAX_EVIDENCE_BYTES:
            raise _too_large(upload)
        digest.update(chunk)
        chunks.append(chunk)
    upload.seek(0)
    data = b"".join(chunks)
    _check_markup(upload, data, content_type)
    if content_type != "application/pdf":
        _check_image(upload, data, content_type)
    return CheckedUpload(
        name=safe_display_name(upload.name or "", content_type),
        content_type=content_type,
        size=size,
        sha256=digest.hexdigest(),
    )
