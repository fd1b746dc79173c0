"""One list of report blocks rendered twice, to Markdown and to a self-contained HTML page, so both say the same.

Task text is data (formats.Data, formats.literal): both renderers show it as written. The report's own markup is
`code`, **bold** and backslash escapes, which Markdown reads natively and inline_html turns into HTML; every other
character is HTML-escaped.
"""
from __future__ import annotations

import base64
import html
import re
from pathlib import Path

from bench.report.formats import Data, literal

TOKENS = re.compile(r"(\\.|`[^`]*`|\*\*)")


def text_of(value) -> str:
    """A block's text in the report's markup: data escaped, the report's own text as written."""
    return literal(value) if isinstance(value, Data) else str(value)


def markdown_cell(value) -> str:
    return text_of(value).replace("|", "\\|").replace("\n", " ")


def fence(text: str) -> str:
    """A Markdown code fence longer than any run of backticks in the text, so the text cannot close it."""
    return "`" * max(3, 1 + max((len(run) for run in re.findall(r"`+", text)), default=0))


def to_markdown(blocks: list[tuple]) -> str:
    out = []
    for block in blocks:
        match block:
            case ("h", level, text):
                out.append(f"{'#' * level} {text_of(text)}")
            case ("p", text):
                out.append(text_of(text))
            case ("list", items):
                out.append("\n".join(f"- {text_of(item)}" for item in items))
            case ("table", head, body):
                lines = ["| " + " | ".join(map(markdown_cell, head)) + " |", "|" + "---|" * len(head)]
                out.append("\n".join(lines + ["| " + " | ".join(map(markdown_cell, r)) + " |" for r in body]))
            case ("img", path, caption):
                out.append(f"![{caption}]({path})")
            case ("code", text):
                out.append(f"{fence(text)}\n{text}\n{fence(text)}")
    return "\n\n".join(out) + "\n"


def inline_html(value) -> str:
    """The report's markup as HTML: backslash escapes, `code` spans and **bold**; everything else escaped."""
    out, bold = [], False
    for token in TOKENS.split(text_of(value)):
        if token.startswith("\\") and len(token) == 2:
            out.append(html.escape(token[1]))
        elif len(token) > 1 and token[0] == token[-1] == "`":
            out.append(f"<code>{html.escape(token[1:-1])}</code>")
        elif token == "**":
            out.append("</strong>" if bold else "<strong>")
            bold = not bold
        else:
            out.append(html.escape(token))
    return "".join(out) + ("</strong>" if bold else "")


def embedded_png(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def html_block(block: tuple, folder: Path) -> str:
    match block:
        case ("h", level, text):
            return f"<h{level}>{inline_html(text)}</h{level}>"
        case ("p", text):
            return f"<p>{inline_html(text)}</p>"
        case ("list", items):
            return "<ul>" + "".join(f"<li>{inline_html(item)}</li>" for item in items) + "</ul>"
        case ("table", head, body):
            rows = "".join("<tr>" + "".join(f"<td>{inline_html(c)}</td>" for c in r) + "</tr>" for r in body)
            return ("<div class=scroll><table><thead><tr>" + "".join(f"<th>{inline_html(h)}</th>" for h in head)
                    + f"</tr></thead><tbody>{rows}</tbody></table></div>")
        case ("img", path, caption):
            return (f'<figure><img src="{embedded_png(folder / path)}" alt="{html.escape(caption)}">'
                    f"<figcaption>{inline_html(caption)}</figcaption></figure>")
        case ("code", text):
            return f"<pre><code>{html.escape(text)}</code></pre>"
    raise ValueError(f"unknown report block {block[0]!r}")


STYLE = """
body { font: 15px/1.5 system-ui, sans-serif; color: #222; max-width: 1200px; margin: 2em auto; padding: 0 1em; }
h1 { font-size: 1.7em; } h2 { margin-top: 2em; border-bottom: 1px solid #ddd; } h3 { margin-top: 1.5em; }
.scroll { overflow-x: auto; margin: 1em 0; }
table { border-collapse: collapse; font-size: 0.88em; }
th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f3f3f3; } td:first-child { white-space: nowrap; } tbody tr:nth-child(even) { background: #fafafa; }
code { background: #f3f3f3; padding: 0 3px; border-radius: 3px; }
pre { background: #f3f3f3; padding: 0.8em; overflow-x: auto; } pre code { padding: 0; }
figure { margin: 1.5em 0; } figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { color: #555; font-size: 0.9em; }
"""


def to_html(blocks: list[tuple], folder: Path) -> str:
    """One self-contained page: inline style, plots embedded as base64 PNG, no external resources."""
    page_title = next(block[2] for block in blocks if block[0] == "h")
    body = "\n".join(html_block(block, folder) for block in blocks)
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(page_title)}</title>'
            f"<style>{STYLE}</style></head>\n<body>\n{body}\n</body></html>\n")
