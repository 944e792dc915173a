"""The one check of what people hand in with a message: the text, links and files of a
delivery or of dispute evidence (files judged by their bytes, see matching.evidence)."""

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.validators import URLValidator
from django.utils.translation import gettext as _

from matching import evidence


def check_submission(
    *,
    text_field: str,
    text: str,
    empty_message: str,
    links: list[str],
    files: list[UploadedFile],
    max_text: int,
    max_links: int,
    max_files: int,
) -> list:
    """Raise a ValidationError with every problem by field, or return the files with what
    their check learnt of them: [(upload, info)], read before any lock is taken."""
    errors: dict[str, list[str]] = {}
    if not text.strip():
        errors[text_field] = [empty_message]
    elif len(text) > max_text:
        errors[text_field] = [_("At most %(max)d characters.") % {"max": max_text}]
    if len(links) > max_links:
        errors["links"] = [_("At most %(max)d links, please.") % {"max": max_links}]
    check_url = URLValidator(schemes=["http", "https"])
    for link in links:
        try:
            check_url(link)
        except ValidationError:
            errors.setdefault("links", []).append(
                _("“%(link)s” is not a web address (it should start with https://).")
                % {"link": link}
            )
    if len(files) > max_files:
        errors["files"] = [_("At most %(max)d files, please.") % {"max": max_files}]
    checked = []
    for upload in files:
        try:
            checked.append((upload, evidence.check_upload(upload)))
        except ValidationError as error:
            errors.setdefault("files", []).extend(error.messages)
    if errors:
        raise ValidationError(errors)
    return checked
