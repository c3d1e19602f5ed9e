"""Reading a mention (``logic.classify``): its language; complaints and what is not one (mood,
weather, competitors, plain questions); negation, intensifiers and internet spellings; sarcasm;
app-store ratings; themes, products and stores as normalised keys in both languages; requests;
and the measured precision and recall on the labelled sets in ``labelled/`` (the figures are in
``docs/services/feedback-classifier.md``; ``python -m tests.unit.feedback.evaluate`` prints them)."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter

from services.feedback.logic import lexicon
from services.feedback.logic.classify import classify, detect_language
from services.feedback.models.cases import StoreId
from services.feedback.models.mention import MAX_TEXT, Classification
from tests.unit.fakes import PROPERTIES
from tests.unit.feedback.evaluate import LABELLED, Report, evaluate, load

# -- language -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("강남점 직원분 너무 친절해요", "ko"),
        ("ㅋㅋㅋㅋ", "ko"),
        ("오늘 Dangol latte 최고", "ko"),  # a syllable weighs three Latin letters
        ("The croissant was stale", "en"),
        ("Dangol 소금빵 is the best thing in Seoul", "en"),
        ("美味しいクロワッサン", "other"),
        ("👍👍", "other"),
        ("", "other"),
    ],
)
def test_given_a_text_when_its_language_is_detected_then_the_script_carrying_most_letters_decides(
    text: str, language: str
) -> None:
    assert detect_language(text) == language
    assert classify(text).language == language


# -- complaints ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "홍대점 직원 반말하고 완전 불친절해요",
        "샌드위치에서 머리카락 나왔어요",
        "라떼가 다 식어서 나왔어요",
        "앱 업데이트하고 계속 튕겨요",
        "포인트 적립이 안 됐어요",
        "쿠폰이 안 돼요",
        "결제가 두 번 됐어요",
        "배달이 1시간 넘게 걸렸어요",
        "The cashier was so rude to me",
        "Found a hair in my croissant",
        "My latte was lukewarm again",
        "The app keeps crashing at checkout",
        "My points were never credited",
        "The coupon doesn't work",
        "I was charged twice",
        "Delivery took over an hour",
    ],
)
def test_given_a_reported_problem_when_classified_then_it_is_a_negative_complaint(text: str) -> None:
    found = classify(text)
    assert found.complaint
    assert found.sentiment == "negative"
    assert found.score < 0


@pytest.mark.parametrize(
    "text",
    [
        "비 와서 너무 우울하다",  # a mood
        "월요일 진짜 싫다",
        "Mondays are the worst",
        "It's freezing outside today",  # the weather
        "홍대점 몇 시에 문 닫아요?",  # a plain question
        "Is there parking near the Seongsu store?",
        "스벅 직원 너무 불친절해요",  # a competitor's problem
        "Starbucks got my order wrong again smh",
        "그냥 그래요",  # lukewarm, no problem named
        "Meh. Just an average bakery.",
    ],
)
def test_given_a_mood_the_weather_a_question_or_a_competitor_when_classified_then_it_is_no_complaint(
    text: str,
) -> None:
    assert not classify(text).complaint


def test_given_a_complaint_phrased_as_a_question_when_classified_then_it_is_still_a_complaint() -> None:
    assert classify("포인트 적립이 안 됐는데 어디에 문의하나요?").complaint
    assert classify("Why haven't my points been credited?").complaint


def test_given_a_question_whether_something_is_possible_when_classified_then_it_is_no_complaint() -> None:
    """A failure word in a question about what is possible: "안 되나요?" asks whether something can
    be had; "안 돼요" reports that it failed."""
    assert not classify("반반 주문은 안 되나요?").complaint
    assert classify("반반 주문이 안 돼요").complaint


def test_given_a_small_reservation_in_a_happy_review_when_classified_then_it_is_no_complaint() -> None:
    assert not classify("비싸지만 맛있어서 또 갈 거예요").complaint
    assert not classify("a bit pricey but worth it").complaint
    assert classify("초코케이크 너무 비싸요").complaint


# -- a story of what went wrong -------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "포인트 쓴다고 했는데 적립만 해 주셨어요 결국 포인트 못 씀",  # an expectation, then a failure
        "예약 시간 맞춰 갔는데 아직 준비 안 됐다고 기다리래요",
        "화장실 휴지가 다 떨어졌는데 말씀드려도 채워 주지 않으시더라고요",
        "Gave my points number at the till and nothing was added",
        "Booked a table for six and when we arrived there was no booking under my name",
        "I asked for the cake to be sliced and they handed it over whole, no knife either",
        "Why do I have to re-enter my card every single time?",  # a grievance frame
        "왜 매번 제 주문만 빠지는 건지 모르겠어요",  # a why beside a failure, the author's story
        "The app took my money but the order never showed up at the store",  # money lost
        "계산이 잘못 찍혀서 2천원 더 냈어요",
        "I was overcharged and the receipt proves it",
    ],
)
def test_given_a_story_of_what_went_wrong_in_new_words_when_classified_then_it_is_a_complaint(
    text: str,
) -> None:
    found = classify(text)
    assert found.complaint, text
    assert found.sentiment == "negative"


@pytest.mark.parametrize(
    "text",
    [
        "말씀드렸더니 바로 데워 주셨어요",  # an expectation met
        "I asked for less ice and they got it right",
        "어제 갔는데 사람이 하나도 없어서 조용히 작업했어요",  # going only sets the scene
        "아직 신메뉴는 못 먹어봤어요",  # the author has not tried it yet
        "집에 가서 먹으려고 했는데 못 참고 차에서 다 먹음",  # what the author could not help
        "I asked for a recommendation and she did not disappoint",  # a negated problem
        "I don't think I've ever had a bad coffee here",  # a hedge
        "Brought my parents here, they didn't want to leave",  # a wish, not an outcome
        "I said I'd only have one bread and left with five lol",  # what was asked, not what came
        "My mistake, I tapped iced instead of hot. Still drank it",  # the author's own fault
        "제가 주문 잘못 눌러서 아이스로 시켰네요 제 실수ㅋㅋ",
        "I haven't tried the new menu yet",
    ],
)
def test_given_an_expectation_met_a_negated_problem_or_the_authors_own_doing_then_it_is_no_complaint(
    text: str,
) -> None:
    assert not classify(text).complaint, text


def test_given_a_failure_alone_when_nothing_else_is_wrong_then_it_is_no_complaint() -> None:
    """A failure the author tells is a weak cue: alone it needs company."""
    assert not classify("I haven't been to the new store").complaint
    assert not classify("오늘 한 번도 안 기다렸어요").complaint


def test_given_a_why_question_when_nothing_failed_then_it_is_no_complaint() -> None:
    assert not classify("왜 소금빵은 이렇게 맛있을까요?").complaint
    assert not classify("Why is the cinnamon roll only sold on weekends?").complaint


# -- negation, intensifiers, internet spellings ------------------------------------------------


@pytest.mark.parametrize(
    ("plain", "negated"),
    [
        ("빵이 맛있어요", "빵이 맛있지 않아요"),
        ("커피가 좋아요", "커피가 안 좋아요"),
        ("커피가 좋아요", "커피가 안좋아요"),
        ("The coffee is good", "The coffee is not good"),
        ("The coffee is good", "The coffee isn't good"),
        ("The croissants are good", "The croissants are no longer good"),
    ],
)
def test_given_praise_when_it_is_negated_then_the_sentiment_flips(plain: str, negated: str) -> None:
    assert classify(plain).sentiment == "positive"
    assert classify(negated).sentiment == "negative"


@pytest.mark.parametrize(
    ("text", "sentiment"),
    [
        ("직원분들 하나도 불친절하지 않았어요", "positive"),
        ("Staff were not rude at all", "positive"),
        ("The coffee isn't bad at all, actually pretty decent", "positive"),
        ("No complaints, everything arrived perfectly packed", "positive"),
        ("기다림 없이 바로 받았어요", "neutral"),
    ],
)
def test_given_a_problem_word_when_it_is_negated_then_it_is_no_complaint(text: str, sentiment: str) -> None:
    found = classify(text)
    assert not found.complaint
    assert found.sentiment == sentiment


@pytest.mark.parametrize("text", ["불친절해서 다시는 안 가요", "Never again.", "Won't be back."])
def test_given_a_never_again_when_classified_then_it_is_a_complaint(text: str) -> None:
    assert classify(text).complaint


@pytest.mark.parametrize(
    ("plain", "stronger"),
    [("맛있어요", "너무 맛있어요"), ("별로예요", "개별로예요"), ("good", "sooo good"), ("bad", "really bad")],
)
def test_given_an_intensifier_when_classified_then_the_score_moves_further_the_same_way(
    plain: str, stronger: str
) -> None:
    assert abs(classify(stronger).score) > abs(classify(plain).score)
    assert (classify(stronger).score > 0) == (classify(plain).score > 0)


@pytest.mark.parametrize(
    ("text", "sentiment"),
    [
        ("소금빵 ㄹㅇ 존맛ㅠㅠ", "positive"),  # tears of joy
        ("크루아상 겉바속촉 인정👍", "positive"),
        ("sooooo good omg", "positive"),
        ("직원 태도 ㅡㅡ", "negative"),
        ("진짜 개별로", "negative"),
        ("the guy at the counter laughed at my order 🙄", "negative"),
    ],
)
def test_given_internet_spellings_when_classified_then_they_are_read(text: str, sentiment: str) -> None:
    assert classify(text).sentiment == sentiment


# -- who it is about -----------------------------------------------------------------------------


def test_given_the_same_problem_when_it_is_a_competitors_then_it_is_not_ours() -> None:
    assert classify("단골 라떼가 다 식어서 나왔어요").complaint
    competitor = classify("스벅 라떼가 다 식어서 나왔어요")
    assert not competitor.complaint
    assert competitor.sentiment == "neutral"


def test_given_a_comparison_in_our_favour_when_classified_then_it_is_positive_and_no_complaint() -> None:
    for text in (
        "스벅은 직원이 불친절한데 단골은 항상 친절해요",
        "스벅보다 여기 아메리카노가 훨씬 맛있어요",
        "The cafe next door serves lukewarm coffee, here it's always hot",
        "Way fluffier bread than Tous les Jours",
    ):
        found = classify(text)
        assert not found.complaint, text
        assert found.sentiment == "positive", text


# -- sarcasm ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "참 빠르네요 주문하고 1시간 기다림ㅋㅋ",
        "진짜 빠르시네요^^ 아메리카노 하나에 30분ㅋㅋㅋ",
        "Great service guys, waited 40 minutes for one latte. Really.",
        "Wow, super fast service. Only took half an hour for a croissant 🙃",
    ],
)
def test_given_praise_beside_a_reported_problem_and_a_sarcasm_marker_then_it_is_a_negative_complaint(
    text: str,
) -> None:
    found = classify(text)
    assert found.complaint
    assert found.sentiment == "negative"


def test_given_a_waiting_time_in_a_happy_mention_when_classified_then_it_is_no_complaint() -> None:
    assert not classify("앱 리뉴얼되고 훨씬 편해졌네요 주문 1분 컷").complaint


# -- ratings ---------------------------------------------------------------------------------------


def test_given_a_rating_when_classified_then_1_2_stars_lean_to_a_complaint_and_4_5_away() -> None:
    text = "앱이 좀 느려요"
    assert classify(text, rating=1).complaint
    assert not classify(text, rating=5).complaint
    assert classify("It's okay.", rating=1).sentiment == "negative"
    assert classify("It's okay.", rating=3).sentiment == "neutral"
    assert classify("It's okay.", rating=5).sentiment == "positive"


def test_given_a_low_rating_alone_when_the_text_names_no_problem_then_it_is_no_complaint() -> None:
    assert not classify("그냥 그래요", rating=2).complaint
    assert classify("그냥 그래요", rating=2).sentiment == "negative"


# -- themes, products, stores ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("korean", "english"),
    [
        ("강남점 크루아상 최고", "Gangnam branch croissant is the best"),
        ("홍대점 소금빵이랑 아아", "Hongdae salt bread and iced americano"),
        ("잠실점 초코케이크", "Jamsil chocolate cake"),
        ("성수 말차라떼", "Seongsu matcha latte"),
        ("판교점 텀블러", "Pangyo tumbler"),
    ],
)
def test_given_a_product_and_a_store_in_either_language_when_classified_then_both_give_the_same_keys(
    korean: str, english: str
) -> None:
    ko, en = classify(korean), classify(english)
    assert ko.products == en.products
    assert ko.stores == en.stores
    assert ko.products
    assert ko.stores


def test_given_a_specific_product_when_classified_then_only_its_own_key_is_given() -> None:
    assert classify("초코케이크 맛있어요").products == ("choco_cake",)
    assert classify("소금빵 맛있어요").products == ("salt_bread",)
    assert classify("빵집 분위기 좋아요").products == ()  # a bakery is not bread


@pytest.mark.parametrize(
    ("text", "themes"),
    [
        ("직원이 불친절해요", {"staff", "service"}),
        ("머리카락 나왔어요", {"hygiene"}),
        ("앱이 튕겨요", {"app"}),
        ("포인트 적립이 안 돼요", {"points"}),
        ("쿠폰 적용이 안 돼요", {"coupon"}),
        ("결제가 두 번 됐어요", {"payment"}),
        ("배달 시켰는데 음료가 다 쏟아졌어요", {"delivery"}),
        ("가격이 너무 비싸요", {"price"}),
        ("The bathroom was filthy", {"store", "hygiene"}),
        ("Waited 40 minutes in line", {"wait"}),
        ("Got a bagel instead of the sandwich I ordered", {"order"}),
        ("Please add a vegan option to the menu", {"menu"}),
    ],
)
def test_given_a_mention_when_classified_then_its_themes_are_lexicon_keys(
    text: str, themes: set[str]
) -> None:
    found = classify(text)
    assert themes <= set(found.themes)
    assert set(found.themes) <= set(lexicon.THEMES)


def test_given_the_lexicon_when_read_then_its_keys_fit_case_store_ids_and_counter_names() -> None:
    """Stores become a case's ``store_id``; every key becomes part of an insight counter's name
    (``product_request:latte``), so none may hold a colon."""
    store_id = TypeAdapter(StoreId)
    assert all(store_id.validate_python(store) == store for store in lexicon.STORES)
    keys = [*lexicon.THEMES, *lexicon.PRODUCTS, *lexicon.STORES]
    assert all(re.fullmatch(r"[a-z][a-z_]*", key) for key in keys)


# -- requests --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "비건 빵 있었으면 좋겠어요",
        "작년 겨울에 팔던 밤 라떼 다시 출시해 주세요",
        "부산에도 매장 생겼으면 좋겠다",
        "단골 pumpkin latte 재출시 plz",
        "Please bring back the chestnut latte!",
        "Wish you had a vegan option",
        "Dark mode in the app would be nice",
        "Great app, just add dark mode please",
    ],
)
def test_given_an_unmet_need_when_classified_then_it_is_a_request_and_no_complaint(text: str) -> None:
    found = classify(text)
    assert found.request
    assert not found.complaint


@pytest.mark.parametrize(
    "text",
    [
        "환불해 주세요. 케이크가 다 녹아서 왔어요",  # a remedy, not something new
        "Please fix the app, it keeps crashing",
        "신메뉴 뭐가 맛있어요? 추천해 주세요",  # asking for advice
        "Is the cinnamon roll back this week?",
    ],
)
def test_given_a_remedy_or_a_plain_question_when_classified_then_it_is_no_request(text: str) -> None:
    assert not classify(text).request


def test_given_a_complaint_with_a_wish_for_something_new_when_classified_then_it_is_both() -> None:
    found = classify("앱 너무 불편해요. 자동 로그인 기능 좀 만들어 주세요")
    assert found.complaint
    assert found.request


# -- any text ---------------------------------------------------------------------------------------


@PROPERTIES
@given(st.text(max_size=400))
def test_given_any_text_when_classified_then_the_result_is_valid_and_uses_lexicon_keys(text: str) -> None:
    found = classify(text)
    assert isinstance(found, Classification)
    assert -1.0 <= found.score <= 1.0
    if abs(abs(found.score) - 0.2) > 0.002:  # the score of a sum of +-0.5 (rounded)
        side = "negative" if found.score < -0.2 else "positive" if found.score > 0.2 else "neutral"
        assert found.sentiment == side
    assert set(found.themes) <= set(lexicon.THEMES)
    assert set(found.products) <= set(lexicon.PRODUCTS)
    assert set(found.stores) <= set(lexicon.STORES)
    assert not found.complaint or found.sentiment == "negative"


def test_given_the_longest_mention_when_classified_then_it_is_read_and_nothing_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    text = ("직원분이 불친절했어요. The latte was cold. " * 200)[:MAX_TEXT]
    with caplog.at_level(logging.DEBUG):
        found = classify(text)
    assert found.complaint
    assert not caplog.records


# -- the labelled sets ---------------------------------------------------------------------------
# Floors a little under the measured figures (docs/services/feedback-classifier.md). The first probe
# has since served as the development set of the story rules, so its floor guards against
# regressions; the second probe is blind (written before those rules, measured once at the end):
# its floor is a canary, not a target.

FLOORS = {
    "ko.jsonl": (0.95, 0.93),
    "en.jsonl": (0.95, 0.93),
    "ko.holdout.jsonl": (0.93, 0.93),
    "en.holdout.jsonl": (0.93, 0.93),
    "ko.probe.jsonl": (0.85, 0.70),
    "en.probe.jsonl": (0.85, 0.70),
    "ko.probe2.jsonl": (0.75, 0.33),
    "en.probe2.jsonl": (0.70, 0.28),
}


def passes(report: Report) -> bool:
    precision, recall = FLOORS[report.name]
    return report.complaint.precision >= precision and report.complaint.recall >= recall


@pytest.mark.parametrize("name", FLOORS)
def test_given_a_labelled_set_when_classified_then_complaint_precision_and_recall_reach_their_floor(
    name: str,
) -> None:
    report = evaluate(LABELLED / name)
    assert passes(report), "\n".join(report.lines())


@pytest.mark.parametrize("name", FLOORS)
def test_given_a_labelled_set_when_a_trivial_classifier_is_measured_then_it_fails(name: str) -> None:
    """The floors mean something: "always a complaint" and "never a complaint" both fail them."""
    for always in (True, False):

        def trivial(text: str, *, rating: int | None = None, always: bool = always) -> Classification:
            return Classification(language="ko", sentiment="neutral", complaint=always, score=0.0)

        assert not passes(evaluate(LABELLED / name, trivial))


@pytest.mark.parametrize(("language", "least"), [("ko", 220), ("en", 220)])
def test_given_the_labelled_sets_when_read_then_they_are_large_varied_and_disjoint(
    language: str, least: int
) -> None:
    tuning = load(LABELLED / f"{language}.jsonl")
    holdout = load(LABELLED / f"{language}.holdout.jsonl")
    probe = load(LABELLED / f"{language}.probe.jsonl")
    probe2 = load(LABELLED / f"{language}.probe2.jsonl")
    assert len(tuning) >= least
    assert len(holdout) >= 80
    assert len(probe2) >= 80
    for rows in (tuning, holdout, probe, probe2):
        assert sum(r.complaint for r in rows) / len(rows) >= 0.35
        assert {r.sentiment for r in rows} == {"negative", "neutral", "positive"}
        assert any(r.request for r in rows)
    texts = [r.text for r in (*tuning, *holdout, *probe, *probe2)]
    assert len(texts) == len(set(texts))


def test_given_every_labelled_file_when_listed_then_each_is_measured() -> None:
    assert {p.name for p in Path(LABELLED).glob("*.jsonl")} == set(FLOORS)
