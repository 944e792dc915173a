"""Hostile files on every upload form (skill evidence, job attachments, deliveries, dispute
evidence): each is refused with its reason next to the file field, the rest of the input kept,
and nothing stored (no row, no file on disk)."""

import random
import struct
import zlib
from io import BytesIO
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation
from PIL import Image

from marketplace.forms_contracts import milestone_prefix
from marketplace.models import DeliveryFile, DisputeEvidenceFile, DisputeReason, Job, JobAttachment
from marketplace.services import disputes as dispute_services
from marketplace.services import milestones as milestone_services
from matching import evidence
from matching.models import EvidenceFile, Skill, SkillClaim
from tests.factories import (
    EXE_BYTES,
    JPEG_BYTES,
    PDF_BYTES,
    PNG_BYTES,
    ClientFactory,
    MemberFactory,
    fund_milestone,
    make_contract,
)

pytestmark = pytest.mark.django_db


# --- hostile files ---------------------------------------------------------------------------


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_declaring(width: int, height: int) -> bytes:
    """A tiny, well-formed PNG (valid checksums) that declares width × height pixels: a 1-bit
    greyscale image whose rows of zeros compress to almost nothing."""
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    row = b"\x00" * (1 + (width + 7) // 8)
    compressor = zlib.compressobj(9)
    pixels = b"".join(compressor.compress(row) for _ in range(min(height, 2000)))
    pixels += compressor.flush()
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", pixels)
        + _png_chunk(b"IEND", b"")
    )


def jpeg_declaring(width: int, height: int) -> bytes:
    """A real JPEG whose frame header (SOF0) is rewritten to declare width × height pixels."""
    data = bytearray(JPEG_BYTES)
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def noisy_png(size: int = 64) -> bytes:
    """A PNG of random pixels: it does not compress, so cutting it loses image data."""
    buffer = BytesIO()
    pixels = random.Random(11).randbytes(size * size * 3)
    Image.frombytes("RGB", (size, size), pixels).save(buffer, "PNG")
    return buffer.getvalue()


SVG_WITH_SCRIPT = (
    b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b"<script>fetch('/api/contracts/').then(r=>r.text()).then(alert)</script></svg>"
)
HTML_PAGE = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
PDF_WITH_JAVASCRIPT = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/OpenAction<</S/JavaScript/JS(app.alert(1))>>>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)

# (case, file name, content type sent by the browser, bytes, words the refusal must contain)
HOSTILE = [
    (
        "oversize",
        "capture.png",
        "image/png",
        PNG_BYTES + b"\0" * evidence.MAX_EVIDENCE_BYTES,
        "too large",
    ),
    ("html_named_pdf", "devis.pdf", "application/pdf", HTML_PAGE, "web page"),
    ("exe_named_png", "photo.png", "image/png", EXE_BYTES, "program"),
    ("svg_with_script", "logo.svg", "image/svg+xml", SVG_WITH_SCRIPT, "SVG"),
    ("svg_named_png", "logo.png", "image/png", SVG_WITH_SCRIPT, "SVG"),
    ("png_bomb_50000", "plan.png", "image/png", png_declaring(50_000, 50_000), "pixels"),
    ("png_bomb_10000", "plan.png", "image/png", png_declaring(10_000, 10_000), "pixels"),
    ("jpeg_bomb", "photo.jpg", "image/jpeg", jpeg_declaring(50_000, 50_000), "pixels"),
    ("truncated_png", "capture.png", "image/png", noisy_png()[:-200], "damaged"),
    ("truncated_jpeg", "photo.jpg", "image/jpeg", JPEG_BYTES[: len(JPEG_BYTES) // 2], "damaged"),
    ("png_then_html", "capture.png", "image/png", PNG_BYTES + HTML_PAGE, "web page"),
    ("png_then_zip", "capture.png", "image/png", PNG_BYTES + b"PK\x03\x04" + b"\0" * 40, "hidden"),
    ("jpeg_then_script", "photo.jpg", "image/jpeg", JPEG_BYTES + b"<script>x()</script>", "script"),
    ("pdf_with_javascript", "devis.pdf", "application/pdf", PDF_WITH_JAVASCRIPT, "scripts"),
]
HOSTILE_IDS = [case[0] for case in HOSTILE]


def hostile_upload(name: str, content_type: str, data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


def stored_files() -> list[Path]:
    root = Path(django_settings.PRIVATE_MEDIA_ROOT)
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


# --- the check itself ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "name", "content_type", "data", "words"), HOSTILE, ids=HOSTILE_IDS
)
def test_check_upload_refuses_with_a_reason(case, name, content_type, data, words):
    with translation.override("en"), pytest.raises(ValidationError) as refused:
        evidence.check_upload(hostile_upload(name, content_type, data))
    message = refused.value.messages[0]
    assert words.lower() in message.lower(), message
    assert name in message


@pytest.mark.parametrize(
    ("name", "data", "content_type"),
    [
        ("attestation.pdf", PDF_BYTES, "application/pdf"),
        ("capture.png", PNG_BYTES, "image/png"),
        ("photo.jpg", JPEG_BYTES, "image/jpeg"),
        ("grand.png", noisy_png(256), "image/png"),
    ],
)
def test_honest_files_still_pass(name, data, content_type):
    checked = evidence.check_upload(hostile_upload(name, "application/octet-stream", data))
    assert checked.content_type == content_type
    assert checked.size == len(data)


def test_a_large_file_is_refused_from_its_measured_size_without_being_read():
    class Unreadable(SimpleUploadedFile):
        def read(self, *args, **kwargs):  # pragma: no cover - failing here is the bug
            raise AssertionError("an oversize file must be refused before it is read")

    upload = Unreadable("big.pdf", PDF_BYTES, content_type="application/pdf")
    upload.size = evidence.MAX_EVIDENCE_BYTES + 1
    with pytest.raises(ValidationError) as refused:
        evidence.check_upload(upload)
    assert refused.value.code == "too_large"


def test_a_big_photo_within_the_pixel_limit_passes():
    buffer = BytesIO()
    Image.new("RGB", (4000, 3000), (10, 120, 200)).save(buffer, "JPEG", quality=30)
    checked = evidence.check_upload(hostile_upload("chantier.jpg", "image/jpeg", buffer.getvalue()))
    assert checked.content_type == "image/jpeg"


# --- every upload form -----------------------------------------------------------------------


def english(client):
    client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def _skill_evidence(client):
    member = MemberFactory()
    english(client).force_login(member)
    css = Skill.objects.get(label_en="style sheet languages")
    data = {
        "skill": str(css.pk),
        "self_level": "advanced",
        "description": "Feuilles de style du site de la boulangerie, responsive.",
        "links": "https://boulangerie.example.be",
    }
    return reverse("skill_claim_new"), data, "files", "id_files_error", "boulangerie.example.be"


def _job_attachment(client):
    from tests.test_jobs_lifecycle import job_form

    english(client).force_login(ClientFactory())
    return reverse("job_create"), job_form(), "attachments", "id_attachments_error", "boulangerie"


def _delivery(client):
    contract = make_contract()
    milestone = contract.milestones.get(position=1)
    fund_milestone(milestone)
    member = contract.member.user
    milestone_services.milestone_start(milestone=milestone, member=member)
    english(client).force_login(member)
    prefix = milestone_prefix(milestone.pk)
    data = {f"{prefix}-message": "Les maquettes sont prêtes, texte gardé."}
    url = reverse("milestone_deliver", args=[contract.pk, milestone.pk])
    return url, data, f"{prefix}-files", f"id_{prefix}-files_error", "texte gardé"


def _dispute_evidence(client):
    contract = make_contract()
    milestone = contract.milestones.get(position=1)
    fund_milestone(milestone)
    member = contract.member.user
    milestone_services.milestone_start(milestone=milestone, member=member)
    milestone_services.milestone_deliver(milestone=milestone, member=member, message="Livré.")
    dispute = dispute_services.dispute_open(
        milestone=milestone,
        by=contract.client,
        reason=DisputeReason.NOT_AS_AGREED,
        account="Le site ne correspond pas.",
        member_cents=20000,
    )
    english(client).force_login(member)
    data = {"text": "Voici la preuve, texte gardé."}
    url = reverse("dispute_evidence", args=[dispute.pk])
    return url, data, "files", "id_files_error", "texte gardé"


FORMS = {
    "skill_evidence": (_skill_evidence, lambda: (SkillClaim, EvidenceFile)),
    "job_attachment": (_job_attachment, lambda: (Job, JobAttachment)),
    "delivery": (_delivery, lambda: (DeliveryFile,)),
    "dispute_evidence": (_dispute_evidence, lambda: (DisputeEvidenceFile,)),
}


@pytest.mark.parametrize("form_name", list(FORMS))
@pytest.mark.parametrize(
    ("case", "name", "content_type", "data", "words"), HOSTILE, ids=HOSTILE_IDS
)
def test_every_upload_form_refuses_hostile_files(
    client, form_name, case, name, content_type, data, words
):
    # Given a user on an upload form, with their text typed in
    build, models = FORMS[form_name]
    url, form_data, field, error_id, kept_text = build(client)
    counts_before = {model: model.objects.count() for model in models()}
    files_before = stored_files()
    # When they send the hostile file
    response = client.post(url, {**form_data, field: [hostile_upload(name, content_type, data)]})
    # Then the form comes back with the reason next to the file field, their input kept
    assert response.status_code == 200
    html = response.content.decode()
    assert f'id="{error_id}"' in html
    error_list = html.split(f'id="{error_id}"', 1)[1].split("</ul>", 1)[0]
    assert words.lower() in error_list.lower(), error_list
    assert kept_text in html
    # And nothing was stored
    assert {model: model.objects.count() for model in models()} == counts_before
    assert stored_files() == files_before
