"""Hostile text for every field that people type and the site shows back (tests/test_xss.py).

Each payload carries the marker XSS so that whatever a leak produces (an element, an attribute,
a script's text, a link) can be told from the page's own markup. The payloads are the classic
ways out of an HTML text node, out of an attribute, into a URL, into a template engine, into a
spreadsheet formula and into misleading text direction."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Payload:
    name: str
    text: str


MARKER = "XSS"

# Template injection: what the text would become if it were ever evaluated as a template.
EVALUATED_TEMPLATE = "49XSS"
DEBUG_TAG_OUTPUT = "'csrf_token'"

PAYLOADS = [
    Payload("script", "<script>alert('XSS')</script>"),
    Payload("script_upper", "<SCRIPT SRC=//evil.example/XSS.js></SCRIPT>"),
    Payload("img_onerror", '"><img src=x onerror=alert("XSS")>'),
    Payload("attribute_break_double", '" onmouseover="alert(\'XSS\')" data-x="'),
    Payload("attribute_break_single", "' onfocus='alert(`XSS`)' autofocus x='"),
    Payload("svg_onload", "<svg/onload=alert('XSS')>"),
    Payload("iframe_srcdoc", "<iframe srcdoc=\"<script>alert('XSS')</script>\"></iframe>"),
    Payload("javascript_link", "javascript:alert('XSS')"),
    Payload("javascript_link_obfuscated", " JaVaScRiPt\t:alert('XSS')"),
    Payload("data_link", "data:text/html;base64,PHNjcmlwdD5hbGVydCgnWFNTJyk8L3NjcmlwdD4="),
    Payload("markdown_link", "[XSS](javascript:alert('XSS'))"),
    Payload("markdown_image", "![XSS](javascript:alert('XSS'))"),
    Payload("markdown_autolink", "<javascript:alert('XSS')>"),
    Payload("markdown_html", "<a href=\"javascript:alert('XSS')\">XSS</a>"),
    Payload("template_variable", "{{ 7*7 }}XSS"),
    Payload("template_tag", "{% debug %}XSS"),
    Payload("textarea_breakout", "</textarea><script>alert('XSS')</script>"),
    Payload("title_breakout", "</title><script>alert('XSS')</script>"),
    Payload("style_breakout", "</style><script>alert('XSS')</script>"),
    Payload("comment_breakout", "--><script>alert('XSS')</script><!--"),
    Payload(
        "meta_refresh", '<meta http-equiv="refresh" content="0;url=javascript:alert(\'XSS\')">'
    ),
    Payload("base_href", '<base href="//evil.example/XSS/">'),
    Payload("htmx_attribute", '<div hx-get="/XSS" hx-trigger="load">XSS</div>'),
    Payload("rtl_override", "facture\u202egpj.exe XSS"),
    Payload("control_characters", "XSS\u0008\u001b[31m\u200b\ufeff"),
    Payload("csv_formula", '=HYPERLINK("http://evil.example/XSS","XSS")'),
    Payload("csv_command", "=cmd|' /C calc'!A0 XSS"),
    Payload("csv_plus", "+1+cmd|' /C calc'!A0 XSS"),
    Payload("csv_at", "@SUM(1+1)*cmd|' /C calc'!A0 XSS"),
    Payload("csv_minus", "-1+1|cmd XSS"),
]

# Links are validated where they are typed: these must be refused there (and never shown live).
HOSTILE_LINKS = [
    "javascript:alert('XSS')",
    " JaVaScRiPt:alert('XSS')",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgnWFNTJyk8L3NjcmlwdD4=",
    "vbscript:msgbox('XSS')",
    "https://example.org/\"><script>alert('XSS')</script>",
]

# A spreadsheet runs a cell as a formula when it starts with one of these.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
