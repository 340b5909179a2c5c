"""A minimal PDF writer (Latin-1 text, Helvetica, one text block per page), so benchmarks and
tests can make contracts with a text layer without another dependency."""

from __future__ import annotations

from collections.abc import Sequence


def text_pdf(pages: Sequence[str], font_size: int = 10) -> bytes:
    """A PDF whose page *i* shows the lines of ``pages[i]`` (characters outside Latin-1: ``?``)."""
    objects: list[bytes] = [b"<< /Type /Catalog /Pages 2 0 R >>", b""]
    kids = []
    font_ref = 3
    objects.append(
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
    )
    for page in pages:
        stream = _content(page, font_size)
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
        content_ref = len(objects)
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents %d 0 R "
            b"/Resources << /Font << /F1 %d 0 R >> >> >>" % (content_ref, font_ref)
        )
        kids.append(len(objects))
    refs = b" ".join(b"%d 0 R" % k for k in kids)
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (refs, len(kids))
    return _assemble(objects)


def _content(page: str, size: int) -> bytes:
    lines = [b"BT", b"/F1 %d Tf" % size, b"%d TL" % (size + 4), b"50 800 Td"]
    for line in page.splitlines() or [""]:
        text = line.encode("latin-1", "replace").replace(b"\\", b"\\\\")
        text = text.replace(b"(", b"\\(").replace(b")", b"\\)")
        lines.append(b"(" + text + b") Tj T*")
    lines.append(b"ET")
    return b"\n".join(lines)


def _assemble(objects: list[bytes]) -> bytes:
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)
