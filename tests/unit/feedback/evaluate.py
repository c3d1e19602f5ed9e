"""How well ``logic.classify`` reads the labelled mentions in ``labelled/``: per language and split,
precision, recall and F1 of ``complaint``, accuracy of ``sentiment``, precision and recall of
``request``, and the confusion counts.

    python -m tests.unit.feedback.evaluate            # every set
    python -m tests.unit.feedback.evaluate --errors   # and each mention it gets wrong

A labelled line is ``{"text": ..., "complaint": bool, "sentiment": "negative|neutral|positive",
"request": bool}``, with ``"rating"`` (1-5) for app-store reviews. Four splits per language:

- ``<lang>.jsonl``, the tuning set: the lexicon is tuned on it;
- ``<lang>.holdout.jsonl``, written before the lexicon and never tuned on;
- ``<lang>.probe.jsonl``, a blind probe written after the lexicon, in other styles and about other
  problems; it later served as the development set of the story rules (its misses were read);
- ``<lang>.probe2.jsonl``, a second blind probe about situations in none of the other sets, written
  before the story rules and measured once, at the end: how the classifier does on phrasing it has
  not seen.

Never tune on a holdout or probe file: add what it teaches to the tuning set instead, in your own
words, and write a fresh probe to measure again. ``--errors`` lists the misses of every set, blind
probes included: read a blind probe's misses only once its figure is taken.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from services.feedback.logic.classify import classify
from services.feedback.models.mention import Classification

LABELLED = Path(__file__).parent / "labelled"
SETS = (
    "ko.jsonl",
    "ko.holdout.jsonl",
    "ko.probe.jsonl",
    "ko.probe2.jsonl",
    "en.jsonl",
    "en.holdout.jsonl",
    "en.probe.jsonl",
    "en.probe2.jsonl",
)
SENTIMENTS = ("negative", "neutral", "positive")
FIELDS = frozenset({"text", "complaint", "sentiment", "request", "rating"})

Classifier = Callable[..., Classification]


@dataclass(frozen=True)
class Labelled:
    text: str
    complaint: bool
    sentiment: str
    request: bool
    rating: int | None = None


@dataclass(frozen=True)
class Confusion:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass(frozen=True)
class Miss:
    text: str
    field: str
    expected: object
    got: object


@dataclass(frozen=True)
class Report:
    name: str
    n: int
    complaint: Confusion
    request: Confusion
    sentiment: Counter[tuple[str, str]]  # (expected, got) -> count
    misses: list[Miss] = field(default_factory=list)

    @property
    def sentiment_accuracy(self) -> float:
        right = sum(c for (e, g), c in self.sentiment.items() if e == g)
        return right / self.n if self.n else 0.0

    def lines(self) -> list[str]:
        c, r = self.complaint, self.request
        matrix = "  ".join(
            f"{e[:3]}->" + "/".join(str(self.sentiment[(e, g)]) for g in SENTIMENTS) for e in SENTIMENTS
        )
        return [
            f"{self.name}: n={self.n}",
            f"  complaint  P={c.precision:.3f} R={c.recall:.3f} F1={c.f1:.3f}"
            f"  (tp={c.tp} fp={c.fp} fn={c.fn} tn={c.tn})",
            f"  sentiment  accuracy={self.sentiment_accuracy:.3f}  (expected->got neg/neu/pos: {matrix})",
            f"  request    P={r.precision:.3f} R={r.recall:.3f}  (tp={r.tp} fp={r.fp} fn={r.fn} tn={r.tn})",
        ]


def load(path: Path) -> list[Labelled]:
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        raw = json.loads(line)
        if set(raw) - FIELDS or raw["sentiment"] not in SENTIMENTS:
            raise ValueError(f"{path.name}:{number}: not a labelled mention")
        rows.append(
            Labelled(raw["text"], raw["complaint"], raw["sentiment"], raw["request"], raw.get("rating"))
        )
    return rows


def _confusion(pairs: Sequence[tuple[bool, bool]]) -> Confusion:
    counts = Counter(pairs)
    return Confusion(
        tp=counts[(True, True)], fp=counts[(False, True)], fn=counts[(True, False)], tn=counts[(False, False)]
    )


def evaluate(path: Path | str, classifier: Classifier = classify) -> Report:
    """Classify every labelled mention in ``path`` (a ``.jsonl`` file) and compare."""
    path = Path(path)
    rows = load(path)
    found = [classifier(row.text, rating=row.rating) for row in rows]
    misses = [
        Miss(row.text, name, getattr(row, name), getattr(got, name))
        for row, got in zip(rows, found, strict=True)
        for name in ("complaint", "sentiment", "request")
        if getattr(row, name) != getattr(got, name)
    ]
    return Report(
        name=path.name,
        n=len(rows),
        complaint=_confusion([(row.complaint, got.complaint) for row, got in zip(rows, found, strict=True)]),
        request=_confusion([(row.request, got.request) for row, got in zip(rows, found, strict=True)]),
        sentiment=Counter((row.sentiment, got.sentiment) for row, got in zip(rows, found, strict=True)),
        misses=misses,
    )


def main(argv: Sequence[str]) -> int:
    for name in SETS:
        report = evaluate(LABELLED / name)
        print("\n".join(report.lines()))  # noqa: T201
        if "--errors" in argv:
            for miss in report.misses:
                print(f"    {miss.field}: expected {miss.expected}, got {miss.got}: {miss.text}")  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
