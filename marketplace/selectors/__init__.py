"""Reads of the marketplace app, one module per sub-domain."""

from marketplace.selectors.accounts import member_dashboard_fits, member_languages

__all__ = ["member_dashboard_fits", "member_languages"]
