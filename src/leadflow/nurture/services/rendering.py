"""Personalisation of marketing email in a sandbox, and the plain-text part.

Templates are rendered by an Engine of their own, not the site's: no loaders (no include,
no extends), no ``{% load %}`` of anything, none of the tags that reach outside the
context (``debug``, ``url``, ``csrf_token``), autoescape on for HTML. The context is plain
dicts built here, never a model: ``contact`` (the fields of ``contact_fields``) and
``offer`` (empty until offers exist), so a template can say
``{{ contact.first_name|default:"there" }}`` and nothing more powerful than that.

Guarantees: ``template_check`` names each field whose syntax is wrong (a 422 in the API);
``text_from_html`` keeps each link's URL as ``text (url)``.
"""

import re
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

from django.template import (
    Context,
    Engine,
    Library,
    Template,
    TemplateSyntaxError,
    defaultfilters,
    defaulttags,
)

from leadflow.core.errors import FieldError, ValidationFailed

# The tags a marketer needs; the rest of Django's built-ins stay out of the sandbox.
SAFE_TAGS = [
    "autoescape",
    "comment",
    "cycle",
    "filter",
    "firstof",
    "for",
    "if",
    "ifchanged",
    "now",
    "regroup",
    "spaceless",
    "templatetag",
    "verbatim",
    "widthratio",
    "with",
]


def _sandbox_engine() -> Engine:
    engine = Engine(builtins=[], libraries={}, loaders=[], autoescape=True, debug=False)
    tags = Library()
    for name in SAFE_TAGS:
        tags.tags[name] = defaulttags.register.tags[name]
    filters = Library()
    filters.filters.update(defaultfilters.register.filters)
    engine.template_builtins = [tags, filters]
    engine.template_libraries = {}
    return engine


SANDBOX = _sandbox_engine()
# ``{{ unsubscribe_url }}`` renders as this mark; the sender puts each person's signed
# link in its place (transport.email_build), so rendering stays one pass per person.
UNSUBSCRIBE_MARK = "https://unsubscribe.leadflow.invalid/link"

CONTACT_FIELDS = (
    "first_name",
    "last_name",
    "email",
    "job_title",
    "country",
    "city",
    "region",
    "lifecycle_stage",
)


def contact_fields(contact: Any, company_name: str = "") -> dict[str, Any]:
    """What a template may read of a contact: a plain dict of its fields (and custom
    fields under ``custom``), from a model or a ``values()`` row."""
    get = contact.get if isinstance(contact, dict) else lambda name: getattr(contact, name, "")
    fields = {name: get(name) or "" for name in CONTACT_FIELDS}
    fields["full_name"] = f"{fields['first_name']} {fields['last_name']}".strip()
    fields["company"] = company_name or ""
    custom = get("custom_fields") or {}
    fields["custom"] = {str(k): v for k, v in custom.items()} if isinstance(custom, dict) else {}
    return fields


def compile_field(field: str, source: str) -> Template:
    try:
        return SANDBOX.from_string(source)
    except TemplateSyntaxError as error:
        raise ValidationFailed([FieldError(field, f"Template syntax: {error}")]) from None


def template_check(**fields: str) -> None:
    """Compile each named field; a ValidationFailed names every one that does not."""
    errors = []
    for field, source in fields.items():
        try:
            compile_field(field, source or "")
        except ValidationFailed as failed:
            errors.extend(failed.errors)
    if errors:
        raise ValidationFailed(errors)


@dataclass(frozen=True)
class Rendered:
    subject: str
    html: str
    text: str


class CompiledTemplate:
    """A template's three parts compiled once (a batch renders it for many contacts)."""

    def __init__(self, *, subject: str, html_body: str, text_body: str = ""):
        self.subject = compile_field("subject", subject)
        self.html = compile_field("html_body", html_body)
        self.text = compile_field("text_body", text_body) if text_body.strip() else None

    def render(self, contact: dict[str, Any], offer: dict[str, Any] | None = None) -> Rendered:
        data = {"contact": contact, "offer": offer or {}, "unsubscribe_url": UNSUBSCRIBE_MARK}
        # Subject and text are not HTML: nothing to escape there.
        subject = self.subject.render(Context(data, autoescape=False))
        subject = " ".join(subject.split())[:200]
        body = self.html.render(Context(data, autoescape=True))
        if self.text is not None:
            text = self.text.render(Context(data, autoescape=False))
        else:
            text = text_from_html(body)
        return Rendered(subject=subject, html=body, text=text)


BLOCKS = {
    "p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol",
    "blockquote", "section", "header", "footer", "hr",
}  # fmt: skip


class _TextParser(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0
        self.link: str | None = None
        self.link_text: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in ("style", "script", "head", "title"):
            self.skip += 1
        elif tag == "a":
            self.link = dict(attrs).get("href") or ""
            self.link_text = []
        elif tag in BLOCKS:
            self.parts.append("\n")
        if tag == "li":
            self.parts.append("- ")

    def handle_endtag(self, tag):
        if tag in ("style", "script", "head", "title"):
            self.skip = max(0, self.skip - 1)
        elif tag == "a" and self.link is not None:
            text = " ".join("".join(self.link_text).split())
            url = self.link
            if not url or url.startswith("#") or text == url:
                self.parts.append(text or url)
            elif text:
                self.parts.append(f"{text} ({url})")
            else:
                self.parts.append(url)
            self.link = None
        elif tag in BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data):
        if self.skip:
            return
        if self.link is not None:
            self.link_text.append(data)
        else:
            self.parts.append(data)


def text_from_html(source: str) -> str:
    """The plain-text part for an HTML body: its text, paragraphs on lines of their own,
    each link written ``text (url)`` so the URL survives."""
    parser = _TextParser()
    parser.feed(source)
    parser.close()
    lines = [" ".join(line.split()) for line in "".join(parser.parts).splitlines()]
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    return text + "\n"
