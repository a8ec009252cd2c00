"""A marketing template's source, whichever way it was written (blocks, MJML or HTML),
compiled once into what sending reads: the HTML body and, unless the author wrote one,
the plain-text part (decision 0032).

MJML is compiled by mjml-python (MRML, the Rust port of MJML, in a wheel: no Node.js),
with no includes (an ``mj-include`` is refused, never read from disk) and no web fonts
fetched by the email. Guarantees: ``source_compile`` returns a body that compiles in the
personalisation sandbox, or raises a ValidationFailed naming the field
(``blocks[…]…``, ``mjml_source``, ``html_body``) and nothing is saved.
"""

from dataclasses import dataclass

import mjml

from leadflow.core.errors import FieldError, ValidationFailed
from leadflow.nurture.models import TemplateSourceKind
from leadflow.nurture.models.email import BODY_MAX_LENGTH
from leadflow.nurture.services.rendering import compile_field, text_from_html
from leadflow.nurture.services.template_blocks import blocks_check, blocks_mjml

SOURCE_FIELDS = {
    TemplateSourceKind.BLOCKS: "blocks",
    TemplateSourceKind.MJML: "mjml_source",
    TemplateSourceKind.HTML: "html_body",
}


@dataclass(frozen=True)
class CompiledSource:
    blocks: list
    mjml_source: str
    html_body: str


def mjml_compile(source: str, *, field: str = "mjml_source") -> str:
    """MJML to email-safe HTML (table layout, inline styles); a ValidationFailed on
    ``field`` with the compiler's message when it is not valid MJML."""
    if not source.strip():
        raise ValidationFailed([FieldError(field, "Required.")])
    try:
        compiled = mjml.mjml2html(source, disable_comments=True, fonts={})
    except ValueError as error:
        raise ValidationFailed([FieldError(field, f"MJML: {error}")]) from None
    if len(compiled) > BODY_MAX_LENGTH:
        raise ValidationFailed([FieldError(field, "The compiled email is too long.")])
    return compiled


def source_compile(*, kind: str, blocks=None, mjml_source: str = "", html_body: str = ""):
    """The template's source in ``kind`` compiled to its HTML body (the other sources
    emptied, so a template has one source of truth)."""
    if kind == TemplateSourceKind.BLOCKS:
        clean = blocks_check(blocks)
        html_body = mjml_compile(blocks_mjml(clean), field="blocks")
        compiled = CompiledSource(blocks=clean, mjml_source="", html_body=html_body)
    elif kind == TemplateSourceKind.MJML:
        compiled = CompiledSource(
            blocks=[], mjml_source=mjml_source, html_body=mjml_compile(mjml_source)
        )
    elif kind == TemplateSourceKind.HTML:
        if not (html_body or "").strip():
            raise ValidationFailed([FieldError("html_body", "Required.")])
        compiled = CompiledSource(blocks=[], mjml_source="", html_body=html_body)
    else:
        raise ValidationFailed([FieldError("source_kind", "One of: blocks, mjml, html.")])
    compile_field(SOURCE_FIELDS[TemplateSourceKind(kind)], compiled.html_body)
    return compiled


def text_generate(html_body: str) -> str:
    """The plain-text part made once from the HTML source (links kept as ``text (url)``,
    personalisation left in place for the sandbox); empty when that text would not
    compile on its own (then it is made from each rendered HTML at send time)."""
    text = text_from_html(html_body)
    try:
        compile_field("text_body", text)
    except ValidationFailed:
        return ""
    return text
