"""Serving an uploaded file (evidence, attachment, delivery) once its access has been checked."""

from django.http import FileResponse


def private_file_response(record) -> FileResponse:
    """`record` has `file`, `content_type` (sniffed at upload) and `original_name`.

    PDFs are downloaded, images shown; the browser must not guess the type, run anything in
    it, or keep a copy in a shared cache."""
    response = FileResponse(
        record.file.open("rb"),
        content_type=record.content_type,
        as_attachment=record.content_type == "application/pdf",
        filename=record.original_name,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response
