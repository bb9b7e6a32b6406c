"""Find live markup in HTML: what a browser would execute or load, not text that looks like it."""

from __future__ import annotations

from html.parser import HTMLParser

BAD_TAGS = {
    "script",
    "iframe",
    "object",
    "embed",
    "form",
    "input",
    "style",
    "svg",
    "math",
    "base",
    "link",
    "meta",
    "frame",
    "frameset",
    "template",
    "button",
    "textarea",
    "select",
}
URL_ATTRS = {"href", "src", "action", "formaction", "xlink:href", "background", "poster", "srcset"}


class _Finder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in BAD_TAGS:
            self.problems.append(f"<{tag}>")
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"{tag}[{name}]")
            if name in URL_ATTRS and value:
                probe = "".join(value.split()).lower()
                if (
                    not probe.startswith(("http:", "https:", "mailto:", "#", "/"))
                    and ":" in probe.split("/")[0]
                ):
                    self.problems.append(f"{tag}[{name}={value}]")
            if name == "style" and value and ("url(" in value or "expression" in value):
                self.problems.append(f"{tag}[style]")


def live_markup(html_text: str) -> list[str]:
    # Browsers end a comment at "<!-->" or "<!--->" (HTML5's abrupt closing of an empty
    # comment); Python's parser would read on to the next "-->" and miss what follows.
    html_text = html_text.replace("<!--->", "<!---->").replace("<!-->", "<!---->")
    finder = _Finder()
    finder.feed(html_text)
    finder.close()
    return finder.problems
