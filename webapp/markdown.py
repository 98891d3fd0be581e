"""Markdown from case-type models (task instructions) to HTML that cannot carry script.

markdown-it-py's "js-default" preset is CommonMark with raw HTML switched off: any `<script>` or
`<img onerror>` in the source comes out as text, and links to javascript:, vbscript: and data:
URLs are not made into links. Task data that a citizen wrote passes through here too.
"""
from __future__ import annotations

from markdown_it import MarkdownIt
from markupsafe import Markup

_MARKDOWN = MarkdownIt("js-default")


def render_markdown(source: str | None) -> Markup:
    return Markup(_MARKDOWN.render(source or ""))
