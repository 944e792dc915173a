"""Reads of the marketplace app, one module per sub-domain."""

from marketplace.selectors.accounts import member_languages

__all__ = ["member_languages"]
