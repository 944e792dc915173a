"""Checking uploaded evidence files: type by content (magic bytes), never by name or header."""

import hashlib
from dataclasses import dataclass
from pathlib import PurePath

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext as _

MAX_EVIDENCE_BYTES = 5 * 1024 * 1024
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


def check_upload(upload: UploadedFile) -> CheckedUpload:
    """Refuse anything but a PDF, PNG or JPEG of at most MAX_EVIDENCE_BYTES, judged by content."""
    if upload.size is not None and upload.size > MAX_EVIDENCE_BYTES:
        raise ValidationError(
            _("“%(name)s” is too large: at most %(max)d MB.")
            % {"name": upload.name, "max": MAX_EVIDENCE_BYTES // (1024 * 1024)},
            code="too_large",
        )
    upload.seek(0)
    head = upload.read(16)
    content_type = sniff_content_type(head)
    if content_type is None:
        raise ValidationError(
            _("“%(name)s” is not a PDF, PNG or JPEG file.") % {"name": upload.name},
            code="bad_type",
        )
    digest = hashlib.sha256(head)
    size = len(head)
    for chunk in iter(lambda: upload.read(64 * 1024), b""):
        size += len(chunk)
        if size > MAX_EVIDENCE_BYTES:
            raise ValidationError(
                _("“%(name)s” is too large: at most %(max)d MB.")
                % {"name": upload.name, "max": MAX_EVIDENCE_BYTES // (1024 * 1024)},
                code="too_large",
            )
        digest.update(chunk)
    upload.seek(0)
    return CheckedUpload(
        name=safe_display_name(upload.name or "", content_type),
        content_type=content_type,
        size=size,
        sha256=digest.hexdigest(),
    )
