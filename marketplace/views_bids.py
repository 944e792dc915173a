"""Bid pages (being written): placeholders that answer 404 so that the routes resolve."""

from django.http import Http404


def _not_yet(request, **kwargs):
    raise Http404


bid_new = job_bids = bid_detail = bid_edit = bid_withdraw = _not_yet
bid_shortlist = bid_messages = bid_accept = _not_yet
