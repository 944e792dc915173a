"""Files people upload (skill evidence, job attachments, deliveries): one abstract model and
one way to store them. Their type is sniffed from the bytes (matching.evidence.check_upload);
they live in private storage, outside the web root, and are served only after an access check
(marketplace.private_files)."""

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _

# The accepted types, with the extension given to the stored file.
ALLOWED_UPLOAD_TYPES = {"application/pdf": "pdf", "image/png": "png", "image/jpeg": "jpg"}


def private_upload_to(instance: "PrivateUpload", filename: str) -> str:
    # Never the uploader's file name on disk: a random name and the sniffed extension.
    extension = ALLOWED_UPLOAD_TYPES[instance.content_type]
    return f"{instance.upload_folder()}/{uuid.uuid4().hex}.{extension}"


class PrivateUpload(models.Model):
    file = models.FileField(_("file"), upload_to=private_upload_to, max_length=200)
    original_name = models.CharField(_("file name"), max_length=200)
    content_type = models.CharField(_("content type"), max_length=40)
    size = models.PositiveIntegerField(_("size in bytes"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)

    class Meta:
        abstract = True
        constraints = [
            models.CheckConstraint(
                condition=models.Q(content_type__in=list(ALLOWED_UPLOAD_TYPES)),
                name="%(app_label)s_%(class)s_allowed_type",
            ),
        ]

    def __str__(self) -> str:
        return self.original_name

    def upload_folder(self) -> str:
        """The folder (under private storage) of this kind of file."""
        raise NotImplementedError

    def store(self, upload, checked) -> "PrivateUpload":
        """Fill in the checked facts, write the file, then the row; if the row cannot be
        written, the file does not stay behind."""
        self.original_name = checked.name
        self.content_type = checked.content_type
        self.size = checked.size
        self.sha256 = checked.sha256
        self.file.save(checked.name, upload, save=False)
        try:
            self.save()
        except Exception:
            self.file.delete(save=False)
            raise
        return self
