"""Sentiment: a small, explainable lexicon scorer for English and Chinese with negation.

Each positive or negative cue counts +1/-1 (a negation just before it flips it; an intensifier
doubles it); the score is the sum squashed into [-1, 1]. The cues found are returned, so a
reason can quote them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

POSITIVE_EN = [
    "thank",
    "thanks",
    "great",
    "good",
    "excellent",
    "happy",
    "glad",
    "pleased",
    "appreciate",
    "appreciated",
    "love",
    "satisfied",
    "helpful",
    "perfect",
    "wonderful",
    "amazing",
    "awesome",
    "congratulations",
    "smooth",
    "fast",
    "quick",
    "recommend",
    "success",
    "successful",
    "well",
    "nice",
]
NEGATIVE_EN = [
    "bad",
    "terrible",
    "awful",
    "worst",
    "angry",
    "furious",
    "disappointed",
    "disappointing",
    "unacceptable",
    "unhappy",
    "rude",
    "broken",
    "broke",
    "fail",
    "failed",
    "failing",
    "failure",
    "problem",
    "problems",
    "issue",
    "issues",
    "complaint",
    "complain",
    "slow",
    "late",
    "delay",
    "delayed",
    "crash",
    "crashed",
    "crashes",
    "wrong",
    "ridiculous",
    "useless",
    "frustrated",
    "frustrating",
    "annoyed",
    "fed-up",
    "unhelpful",
    "dismissive",
    "damaged",
    "lost",
    "regret",
    "poor",
    "worse",
    "error",
    "errors",
    "cancel",
    "refund",
    "overdue",
    "outage",
]
POSITIVE_ZH = [
    "谢谢",
    "感谢",
    "满意",
    "很好",
    "不错",
    "优秀",
    "高兴",
    "开心",
    "喜欢",
    "顺利",
    "及时",
    "专业",
    "好消息",
    "恭喜",
    "棒",
    "快速",
    "效果很好",
    "愉快",
]
NEGATIVE_ZH = [
    "失望",
    "不满",
    "太差",
    "很差",
    "糟糕",
    "生气",
    "愤怒",
    "投诉",
    "坏了",
    "故障",
    "崩溃",
    "问题",
    "错误",
    "延迟",
    "太慢",
    "破损",
    "受够",
    "离谱",
    "敷衍",
    "不能接受",
    "后悔",
    "最差",
    "太坑",
    "不专业",
    "没人",
    "损失",
    "冻结",
    "失败",
    "退款",
    "逾期",
    "宕机",
]
NEGATORS_EN = {"not", "no", "never", "hardly", "n't", "isn't", "wasn't", "don't", "didn't"}
INTENSIFIERS_EN = {"very", "extremely", "really", "so", "totally", "completely"}
NEGATORS_ZH = ("不", "没", "没有", "别", "无")
INTENSIFIERS_ZH = ("非常", "很", "太", "特别", "极其", "十分")
_EN_TOKEN = re.compile(r"[a-z]+(?:[-'][a-z]+)?")


@dataclass(frozen=True, slots=True)
class Sentiment:
    """``positive``, ``neutral`` or ``negative``, a score in [-1, 1] and the cues behind it."""

    label: str
    score: float
    cues: tuple[str, ...] = ()


def sentiment(text: str, language: str) -> Sentiment:
    """The sentiment of ``text`` written in ``language`` (``zh`` or anything else: English)."""
    total, cues = _score_zh(text) if language == "zh" else _score_en(text)
    score = max(-1.0, min(1.0, total / 3.0))
    label = "positive" if score >= 0.2 else "negative" if score <= -0.2 else "neutral"
    return Sentiment(label, round(score, 3), tuple(cues))


def _score_en(text: str) -> tuple[float, list[str]]:
    tokens = _EN_TOKEN.findall(text.lower().replace("n't", " n't"))
    total, cues = 0.0, []
    for i, token in enumerate(tokens):
        polarity = 1 if token in POSITIVE_EN else -1 if token in NEGATIVE_EN else 0
        if not polarity:
            continue
        window = tokens[max(0, i - 3) : i]
        if any(w in NEGATORS_EN for w in window):
            polarity = -polarity
        weight = 2.0 if window and window[-1] in INTENSIFIERS_EN else 1.0
        total += polarity * weight
        cues.append(token)
    return total, cues


def _score_zh(text: str) -> tuple[float, list[str]]:
    total, cues = 0.0, []
    for words, polarity in ((POSITIVE_ZH, 1), (NEGATIVE_ZH, -1)):
        for word in words:
            for match in re.finditer(re.escape(word), text):
                before = text[max(0, match.start() - 2) : match.start()]
                sign = -polarity if before.endswith(NEGATORS_ZH) and polarity > 0 else polarity
                weight = 2.0 if before.endswith(INTENSIFIERS_ZH) else 1.0
                total += sign * weight
                cues.append(word)
    return total, cues
