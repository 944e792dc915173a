from html.parser import HTMLParser

import pytest

from marketplace.content import ALLOWED_TAGS, find_contact_details, render_markdown

XSS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](  javascript:alert(1))",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[click](vbscript:msgbox(1))",
    '<a href="https://ok.example" onclick="alert(1)">x</a>',
    '<div hx-get="/admin/" hx-trigger="load">x</div>',
    '<div data-hx-post="/jobs/1/cancel/" data-hx-trigger="load">x</div>',
    '<svg onload="alert(1)"></svg>',
    "<iframe src='https://evil.example'></iframe>",
    "<style>body{display:none}</style>",
    '<form action="https://evil.example"><input name="password"></form>',
    "![x](https://tracker.example/pixel.png)",
    '<a href="https://ok.example" hx-on:click="alert(1)">x</a>',
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)></style>",
    "<<script>script>alert(1)<</script>/script>",
    '[a](https://ok.example "title" onmouseover="alert(1)")',
]


class TagCollector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


@pytest.mark.parametrize("attack", XSS)
def test_nothing_dangerous_survives_the_sanitiser(attack):
    html = render_markdown(f"Intro\n\n{attack}\n\nOutro")
    parser = TagCollector()
    parser.feed(html)
    for tag, attrs in parser.tags:
        assert tag in ALLOWED_TAGS, (attack, html)
        for name, value in attrs.items():
            assert name in {"href", "title", "rel", "start"}, (attack, html)
            if name == "href":
                assert value.lower().startswith(("http://", "https://")), (attack, html)


def test_markdown_formatting_is_kept_and_links_are_safe():
    html = render_markdown("# Title\n\n**bold** *em*\n\n- one\n- two\n\n[site](https://ex.be)")
    assert "<h2>Title</h2>" in html
    assert "<strong>bold</strong>" in html and "<em>em</em>" in html
    assert "<li>one</li>" in html
    assert '<a href="https://ex.be" rel="nofollow noopener noreferrer ugc">site</a>' in html


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Écrivez-moi à marie.dubois@gmail.com", "email"),
        ("marie [at] gmail [dot] com", "email"),
        ("marie (at) skynet.be", "email"),
        ("Appelez le 0475 12 34 56", "phone"),
        ("Tel: +32 4 223 45 67", "phone"),
        ("gsm 0032475123456", "phone"),
        ("04/223.45.67 après 18h", "phone"),
        ("Contactez-moi sur WhatsApp", "messaging"),
        ("telegram: marie_liege", "messaging"),
        ("https://wa.me/32475123456", "messaging"),
        ("mon insta @marie.liege", "messaging"),
    ],
)
def test_contact_details_are_found(text, kind):
    assert kind in {flag["kind"] for flag in find_contact_details(text)}


@pytest.mark.parametrize(
    "text",
    [
        "Budget 1 500 € pour le 2026-12-01, 40 heures.",
        "Quatre pages, livraison en mars 2027, TVA 21 %.",
        "Nous sommes au 12 rue Saint-Gilles, 4000 Liège.",
        "Le site doit respecter les WCAG 2.1 AA.",
        "Version 3.14.15 de PHP",
    ],
)
def test_ordinary_text_is_not_flagged(text):
    assert find_contact_details(text) == []
