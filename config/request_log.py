"""A request id on every log line and every response, to follow one request across the
proxy's log, gunicorn's access log and the application's own lines.

The id comes from the proxy's ``X-Request-ID`` header when it sends a sane one, else it is made
here; it goes back in the response's ``X-Request-ID`` (which gunicorn's access log prints, see
config/gunicorn.py) and into every log record written while the request runs.
"""

import logging
import re
import uuid
from contextvars import ContextVar

REQUEST_ID_HEADER = "X-Request-ID"
# Accept only ids that cannot forge log fields (no spaces, quotes or newlines), and not too long.
_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")

current_request_id: ContextVar[str] = ContextVar("current_request_id", default="-")


def request_id_for(incoming: str | None) -> str:
    if incoming and _SANE_ID.match(incoming):
        return incoming
    return uuid.uuid4().hex


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = request_id_for(request.headers.get(REQUEST_ID_HEADER))
        request.request_id = request_id
        token = current_request_id.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            current_request_id.reset(token)
        response.headers[REQUEST_ID_HEADER] = request_id
        return response


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to every record ("-" outside a request: commands, the task worker)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id.get()
        return True
