"""What a mention says: its language, its sentiment toward the brand, whether it is a complaint,
whether it asks for something new, and the themes, products and stores it names. Pure: the
standard library and the words in ``logic.lexicon``, no model to load.

How a mention is read:

1. **Normalise**: NFC, lower case, curly quotes straightened, English contractions expanded
   ("didn't" -> "did not", "cant" -> "can not"), a Latin letter repeated three times or more cut to
   two ("sooo" -> "soo"; the lookup also tries one: "so").
2. **Tokenise** into Hangul words, Latin words, numbers, jamo runs (ㅋㅋ, ㅠㅠ, ㅡㅡ, ㄹㅇ) and
   emoji, and cut the text into clauses at sentence punctuation, commas, emoticons, contrast words
   (근데, 하지만, but, however) and Korean connective endings (-는데, -지만). A clause ending in
   -아도/-어도 is concessive ("줄이 길어도 회전이 빨라요").
3. **Match the lexicon**, longest match first. Korean stems are found inside words, so particles
   and endings may follow (불친절해서, 늦게, 식었어요) and intensifying prefixes precede (개별로);
   Latin words are matched whole, with or without their inflection. Each match is a *hit* with the
   roles its surface has in the lexicon: sentiment weight, complaint cue, request cue, theme,
   product, store, brand or competitor name, intensifier, mood, sarcasm marker...
4. **Modify** each hit. Negated ("안 좋아요", "좋지 않아요", "문제없이", "not good", "never had a
   bad cake"), a positive weight turns to -0.6 of itself, a negative one to -0.3 ("not bad" is
   faint praise) and a complaint cue is cancelled ("not rude at all", "기다림 없이"). An
   intensifier right before it (너무, 진짜, 개-, ㄹㅇ, so, really, way too) scales its weight; a
   softener (좀, a bit) shrinks it.
5. **Attribute** each hit to the brand or to a competitor: the last brand or competitor name
   before it decides (the first one after it in its clause when none is before; the brand when
   none at all), so "스벅 직원 불친절해요" and "Starbucks got my order wrong again" are not ours.
   "스벅보다" and "than Starbucks" only compare. Competitors' hits count for nothing below.
6. **Weigh** the brand's hits per clause: 0.6 in a clause before a contrast, 0.3 in a concessive
   one, 0.5 in a question. A clause about the author's day (weather, Monday, exams, the commute)
   keeps only its strong complaint cues.
7. **Read the story** (before attribution, so a competitor's story is not ours): expectations
   (a Korean past-tense connective on a verb of doing business, 주문했는데, 말씀드렸더니; asked,
   paid, booked, was promised) and failures (안/못 + a verb, 없었, -지 않았; not, never, nobody,
   only, instead, was told). A negation that takes back a problem, sits inside a judgement, hedges
   ("don't think"), names what was asked ("asked for no ice") or is the author's own doing (아직
   못 먹어봄, 못 참고) is no failure.

Decision rules:

- **Tone**: the sum of the brand's weighted hits, plus emoticons (ㅡㅡ and 🙄 -1; ㅠㅠ deepens
  what its clause says, or is -0.5 alone, or nothing beside a request; 👍 ❤ +1).
- **Sarcasm**: when the mention reports a problem (cues of 1 or more) and carries a sarcasm
  marker (ㅋㅋ, ^^, 참, 아주, wow, congrats, truly, 🙃, 🙄, a sentence-final "really"), its praise
  counts as blame: "참 빠르네요 주문하고 40분 기다림ㅋㅋ".
- **Complaint** when the complaint score reaches 1:
  - strong cues (1 or more each: 머리카락, 불친절, 튕겨요, 적립이 안 돼요, charged twice, rude,
    never again) always count;
  - weak cues (below 1: 비싸, 늦게, waited, expensive) count while the tone stays below +1;
  - conditional cues count 1 while the tone stays below +1: a duration beside a waiting or
    ordering word ("40분 기다림", "took over an hour", "40 min for a pickup order"), an order
    then what came ("바닐라라떼 시켰는데 그냥 라떼 나왔어요", "ordered decaf, got regular");
  - a product problem word beside a product is strong ("bingsu came out melted"), weak alone;
  - a negative tone in a mention that names an aspect of ours (a theme, product or store outside
    questions) adds 0.6 from -1 and 1 from -1.8 ("직원 태도 진짜 별로예요");
  - an expectation, then a failure, is a conditional cue when neither pattern above counts
    ("번호 말씀드렸는데 다른 사람 번호로 적립하셨어요", "asked for the code and was told customers
    only"); a failure the author tells (first person, or a Korean past tense) adds 0.5 and a why
    beside a failure ("왜 ... 안 되나요?") 0.6, weak cues both;
  - the rating adds 0.7 (1 star) or 0.5 (2 stars), and takes 0.3 (4) or 0.5 (5) away;
  - when the author blames themself ("my fault", "제 실수"), weak and conditional cues do not count.
  So a bad mood, a remark about a competitor or the weather, a plain question and a lukewarm
  "그냥 그래요" are not complaints; a question that reports a problem ("적립이 안 됐는데 어디에
  문의하나요?") is.
- **Sentiment** adds to the tone what the complaint cues without a weight of their own say (-0.8
  each per unit of strength) and the rating (-2.5, -1.5, 0, +1.5, +2.5 for 1 to 5 stars):
  positive above +0.5, negative below -0.5, neutral between. A complaint is negative whatever its
  praise (its sum is capped at -0.6).
- **Request** when a strong request cue is the brand's ("있었으면 좋겠어요", "출시해 주세요",
  "bring back", "wish you had", "would be nice"), or please beside a verb or noun of making
  ("add dark mode please", "재출시 plz"), or a soft cue ("했으면 좋겠어요", "you should") in a
  mention that is not a complaint (there it asks for a fix, not for something new).
- **Themes, products, stores**: the keys of the brand's hits, in order of appearance, each once
  (``lexicon.THEMES``, ``lexicon.PRODUCTS``, ``lexicon.STORES``); a waiting time adds ``wait``.
- **Score**: the sentiment sum squashed into [-1, 1] (``sum / (|sum| + 2)``).

Nothing here logs or keeps the text.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Final, Literal

from services.feedback.logic import lexicon as lx
from services.feedback.models.mention import Classification, Language, Sentiment

Target = Literal["brand", "competitor"]

POSITIVE_ABOVE: Final = 0.5
NEGATIVE_BELOW: Final = -0.5
COMPLAINT_CAP: Final = -0.6  # a complaint's sentiment sum is at most this
COMPLAINT_FROM: Final = 1.0  # the complaint score from which a mention is a complaint
STRONG_CUE: Final = 1.0  # a cue this strong is a problem on its own
CONDITIONAL_CUE: Final = 1.0  # a waiting time, an order then what came, while not positive
NOT_POSITIVE_BELOW: Final = 1.0  # weak and conditional cues count while the tone is below this
CUE_TONE: Final = -0.8  # what a cue without a sentiment weight adds to the sentiment, per unit
ASPECT_BONUS: Final = ((-1.8, 1.0), (-1.0, 0.6))  # (tone at most, complaint added) with an aspect
RATING_TONE: Final = {1: -2.5, 2: -1.5, 3: 0.0, 4: 1.5, 5: 2.5}
RATING_COMPLAINT: Final = {1: 0.7, 2: 0.5, 3: 0.0, 4: -0.3, 5: -0.5}
BEFORE_CONTRAST: Final = 0.6
CONCESSIVE: Final = 0.3
QUESTION: Final = 0.5
NEGATED_POSITIVE: Final = -0.6  # "안 좋아요" is a little less bad than "나빠요"
NEGATED_NEGATIVE: Final = -0.3  # "not bad" is faint praise; "hasn't expired" hardly any
TEARS_ALONE: Final = -0.5
TEARS_FACTOR: Final = 1.2
ANNOYED: Final = -1.0
SMILE: Final = 0.3
EMOJI: Final = 1.0
MAX_KO: Final = 12  # the longest Korean surface, in syllables (checked when the lexicon compiles)
HANGUL_WEIGHT: Final = 3  # a Hangul syllable carries about as much as three Latin letters
EN_LOOKBACK: Final = 4  # English negators reach this many words back

AUXILIARIES: Final = {
    "do": "do", "does": "does", "did": "did", "is": "is", "was": "was", "were": "were",
    "are": "are", "have": "have", "has": "has", "had": "had", "could": "could", "would": "would",
    "should": "should", "ca": "can", "wo": "will", "must": "must", "need": "need", "ai": "is",
}  # fmt: skip
SUFFIXES: Final = (
    ("ies", "y"), ("ied", "y"), ("ier", "y"), ("iest", "y"), ("ily", "y"), ("ness", ""), ("ing", ""),
    ("ing", "e"), ("est", ""), ("ed", ""), ("ed", "e"), ("es", ""), ("er", ""), ("er", "e"), ("ly", ""),
    ("s", ""), ("y", ""), ("d", ""),
)  # fmt: skip
TOKEN: Final = re.compile(
    r"(?P<ko>[가-힣]+)"
    r"|(?P<jamo>[ㄱ-ㅎㅏ-ㅣ]+)"
    r"|(?P<num>\d+(?:[.,:]\d+)*(?:\+\d+|/10|\+)?)"
    r"|(?P<en>[a-z]+(?:['-][a-z]+)*)"
    r"|(?P<emo>\^\^|-_-|-\.-)"
    r"|(?P<stop>[.!?\n;…~]+)"
    r"|(?P<comma>,)"
    r"|(?P<sym>[^\s\w])"
)
CONTRACTION: Final = re.compile(r"\b([a-z]+)n'?t\b")
CANNOT: Final = re.compile(r"\bcannot\b")
REPEATS: Final = re.compile(r"([a-z])\1{2,}")
DOUBLES: Final = re.compile(r"([a-z])\1+")
INVISIBLE: Final = frozenset("\ufe0f\u200d")
HANGUL: Final = re.compile("[가-힣]")


JAMO_INTENSIFIERS: Final = {k: v for k, v in lx.INTENSIFIERS.items() if "ㄱ" <= k[0] <= "ㅣ"}


# -- the compiled lexicon ----------------------------------------------------------------------


@dataclass(slots=True)
class Entry:
    """Every role one surface has in the lexicon, merged (not frozen: it builds 2,000 of them at
    cold start three times faster; nothing changes one after ``_compile``)."""

    sentiment: float = 0.0
    complaint: float = 0.0
    themes: tuple[str, ...] = ()
    product: str | None = None
    store: str | None = None
    target: Target | None = None
    request: int = 0  # 0 none, 1 soft, 2 strong
    intensity: float = 1.0
    mood: bool = False
    sarcasm: bool = False
    ordered: bool = False
    received: bool = False
    product_cue: bool = False
    duration: bool = False
    degree: bool = False  # 별로, 그닥: only a grade when a negation follows
    statement: bool = False  # a cue in statements only
    expected: bool = False  # a failure when negated
    resolved: bool = False  # a problem put right on the spot
    own_fault: bool = False  # the author blames themself: "my fault", "제 실수"
    expectation: bool = False  # the author did or was promised something: 말씀드렸는데, asked
    failure: bool = False  # it did not happen: 안 왔, 없었, 다른 사람, not, only, instead
    past: bool = False  # a failure told in the past tense (안 해 주셨어요, 없었어요)
    covered: bool = False  # a failure inside a cue ("did not get"): the cue already counts it
    word_start: bool = False  # Korean: must begin its word
    word_end: bool = False  # Korean: must end its word
    spans: bool = False  # Korean: may span words
    words: tuple[str, ...] = ()  # English: the phrase, word by word


@dataclass(slots=True)
class Lexicon:
    ko: dict[str, Entry] = field(default_factory=dict)
    ko_lengths: dict[str, tuple[int, ...]] = field(default_factory=dict)  # by first syllable
    en: dict[str, Entry] = field(default_factory=dict)
    en_prefix: dict[str, Entry] = field(default_factory=dict)
    en_phrases: dict[str, tuple[Entry, ...]] = field(default_factory=dict)  # by first word, longest first


Roles = dict[str, object]


def _merge(into: Roles, roles: Roles) -> None:
    for name, value in roles.items():
        if name == "themes":
            old: tuple[str, ...] = into.get(name, ())  # type: ignore[assignment]
            into[name] = (*old, *(t for t in value if t not in old))  # type: ignore[attr-defined]
        elif name in ("word_start", "word_end"):
            into[name] = bool(into.get(name, True)) and bool(value)
        elif name == "spans":
            into[name] = bool(into.get(name)) or bool(value)
        elif name == "request":
            into[name] = max(into.get(name, 0), value)  # type: ignore[call-overload]
        else:
            into[name] = value


def _key(surface: str) -> tuple[tuple[str, ...], Roles]:
    """Where a surface goes (("ko", key), ("en", word), ("prefix", stem) or ("phrase", *words)) and
    what its spelling says."""
    word_start, word_end = surface.startswith("^"), surface.endswith("$")
    surface = surface.strip("^$").strip()
    if HANGUL.search(surface):
        key = surface.replace(" ", "")
        if len(key) > MAX_KO:
            raise ValueError(f"a Korean surface longer than {MAX_KO} syllables: {surface}")
        return ("ko", key), {"word_start": word_start, "word_end": word_end, "spans": " " in surface}
    words = tuple(surface.split())
    if len(words) > 1:
        return ("phrase", *words), {"words": words}
    if surface.endswith("*"):
        return ("prefix", surface[:-1]), {}
    return ("en", surface), {}


def _compile() -> Lexicon:
    tables: list[tuple[Iterable[str], Roles]] = [
        (lx.BRAND, {"target": "brand"}),
        (lx.COMPETITORS, {"target": "competitor"}),
        (lx.REQUEST_STRONG, {"request": 2}),
        (lx.REQUEST_SOFT, {"request": 1}),
        (lx.MOOD, {"mood": True}),
        (lx.SARCASM, {"sarcasm": True}),
        (lx.ORDERED, {"ordered": True}),
        (lx.RECEIVED, {"received": True}),
        (lx.PRODUCT_CUES, {"product_cue": True}),
        (lx.DURATIONS, {"duration": True}),
        (lx.DEGREE_ADVERBS_KO, {"degree": True}),
        (lx.STATEMENT_CUES, {"statement": True}),
        (lx.EXPECTED_EN, {"expected": True}),
        (lx.RESOLVED, {"resolved": True}),
        (lx.OWN_FAULT, {"own_fault": True}),
        (lx.EXPECTATION_KO, {"expectation": True}),
        (lx.EXPECTATION_EN, {"expectation": True}),
        (lx.FAILURE_KO, {"failure": True}),
        (lx.FAILURE_EN, {"failure": True}),
        (lx.BLOCKERS, {}),
    ]
    sentiment = (*lx.SENTIMENT_KO, *lx.SENTIMENT_EN)
    tables.extend(((surface,), {"sentiment": weight}) for surface, weight in sentiment)
    tables.extend(
        ((surface,), {"complaint": weight, "themes": tuple(themes.split())})
        for surface, weight, themes in (*lx.COMPLAINT_KO, *lx.COMPLAINT_EN)
    )
    tables.extend((surfaces, {"themes": (theme,)}) for theme, surfaces in lx.THEMES.items())
    tables.extend((surfaces, {"product": product}) for product, surfaces in lx.PRODUCTS.items())
    tables.extend((surfaces, {"store": store, "target": "brand"}) for store, surfaces in lx.STORES.items())
    tables.extend(
        ((surface,), {"intensity": factor})
        for surface, factor in lx.INTENSIFIERS.items()
        if surface not in JAMO_INTENSIFIERS  # ㄹㅇ: a jamo run, read by the tokeniser
    )
    pending: dict[tuple[str, ...], Roles] = {}
    for surfaces, roles in tables:
        for surface in surfaces:
            key, spelling = _key(surface)
            _merge(pending.setdefault(key, {}), {**spelling, **roles})
    for surface in (*lx.SARCASM, *lx.RESOLVED):  # "love that", "대응 최고": what their words say
        key, _ = _key(surface)
        if key[0] in ("ko", "phrase") and "sentiment" not in pending[key]:
            words = surface.strip("^$").split()
            found = [pending.get(_key(word)[0], {}).get("sentiment", 0.0) for word in words]
            pending[key]["sentiment"] = sum(found)  # type: ignore[arg-type]
    lex = Lexicon()
    phrases: dict[str, list[Entry]] = {}
    for (kind, first, *_), roles in pending.items():
        entry = Entry(**roles)  # type: ignore[arg-type]
        if kind == "ko":
            lex.ko[first] = entry
        elif kind == "en":
            lex.en[first] = entry
        elif kind == "prefix":
            lex.en_prefix[first] = entry
        else:
            phrases.setdefault(first, []).append(entry)
    lex.en_phrases = {w: tuple(sorted(es, key=lambda e: -len(e.words))) for w, es in phrases.items()}
    lengths: dict[str, set[int]] = {}
    for stem in lex.ko:
        lengths.setdefault(stem[0], set()).add(len(stem))
    lex.ko_lengths = {ch: tuple(sorted(found, reverse=True)) for ch, found in lengths.items()}
    return lex


LEX: Final = _compile()
DURATION_UNITS_EN: Final = frozenset(lx.DURATION_UNITS_EN)
PLEASE: Final = frozenset(lx.PLEASE)
REQUEST_VERBS_EN: Final = frozenset(lx.REQUEST_VERBS_EN)
NEGATORS_EN: Final = frozenset(lx.NEGATORS_EN)
GLUE_KO: Final = frozenset(lx.GLUE_KO)
CONTRAST: Final = frozenset(lx.CONTRAST)
FIRST_PERSON: Final = frozenset((*lx.FIRST_PERSON_KO, *lx.FIRST_PERSON_EN))
WHY: Final = frozenset(lx.WHY)
NOT_FAILURE_EN: Final = frozenset(lx.NOT_FAILURE_EN)
FAILURE_NEGATORS_EN: Final = frozenset(("not", "no", "never", "nothing", "none"))
NEGATORS_KO: Final = frozenset(lx.NEGATORS_KO_BEFORE)
PAST_FINAL: Final = 20  # the final consonant ㅆ: 했, 갔, 왔, 줬 (not 있, 겠)
NOT_PAST: Final = frozenset("있겠")
EXPECTED_THEN_FAILED: Final = 1.0  # an expectation, then a failure: a conditional cue
TOLD_FAILURE: Final = 0.5  # the author's story of a failure: a weak cue
WHY_FAILURE: Final = 0.6  # a why beside a failure: a weak cue
OBJECT: Final = 2  # words right after an expectation say what was asked ("asked for no ice")
EXPECTING_VERBS_KO: Final = tuple(v.replace(" ", "") for v in lx.EXPECTING_VERBS_KO)
NOT_FAILURE_KO: Final = tuple(v.replace(" ", "") for v in lx.NOT_FAILURE_KO)
EXPERIENTIAL: Final = re.compile("[어아해가와여] ?(?:보|봤|봄|본)")  # 먹어봤, 가봄: the author tried


# -- reading a text ----------------------------------------------------------------------------


@dataclass(slots=True)
class Token:
    text: str
    kind: str  # ko, jamo, num, en, emo, sym
    clause: int


@dataclass(slots=True)
class Clause:
    question: bool = False
    before_contrast: bool = False
    concessive: bool = False
    mood: bool = False
    request: bool = False


@dataclass(slots=True)
class Hit:
    entry: Entry
    start: int  # its first token
    end: int  # one past its last token
    clause: int
    negated: bool = False
    factor: float = 1.0
    target: Target = "brand"
    emoticon: str = ""  # laugh, smile, tears, annoyed, positive, negative, sarcasm


def _expand(match: re.Match[str]) -> str:
    aux = AUXILIARIES.get(match.group(1))
    return f"{aux} not" if aux else match.group(0)


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFC", text).lower().replace("\u2019", "'").replace("\u2018", "'")
    text = CONTRACTION.sub(_expand, CANNOT.sub("can not", text))
    return REPEATS.sub(r"\1\1", text)


def _ends_clause_ko(word: str) -> tuple[bool, bool]:
    """(a connective ending: the clause before a contrast; a concessive ending)."""
    if word.endswith(lx.CONNECTIVE_KO):
        return True, False
    if len(word) >= 2 and word.endswith("데"):
        code = ord(word[-2]) - 0xAC00
        if 0 <= code < 11172 and code % 28 == 4:  # a final ㄴ: 비싼데, 한데
            return True, False
    return False, len(word) >= 3 and word.endswith(lx.CONCESSIVE_KO)


def tokenise(text: str) -> tuple[list[Token], list[Clause]]:
    """The words of a normalised text and its clauses."""
    tokens: list[Token] = []
    clauses = [Clause()]

    def close() -> None:
        if tokens and tokens[-1].clause == len(clauses) - 1:
            clauses.append(Clause())

    for match in TOKEN.finditer(text):
        kind, value = match.lastgroup or "sym", match.group()
        if kind == "stop":
            if "?" in value and tokens and tokens[-1].clause == len(clauses) - 1:
                clauses[-1].question = True
            close()
        elif kind == "comma":
            close()
        elif kind in ("en", "ko") and value in CONTRAST:
            if tokens and tokens[-1].clause == len(clauses) - 1:
                clauses[-1].before_contrast = True
            close()
        elif value not in INVISIBLE:
            tokens.append(Token(value, kind, len(clauses) - 1))
            if kind == "ko":
                contrast, concessive = _ends_clause_ko(value)
                if contrast or concessive:
                    clauses[-1].before_contrast, clauses[-1].concessive = contrast, concessive
                    close()
            elif kind in ("jamo", "emo", "sym") and value not in JAMO_INTENSIFIERS:
                close()
    if len(clauses) > 1 and (not tokens or tokens[-1].clause != len(clauses) - 1):
        clauses.pop()
    clauses[-1].before_contrast = False  # "...빼달라고 했는데": nothing comes after it
    for clause, last in {t.clause: t for t in tokens}.items():  # 있나요, 할까요 without a "?"
        if last.kind == "ko" and last.text.endswith(lx.QUESTION_KO):
            clauses[clause].question = True
    return tokens, clauses


@lru_cache(maxsize=8192)
def _forms(word: str) -> tuple[str, ...]:
    """The word, then what it may be inflected from."""
    candidates = [word]
    single = DOUBLES.sub(r"\1", word)
    if single != word:
        candidates.append(single)
    for w in list(candidates):
        if w.endswith("'s"):
            candidates.append(w[:-2])
        for suffix, repl in SUFFIXES:
            if w.endswith(suffix) and len(w) - len(suffix) >= 3:
                stem = w[: len(w) - len(suffix)] + repl
                candidates.append(stem)
                if not repl and len(stem) > 3 and stem[-1] == stem[-2]:
                    candidates.append(stem[:-1])  # stopped -> stop
    return tuple(dict.fromkeys(candidates))


def _word_matches(pattern: str, word: str) -> bool:
    if pattern == "_":
        return True
    if pattern.endswith("*"):
        return word.startswith(pattern[:-1])
    return pattern == word or pattern in _forms(word)


def _match_en(tokens: list[Token], i: int) -> tuple[Entry, int] | None:
    word, forms = tokens[i].text, _forms(tokens[i].text)
    for form in forms:
        for phrase in LEX.en_phrases.get(form, ()):
            n = len(phrase.words)
            if i + n <= len(tokens) and all(
                tokens[i + k].kind in ("en", "num")
                and tokens[i + k].clause == tokens[i].clause
                and _word_matches(phrase.words[k], tokens[i + k].text)
                for k in range(1, n)
            ):
                return phrase, n
    for form in forms:
        if (entry := LEX.en.get(form)) is not None:
            return entry, 1
    for k in range(len(word), 2, -1):
        if (entry := LEX.en_prefix.get(word[:k])) is not None:
            return entry, 1
    return None


def _ko_hits(tokens: list[Token], run: list[int]) -> Iterator[Hit]:
    """Hits in consecutive Korean words, found in their text with the spaces taken out."""
    compact = "".join(tokens[t].text for t in run)
    owner: list[int] = []  # the token of each character
    starts: list[int] = []  # where that token starts
    for t in run:
        starts.extend([len(owner)] * len(tokens[t].text))
        owner.extend([t] * len(tokens[t].text))
    j = 0
    while j < len(compact):
        for length in LEX.ko_lengths.get(compact[j], ()):
            entry = LEX.ko.get(compact[j : j + length]) if j + length <= len(compact) else None
            last = j + length - 1
            if (
                entry is None
                or (not entry.spans and owner[j] != owner[last])
                or (entry.word_start and j != starts[j] and compact[starts[j] : j] not in GLUE_KO)
                or (entry.word_end and last + 1 < len(compact) and owner[last + 1] == owner[last])
            ):
                continue
            rest = compact[j + length : j + length + 8]
            if not (entry.degree and rest.startswith(("안", "못", "없"))):
                hit = Hit(entry, owner[j], owner[last] + 1, tokens[owner[j]].clause)
                hit.negated = _negated_ko(tokens, hit, compact[starts[j] : j], rest)
                yield hit
            j += length
            break
        else:
            j += 1


def _negated_ko(tokens: list[Token], hit: Hit, glued: str, rest: str) -> bool:
    """``glued``: what its word has before the hit; ``rest``: the text after it, spaces taken out."""
    if glued in lx.NEGATORS_KO_BEFORE:  # 안좋아요
        return True
    if not glued and hit.start > 0:  # 안 좋아요
        before = tokens[hit.start - 1]
        if before.text in lx.NEGATORS_KO_BEFORE and before.clause == hit.clause:
            return True
    for lead in ("하", "해", "스럽", "스러", "롭", ""):  # 좋지 않아요, 친절하지도 않았어요
        if rest.startswith(lead) and rest[len(lead) :].startswith(lx.NEGATORS_KO_AFTER):
            return True
    entry = hit.entry
    return (entry.sentiment < 0 or entry.complaint > 0) and rest.startswith(lx.ABSENCE_KO_AFTER)


def _emoticon(token: Token) -> str:
    text = token.text
    if token.kind == "jamo":
        for letters, kind in (("ㅠㅜ", "tears"), ("ㅡ", "annoyed"), ("ㅋ", "laugh"), ("ㅎ", "smile")):
            if any(ch in letters for ch in text) and (kind != "annoyed" or len(text) >= 2):
                return kind
        return ""
    if text == "^^":
        return "sarcasm"
    if text in ("-_-", "-.-"):
        return "annoyed"
    for emoji, kind in (
        (lx.EMOJI_SARCASM, "sarcasm"),
        (lx.EMOJI_POSITIVE, "positive"),
        (lx.EMOJI_NEGATIVE, "negative"),
        (lx.EMOJI_TEARS, "tears"),
    ):
        if text in emoji:
            return kind
    return ""


def find_hits(tokens: list[Token]) -> list[Hit]:
    """Every lexicon match, duration, jamo intensifier and emoticon, in text order."""
    hits: list[Hit] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token.kind == "ko":
            run = [i]
            while (
                run[-1] + 1 < len(tokens)
                and tokens[run[-1] + 1].kind == "ko"
                and (tokens[run[-1] + 1].clause == token.clause)
            ):
                run.append(run[-1] + 1)
            hits.extend(_ko_hits(tokens, run))
            i = run[-1] + 1
            continue
        if token.kind in ("en", "num"):
            found = _match_en(tokens, i)
            if found is not None:
                hits.append(Hit(found[0], i, i + found[1], token.clause))
                i += found[1]
                continue
            if token.kind == "num" and i + 1 < len(tokens):
                unit = tokens[i + 1]
                if (unit.kind == "en" and unit.text in DURATION_UNITS_EN) or (
                    unit.kind == "ko" and unit.text.startswith(lx.DURATION_UNITS_KO)
                ):
                    hits.append(Hit(Entry(duration=True), i, i + 1, token.clause))
        elif token.kind == "jamo" and token.text in JAMO_INTENSIFIERS:
            hits.append(Hit(Entry(intensity=JAMO_INTENSIFIERS[token.text]), i, i + 1, token.clause))
        elif kind := _emoticon(token):
            sarcasm = kind in ("laugh", "sarcasm")
            hits.append(Hit(Entry(sarcasm=sarcasm), i, i + 1, token.clause, emoticon=kind))
        i += 1
    hits.sort(key=lambda h: h.start)
    return hits


def _negate_en(tokens: list[Token], hits: list[Hit]) -> None:
    for hit in hits:
        first = tokens[hit.start]
        if first.kind not in ("en", "num"):
            continue
        for k in range(hit.start - 1, max(hit.start - 1 - EN_LOOKBACK, -1), -1):
            if tokens[k].clause != first.clause:
                break
            if tokens[k].text in NEGATORS_EN:
                hit.negated = True
                break


def _intensify(hits: list[Hit]) -> None:
    for n, hit in enumerate(hits):
        if hit.entry.intensity != 1.0 or not (hit.entry.sentiment or hit.emoticon):
            continue
        edge = hit.start
        for prev in reversed(hits[:n]):
            if prev.entry.intensity == 1.0 or prev.clause != hit.clause or prev.end < edge - 1:
                break
            hit.factor *= prev.entry.intensity
            edge = prev.start


def _comparison(tokens: list[Token], hit: Hit) -> bool:
    """ "스벅보다", "than Starbucks": the competitor is only the yardstick."""
    last = tokens[hit.end - 1]
    if last.kind == "ko" and "보다" in last.text:
        return True
    k = hit.start - 1
    while k >= 0 and tokens[k].text in ("the", "a"):
        k -= 1
    return k >= 0 and tokens[k].text == "than"


def _attribute(tokens: list[Token], hits: list[Hit]) -> None:
    named = [
        h
        for h in hits
        if h.entry.target == "brand" or (h.entry.target == "competitor" and not _comparison(tokens, h))
    ]
    current: Target | None = None
    upcoming = iter(named)
    following = next(upcoming, None)
    for hit in hits:  # both in text order
        while following is not None and following.start <= hit.start:
            current, following = following.entry.target, next(upcoming, None)
        if current is None:  # nothing named yet: the first name later in this clause, or ours
            after = next((h for h in named if h.clause == hit.clause), None)
            hit.target = (after.entry.target if after else None) or "brand"
        else:
            hit.target = current


# -- a story of what went wrong ------------------------------------------------------------------


def _past_ko(syllable: str) -> bool:
    """A syllable ending in ㅆ (했, 갔, 왔, 줬, 셨), 있 and 겠 excepted: a past tense."""
    code = ord(syllable) - 0xAC00
    return 0 <= code < 11172 and code % 28 == PAST_FINAL and syllable not in NOT_PAST


def _expects_ko(word: str) -> bool:
    """주문했는데, 말씀드렸더니, 샀지만: what the author did, before what went wrong."""
    return any(
        word.endswith(ending) and word[: -len(ending)].endswith(EXPECTING_VERBS_KO)
        for ending in lx.PAST_CONNECTIVE_KO
    )


def _negated_verb_ko(tokens: list[Token], k: int) -> tuple[int, bool] | None:
    """A negated verb at token ``k`` (안 왔어요, 못받음, 좋지 않았, 없었어요): (its end, past)."""
    word = tokens[k].text
    after = tokens[k + 1] if k + 1 < len(tokens) else None
    if word in NEGATORS_KO and after is not None and after.kind == "ko" and after.clause == tokens[k].clause:
        if EXPERIENTIAL.search(after.text) or (word + after.text).startswith(NOT_FAILURE_KO):
            return None  # 아직 못 먹어봄, 못 참고: the author's own doing
        return k + 2, any(map(_past_ko, after.text))
    if EXPERIENTIAL.search(word) or word.startswith(NOT_FAILURE_KO):
        return None
    if (
        word.startswith(lx.GLUED_NEGATION_KO)
        or word.startswith("않")
        or any(n in word for n in lx.NEGATORS_KO_AFTER if n != "지마")
    ):
        return k + 1, any(map(_past_ko, word))
    at = word.find("없")
    if at < 0 or "없이" in word:
        return None
    before = tokens[k - 1].text if k > 0 and tokens[k - 1].clause == tokens[k].clause else ""
    if any(idiom in before + word for idiom in NOT_FAILURE_KO):
        return None
    return k + 1, any(map(_past_ko, word[at:]))


def _negation_en(tokens: list[Token], k: int) -> bool:
    """A negation reporting that something did not happen: "there was no ice pack", "never
    came"; not "asked for no ice", "no wonder", "not only"."""
    if tokens[k].text not in FAILURE_NEGATORS_EN:
        return False
    after = tokens[k + 1].text if k + 1 < len(tokens) and tokens[k + 1].clause == tokens[k].clause else ""
    before = tokens[k - 1].text if k > 0 and tokens[k - 1].clause == tokens[k].clause else ""
    return after not in NOT_FAILURE_EN and before not in ("for", "with", "want", "wanted")


def _story(tokens: list[Token], hits: list[Hit]) -> list[Hit]:
    """The hits, with the expectations and failures that grammar shows added: Korean past-tense
    connectives of doing business (주문했는데, 말씀드렸더니) and negated verbs (안 왔어요, 없었어요),
    English negations. A
    negation that takes back a problem ("불만 없어요", "not bad") or sits inside praise
    ("별거 없었어요", "never disappoints") is no failure."""
    taken_back: set[int] = set()
    covered: set[int] = set()
    for hit in hits:
        entry = hit.entry
        if hit.negated and (entry.sentiment < 0 or entry.complaint > 0):
            taken_back.update(
                k
                for k in range(max(hit.start - EN_LOOKBACK, 0), min(hit.end + 1, len(tokens)))
                if tokens[k].clause == hit.clause
            )
        elif entry.sentiment:  # "별거 없었어요", "never disappoints": the word says it all
            taken_back.update(range(hit.start, hit.end))
        elif entry.complaint:  # "did not get", "안 왔어요": a cue already, only an outcome here
            covered.update(range(hit.start, hit.end))
    found = list(hits)
    for k, token in enumerate(tokens):
        if k in taken_back:
            continue
        if token.kind == "ko":
            if _expects_ko(token.text):
                found.append(Hit(Entry(expectation=True), k, k + 1, token.clause))
            negated = _negated_verb_ko(tokens, k)
            if negated is not None:
                entry = Entry(failure=True, past=negated[1], covered=k in covered)
                found.append(Hit(entry, k, negated[0], token.clause))
        elif token.kind == "en" and _negation_en(tokens, k):
            found.append(Hit(Entry(failure=True, covered=k in covered), k, k + 1, token.clause))
    found.sort(key=lambda h: h.start)
    return found


def _story_cues(tokens: list[Token], clauses: list[Clause], ours: list[Hit]) -> tuple[float, float]:
    """(conditional, weak) complaint cues of the author's story: an expectation then a failure
    ("말씀드렸는데 다른 사람 번호로 적립", "asked for the code and was told customers only") is a
    conditional cue; a failure the author tells (first person, or a Korean past tense) and a why
    beside a failure ("왜 ... 안 되나요?", "why can't I ...") are weak ones."""
    why = {t.clause for t in tokens if t.text in WHY} | {
        t.clause
        for k, t in enumerate(tokens[:-1])
        if t.text == "how" and tokens[k + 1].text == "come" and tokens[k + 1].clause == t.clause
    }
    first_person = any(t.text in FIRST_PERSON for t in tokens)
    expectations = [
        h
        for h in ours
        if (h.entry.expectation or h.entry.ordered) and not (clauses[h.clause].mood or h.negated)
    ]
    failures = [
        h
        for h in ours
        if h.entry.failure
        and not (h.negated and h.entry.words)  # "wasn't told", "not any different"
        and not (clauses[h.clause].mood or clauses[h.clause].concessive)
        and (not clauses[h.clause].question or h.clause in why)
    ]
    if expectations and any(
        f.start >= min(e.end for e in expectations) + OBJECT or f.clause > expectations[0].clause
        for f in failures
    ):
        return EXPECTED_THEN_FAILED, 0.0
    told = [f for f in failures if not (f.entry.covered or f.entry.complaint)]
    weak = TOLD_FAILURE if any(first_person or f.entry.past for f in told) else 0.0
    if any(f.clause in why for f in failures):
        weak += WHY_FAILURE
    return 0.0, weak


# -- deciding ----------------------------------------------------------------------------------


@dataclass(slots=True)
class Tally:
    tone: float = 0.0  # the brand's judgements and emoticons
    cue_tone: float = 0.0  # what its complaint cues without a weight of their own add
    strong: float = 0.0
    weak: float = 0.0
    conditional: float = 0.0
    praise: float = 0.0
    aspect: bool = False
    sarcasm: bool = False
    request: int = 0
    waiting_time: bool = False
    resolved: bool = False
    own_fault: bool = False
    themes: list[str] = field(default_factory=list)
    products: list[str] = field(default_factory=list)
    stores: list[str] = field(default_factory=list)


def _clause_weight(clause: Clause) -> float:
    weight = 1.0
    if clause.before_contrast:
        weight *= BEFORE_CONTRAST
    if clause.concessive:
        weight *= CONCESSIVE
    if clause.question:
        weight *= QUESTION
    return weight


def _cue(tally: Tally, hit: Hit, clause: Clause, product_here: bool) -> None:
    """Count a hit's complaint cue, if it has one here."""
    entry = hit.entry
    if entry.expected and hit.negated:  # "my points have not been credited"
        strength = STRONG_CUE
    elif hit.negated or (entry.statement and clause.question):
        return
    else:
        strength = max(entry.complaint, STRONG_CUE if entry.product_cue and product_here else 0.0)
    if strength <= 0:
        return
    if strength >= STRONG_CUE:
        tally.strong += strength
    elif clause.mood or clause.concessive:
        return
    else:
        tally.weak += strength
    if not entry.sentiment:
        tally.cue_tone += CUE_TONE * strength * _clause_weight(clause)


def _tally(tokens: list[Token], clauses: list[Clause], hits: list[Hit]) -> Tally:
    tally = Tally()
    ours = [h for h in hits if h.target == "brand"]
    for hit in ours:
        clauses[hit.clause].mood |= hit.entry.mood
        clauses[hit.clause].request |= bool(hit.entry.request)
    for k, token in enumerate(tokens):
        last = k + 1 == len(tokens) or tokens[k + 1].clause != token.clause
        tally.sarcasm |= last and token.text in lx.SARCASM_LAST
    products_in = {h.clause for h in ours if h.entry.product}
    clause_tone: dict[int, float] = {}
    ordered = received = duration = waiting = False
    for hit in ours:
        entry, clause = hit.entry, clauses[hit.clause]
        tally.sarcasm |= entry.sarcasm
        tally.resolved |= entry.resolved
        tally.own_fault |= entry.own_fault
        tally.themes.extend(entry.themes)
        tally.products.extend([entry.product] if entry.product else [])
        tally.stores.extend([entry.store] if entry.store else [])
        ordered |= entry.ordered
        received |= entry.received
        duration |= entry.duration
        waiting |= "wait" in entry.themes or "order" in entry.themes
        if entry.request and not hit.negated:
            tally.request = max(tally.request, entry.request)
        if (entry.themes or entry.product or entry.store) and not (clause.question or clause.mood):
            tally.aspect = True
        if entry.sentiment and not clause.mood:
            value = entry.sentiment * hit.factor
            if hit.negated:
                value *= NEGATED_POSITIVE if value > 0 else NEGATED_NEGATIVE
            value *= _clause_weight(clause)
            tally.tone += value
            tally.praise += max(value, 0.0)
            clause_tone[hit.clause] = clause_tone.get(hit.clause, 0.0) + value
        _cue(tally, hit, clause, hit.clause in products_in)
    for hit in ours:
        clause = clauses[hit.clause]
        if not hit.emoticon or clause.mood:
            continue
        here = clause_tone.get(hit.clause, 0.0)
        if hit.emoticon == "tears" and not clause.request:
            tally.tone += here * (TEARS_FACTOR - 1) if here else TEARS_ALONE
        elif hit.emoticon in ("annoyed", "negative"):
            tally.tone += ANNOYED if hit.emoticon == "annoyed" else -EMOJI
        elif hit.emoticon in ("positive", "smile"):
            tally.tone += EMOJI if hit.emoticon == "positive" else SMILE
            tally.praise += EMOJI if hit.emoticon == "positive" else SMILE
    tally.waiting_time = duration and waiting
    tally.conditional = CONDITIONAL_CUE * (tally.waiting_time + (ordered and received))
    _add_story(tally, *_story_cues(tokens, clauses, ours))
    return tally


def _add_story(tally: Tally, conditional: float, weak: float) -> None:
    """The story's cues join the others (a conditional one only when no other pattern counts)."""
    if conditional and not tally.conditional:
        tally.conditional = conditional
        tally.cue_tone += CUE_TONE * conditional
    tally.weak += weak
    tally.cue_tone += CUE_TONE * weak


def _please(tokens: list[Token]) -> bool:
    """Please beside a verb or noun of making: "add dark mode please", "재출시 plz"."""
    asked = {t.clause for t in tokens if t.text in PLEASE}
    return any(
        t.clause in asked
        and (
            (t.kind == "en" and t.text in REQUEST_VERBS_EN)
            or (t.kind == "ko" and t.text.endswith(lx.REQUEST_NOUNS_KO))
        )
        for t in tokens
    )


def detect_language(text: str) -> Language:
    """ "ko" when Hangul carries most of the letters (a syllable counts as three Latin letters), "en"
    when Latin letters do, "other" for any other script or no letters at all."""
    hangul = latin = other = 0
    for ch in text:
        if "가" <= ch <= "힣":
            hangul += HANGUL_WEIGHT
        elif "ㄱ" <= ch <= "ㆎ":
            hangul += 1
        elif "a" <= ch <= "z" or "A" <= ch <= "Z":
            latin += 1
        elif ch.isalpha():
            other += 1
    if hangul > other and hangul >= latin:
        return "ko"
    if latin > other and latin > hangul:
        return "en"
    return "other"


def classify(text: str, *, rating: int | None = None) -> Classification:
    """Read one mention (``rating``: the stars of an app-store review, 1 to 5)."""
    tokens, clauses = tokenise(normalise(text))
    hits = find_hits(tokens)
    _negate_en(tokens, hits)
    _intensify(hits)
    hits = _story(tokens, hits)
    _attribute(tokens, hits)
    tally = _tally(tokens, clauses, hits)

    tone = tally.tone
    if tally.sarcasm and tally.praise and tally.strong + tally.weak + tally.conditional >= COMPLAINT_FROM:
        tone -= 2 * tally.praise
    positive = tone >= NOT_POSITIVE_BELOW or tally.own_fault  # "my fault for sleeping in"
    score = 0.0 if positive and tally.resolved else tally.strong
    if not positive:
        score += tally.weak + tally.conditional
    if tally.aspect:
        score += next((bonus for limit, bonus in ASPECT_BONUS if tone <= limit), 0.0)
    score += RATING_COMPLAINT.get(rating, 0.0) if rating is not None else 0.0
    complaint = score >= COMPLAINT_FROM

    total = tone + tally.cue_tone + (RATING_TONE.get(rating, 0.0) if rating is not None else 0.0)
    if complaint:
        total = min(total, COMPLAINT_CAP)
    sentiment: Sentiment = (
        "positive" if total > POSITIVE_ABOVE else "negative" if total < NEGATIVE_BELOW else "neutral"
    )
    request = tally.request == 2 or (tally.request == 1 and not complaint) or _please(tokens)
    return Classification(
        language=detect_language(text),
        sentiment=sentiment,
        complaint=complaint,
        request=request,
        score=round(total / (abs(total) + 2), 3),
        themes=tuple(dict.fromkeys([*tally.themes, *(["wait"] if tally.waiting_time else [])])),
        products=tuple(dict.fromkeys(tally.products)),
        stores=tuple(dict.fromkeys(tally.stores)),
    )
