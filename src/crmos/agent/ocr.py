"""OCR with Tesseract (``pytesseract``), and PDF page rendering for scans (``pypdfium2``)."""

from __future__ import annotations

import io
import re

from PIL import Image, UnidentifiedImageError

from crmos.core.errors import ValidationError

_CJK_GAP = re.compile(
    r"(?<=[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]) +(?=[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef])"
)


def open_image(data: bytes) -> Image.Image:
    """Decode an image; :class:`ValidationError` when the bytes are not one."""
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise ValidationError(f"not a readable image ({exc})") from exc
    return image


def ocr_image(image: Image.Image, languages: str, timeout_s: float) -> str:
    """The text in ``image``; raises :class:`ValidationError` if Tesseract is missing or slow."""
    import pytesseract

    gray = image.convert("L")
    if gray.width < 1000:  # Tesseract reads small UI text far better at twice the size
        gray = gray.resize((gray.width * 2, gray.height * 2), Image.Resampling.LANCZOS)
    try:
        raw = pytesseract.image_to_string(gray, lang=languages, config="--psm 6", timeout=timeout_s)
    except pytesseract.TesseractNotFoundError as exc:
        raise ValidationError(
            "OCR needs Tesseract: install tesseract-ocr, tesseract-ocr-chi-sim and "
            "tesseract-ocr-eng (scripts/install-system-deps.sh)"
        ) from exc
    except RuntimeError as exc:  # pytesseract raises RuntimeError on its timeout
        raise ValidationError(f"OCR took longer than {timeout_s:.0f}s ({exc})") from exc
    return tidy(raw)


def tidy(text: str) -> str:
    """Tesseract output without the spaces it puts between Chinese characters, nor blank runs."""
    lines = [_CJK_GAP.sub("", line).strip() for line in text.splitlines()]
    return "\n".join(line for line in lines if line)


def render_pdf_pages(data: bytes, max_pages: int, scale: float = 3.0) -> list[Image.Image]:
    """Each page of a PDF as an image (for scans without a text layer)."""
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(data)
    try:
        return [pdf[i].render(scale=scale).to_pil() for i in range(min(len(pdf), max_pages))]
    finally:
        pdf.close()
