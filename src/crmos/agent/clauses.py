"""Contract clauses: term, renewal, termination, price adjustment and liability cap.

A page is cut into sections at clause numbers (``1.``, ``2.3``, ``Article 4``, ``第五条``) or,
without numbers, at blank lines. Each section is scored against weighted cue patterns per clause
type, in English and Chinese (a heading counts more than the body); the best type above a
threshold wins. Every clause keeps its page and the character span of its text on that page.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

CLAUSE_TYPES = ("term", "renewal", "termination", "price_adjustment", "liability_cap")
RULES_VERSION = "clauses-2"
THRESHOLD = 2.0

_NUMBER = re.compile(
    r"^[ \t]*(?:\d+(?:\.\d+)*\.?|第[一二三四五六七八九十百零\d]+条|(?:Article|Section|Clause)\s+\d+"
    r"(?:\.\d+)*[.:]?|[（(][一二三四五六七八九十\d]+[）)])[ \t]*",
    re.MULTILINE | re.IGNORECASE,
)
_HEADING = re.compile(r"([^\n.。;；:：]{1,40})\n")

# (pattern, weight in a heading, weight in a body)
_CUES: dict[str, list[tuple[str, float, float]]] = {
    "term": [
        (
            r"\bterm\b(?! of the)|\bduration\b|\bvalidity\b|\bperiod\b|commencement|"
            r"期限|有效期|期间|起止",
            4,
            1,
        ),
        (
            r"commences? on|shall continue for a period|remains? in force|initial term|"
            r"valid for|effective from|begins on .* ends on|runs? from .* (?:through|until|to) |"
            r"starts? on .* lasts?|lasts? \d+ (?:months|years)",
            0,
            2,
        ),
        (
            r"自.{2,14}起至.{2,14}止|之日起生效|为期.{1,4}年|有效期.{1,4}个?[年月]|"
            r"期间为.{2,14}至|开始.{0,4}持续",
            0,
            3,
        ),
    ],
    "renewal": [
        (r"renewal|\brenew|extension|extend|continuation|续约|续签|续期|延续|顺延|延长", 4, 2),
        (
            r"successive|non-renewal|automatically renew|renews automatically|extend the agreement|"
            r"rolls? over|prolong|further period|additional (?:years?|term)|"
            r"自动续期|自动顺延|协商续签|再延长",
            0,
            2,
        ),
    ],
    "termination": [
        (r"terminat|cancell?ation|\bcancel\b|\bexit\b|ending|解除|终止|退出|解约", 4, 2),
        (
            r"material breach|written notice to the other|end (?:this|the) (?:agreement|contract)|"
            r"insolvent|withdraw from|rescind|违约金|书面通知对方|严重违约|结束合作|退出本"
            r"(?:协议|合同)",
            0,
            1.5,
        ),
    ],
    "price_adjustment": [
        (r"price|fee increase|indexation|\brates?\b|cost|调价|价格|费率|成本", 4, 0),
        (
            r"adjust the fees|consumer price index|\bcpi\b|increase by \d+%|indexation|inflation|"
            r"revise its price|rates? (?:are|is) reviewed|may rise|passed on to|"
            r"价格指数|调整.{0,6}价格|价格.{0,4}调整|上调|价格波动|费率|相应提高|涨幅",
            0,
            3,
        ),
    ],
    "liability_cap": [
        (r"liabilit|\blimits?\b|damages|compensation|责任|赔偿|损失", 4, 0),
        (
            r"aggregate liability|total liability|maximum liability|shall not exceed|"
            r"limited to|capped at|restricted to|greater than|not liable|"
            r"赔偿责任|赔偿总额|最高赔偿|不超过|不高于|为限|为上限|赔付",
            0,
            2,
        ),
    ],
}
_COMPILED = {
    kind: [(re.compile(p, re.IGNORECASE), h, b) for p, h, b in cues] for kind, cues in _CUES.items()
}


@dataclass(frozen=True, slots=True)
class Clause:
    """A clause found in a contract: its type, page (1-based), span on that page and text."""

    type: str
    page: int
    start: int
    end: int
    text: str
    score: float

    def as_dict(self) -> dict[str, object]:
        """JSON-ready."""
        return {
            "type": self.type,
            "page": self.page,
            "span": [self.start, self.end],
            "text": self.text,
            "score": self.score,
        }


def extract_clauses(pages: Sequence[str]) -> list[Clause]:
    """The clauses of a document given as page texts."""
    found: list[Clause] = []
    for number, page in enumerate(pages, start=1):
        for heading, start, end in sections(page):
            kind, score = classify(heading, page[start:end])
            if kind:
                found.append(Clause(kind, number, start, end, page[start:end], score))
    return found


def sections(page: str) -> Iterator[tuple[str, int, int]]:
    """``(heading, start, end)`` of each section body on ``page``."""
    marks = [m.end() for m in _NUMBER.finditer(page)]
    if not marks:
        for m in re.finditer(r"\S(?:.|\n(?!\s*\n))*", page):
            yield "", m.start(), m.end()
        return
    bounds = [*marks[1:], len(page)]
    starts = [*[m.start() for m in _NUMBER.finditer(page)][1:], len(page)]
    for begin, _next, stop in zip(marks, bounds, starts, strict=True):
        heading = ""
        match = _HEADING.match(page, begin)
        if match:
            heading, begin = match.group(1), match.end()
        end = begin + len(page[begin:stop].rstrip())
        if end > begin:
            yield heading, begin, end


def classify(heading: str, body: str) -> tuple[str | None, float]:
    """The best clause type of a section and its score (None below the threshold)."""
    scores = {kind: _score(cues, heading, body) for kind, cues in _COMPILED.items()}
    kind = max(scores, key=lambda k: scores[k])
    return (kind, scores[kind]) if scores[kind] >= THRESHOLD else (None, 0.0)


def _score(cues: list[tuple[re.Pattern[str], float, float]], heading: str, body: str) -> float:
    total = 0.0
    for pattern, in_heading, in_body in cues:
        if heading and pattern.search(heading):
            total += in_heading
        if pattern.search(body):
            total += in_body
    return total
