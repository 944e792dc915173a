"""User-written text: Markdown rendered then sanitised, and contact details spotted.

Deals go through the cooperative (that is what protects both sides), so e-mail addresses, phone
numbers and messaging handles in job posts and messages are flagged to the moderators."""

import re
from dataclasses import asdict, dataclass

import nh3
from markdown_it import MarkdownIt

# CommonMark without raw HTML: whatever HTML the author types is shown as text.
_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
ALLOWED_TAGS = {
    "p",
    "br",
    "strong",
    "em",
    "ul",
    "ol",
    "li",
    "a",
    "code",
    "pre",
    "blockquote",
    "h2",
    "h3",
    "h4",
    "hr",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}}


def render_markdown(text: str) -> str:
    """Markdown to safe HTML: no script, no event handler, no javascript: link, no hx-* or
    data-* attribute, no image (images could track readers); links get rel=nofollow noopener."""
    html = _markdown.render(text or "")
    # Headings of a job are below the page's own h1.
    html = re.sub(r"<(/?)h1>", r"<\1h2>", html)
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https"},
        link_rel="nofollow noopener noreferrer ugc",
        strip_comments=True,
    )


@dataclass(frozen=True)
class ContactFlag:
    kind: str  # "email", "phone" or "messaging"
    text: str


_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# "jean [at] gmail [dot] com", "jean (at) gmail.com", "jean at gmail dot com"
_EMAIL_HIDDEN = re.compile(
    r"[\w.+-]+\s*(?:[\[(]\s*(?:at|arobase)\s*[\])]\s*[\w-]+(?:\s*(?:[\[(]\s*(?:dot|point)\s*[\])]|\.)\s*[a-z]{2,})+"
    r"|\s(?:at|arobase)\s+[\w-]+(?:\s+(?:dot|point)\s+[a-z]{2,})+)",
    re.IGNORECASE,
)
_PHONE = re.compile(r"(?<![\w/])(?:\+|00|0)[\d\s().\-/]{7,}\d")
_MESSAGING = re.compile(
    r"\b(?:whats\s*app|telegram|signal|viber|skype|snapchat|messenger|wa\.me/\S+|t\.me/\S+)\b"
    r"|(?<![\w@.])@[A-Za-z][A-Za-z0-9_.]{2,}",
    re.IGNORECASE,
)


def find_contact_details(text: str) -> list[dict]:
    """Every e-mail address, phone number and messaging handle in the text (as dicts, for JSON)."""
    flags: list[ContactFlag] = []
    emails = list(_EMAIL.finditer(text or ""))
    emails += [
        match
        for match in _EMAIL_HIDDEN.finditer(text or "")
        if not any(email.start() <= match.start() < email.end() for email in emails)
    ]
    flags += [ContactFlag("email", match.group().strip()) for match in emails]
    for match in _PHONE.finditer(text or ""):
        digits = re.sub(r"\D", "", match.group())
        if 9 <= len(digits) <= 15:
            flags.append(ContactFlag("phone", match.group().strip()))
    for match in _MESSAGING.finditer(text or ""):
        if any(email.start() <= match.start() < email.end() for email in emails):
            continue
        flags.append(ContactFlag("messaging", match.group().strip()))
    unique = list(dict.fromkeys(flags))
    return [asdict(flag) for flag in unique]
