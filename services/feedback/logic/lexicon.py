"""The words ``logic.classify`` reads mentions with: Korean and English, as plain Python data so that
it ships inside the Lambda asset (no file to open, no model to load).

How a surface is written (every table below uses the same syntax):

- Korean surfaces are stems, matched inside the space-separated word they occur in, so that
  particles and endings may follow (``"불친절"`` matches 불친절해서, 불친절하고; ``"식었"``
  matches 식었어요) and intensifying prefixes may precede (``"별로"`` matches 개별로).
  A leading ``^`` makes the stem start its word (``"^짜"``: 짜요, 짜서, but not 진짜), a
  trailing ``$`` end it (``"^참$"``: the adverb 참, not 참여). A space inside a Korean surface lets
  it span words and matches any spacing, none included (``"기분 나쁘"``: 기분 나쁘다,
  기분나쁘네). Stems are written as they appear: 나쁘 and 나빠 are two stems, list both.
- English surfaces are whole words, lower case; the matcher also tries the word without its
  inflection (``-s``, ``-es``, ``-ed``, ``-ing``, ``-ly``, ``-er``, ``-est``, ``-y``, ``-'s``), so
  ``"rude"`` matches rudely and ``"crash"`` matches crashes. A trailing ``*`` matches any ending
  (``"disappoint*"``). Several words form a phrase matched word by word; ``_`` stands for any one
  word (``"rolled _ eyes"``). Contractions are expanded before matching: write ``"does not work"``,
  never ``"doesn't work"``.

When a text matches several surfaces at the same place, the longest wins: ``"불친절"`` before
``"친절"``, ``"worth the wait"`` before ``"wait"``, ``"있었으면 좋겠"`` before ``"좋"``. A surface
may appear in several tables (``"불친절"`` is both a negative word and a complaint cue); its roles
are merged.

Weights:

- sentiment: 0.5 a hint (평범, average), 1 a plain judgement (좋아요, good), 1.5-2 a strong one
  (최고, amazing, 불친절, rude), 2.5-3 an extreme one (최악, worst). Negative below zero.
- complaint cues: 1 or more is a problem on its own (머리카락, 튕겨요, charged twice, rude); below
  1 a hint that needs company (비싸, slow, waited): hints count only when the rest of the mention
  is not positive. ``themes`` are the cue's own themes, when it has unambiguous ones.

How it was built: by hand, from the situations of a bakery-cafe chain's mentions (staff, waiting,
cold or stale food, hygiene, wrong orders, the app, points, coupons, price, delivery, payment, the
store) and the words Korean and English reviewers use for them, internet spellings included, then
tuned against the labelled tuning sets in ``tests/unit/feedback/labelled/``.

How to extend it: add the surface to the table of its role, in both languages when it has a
counterpart, then add a line that needs it to ``tests/unit/feedback/labelled/<lang>.jsonl``
(never to a ``.holdout`` or ``.probe`` file), and run ``python -m tests.unit.feedback.evaluate
--errors``: the tuning figures must not drop, and the held-out and probe figures say whether the
change generalises. Keys (themes, products, stores) are part of the insight counters' names: add
new keys freely, never rename one. ``docs/services/feedback-classifier.md`` has the details.
"""

from __future__ import annotations

from typing import Final

# The tables are laid out by hand, several short entries a line, so that one screen shows a lot of
# the lexicon: ruff format leaves them alone.
# fmt: off

# -- themes: what a mention is about ------------------------------------------------------------
# Fixed keys (the insight counters and the case subjects use them). Each key lists its aspect
# words: nouns and verbs that name the subject without judging it.
THEMES: Final[dict[str, tuple[str, ...]]] = {
    "service": (
        "서비스", "응대", "태도", "친절도", "인사", "대응", "고객센터", "고객 센터", "문의", "답변",
        "service", "attitude", "manners", "customer support", "support", "greeted", "greet",
    ),
    "staff": (
        "직원", "알바", "알바생", "점원", "사장님", "매니저", "바리스타", "캐셔", "기사님",
        "staff", "employee", "barista", "cashier", "manager", "owner", "server", "girl", "guy",
        "team", "worker",
    ),
    "wait": (  # speed words too: a duration beside one of them is a waiting time
        "웨이팅", "대기", "^줄", "번호표", "속도", "기다", "회전", "빠르", "빨라", "빨리", "느려", "느리",
        "느림", "금방", "걸렸", "걸림", "걸리", "걸려",
        "wait", "waited", "waiting", "line", "queue", "speed", "took", "fast", "quick", "slow",
        "ready",
    ),
    "quality": (  # taste words carry their theme whatever they say of it
        "^맛", "맛이", "맛은", "식감", "온도", "신선도", "퀄리티", "품질", "레시피", "원두", "우유",
        "맛있", "맛없", "맛나", "노맛", "존맛", "꿀맛", "맛이 없",
        "taste", "tasted", "flavour", "flavor", "texture", "quality", "recipe", "beans", "milk",
        "tasty", "delicious", "tasteless", "bland",
    ),
    "hygiene": (
        "위생", "청결", "세척", "유통기한", "집게", "hygiene", "washed", "clean", "gloves",
    ),
    "price": (
        "가격", "가성비", "값", "할인", "원이", "만원", "천원", "이 가격", "price", "prices",
        "cost", "value", "won", "discount", "pricing",
    ),
    "app": (
        "^앱", "어플", "애플리케이션", "로그인", "업데이트", "회원가입", "비밀번호", "알림", "위젯",
        "다크모드", "다크 모드", "화면", "버튼", "로딩", "인증번호", "자동 로그인", "사이렌오더",
        "app", "application", "login", "log in", "update", "password", "notifications",
        "widget", "dark mode", "screen", "button", "sign up", "verification code",
        "auto login",
    ),
    "delivery": (
        "배달", "배민", "배달의민족", "쿠팡이츠", "요기요", "라이더", "배송",
        "delivery", "delivered", "courier", "rider", "coupang eats", "baemin", "uber eats",
    ),
    "points": (
        "포인트", "적립", "스탬프", "마일리지", "멤버십", "등급",
        "points", "point", "stamps", "stamp", "rewards", "membership", "tiers", "credited",
    ),
    "coupon": (
        "쿠폰", "기프티콘", "상품권", "할인권", "1+1", "coupon", "voucher", "gift card",
    ),
    "payment": (
        "결제", "카드", "승인", "환불", "카카오페이", "애플페이", "네이버페이", "계산", "영수증",
        "payment", "pay", "charged", "card", "refund", "checkout", "receipt", "kakaopay",
        "apple pay", "paid",
    ),
    "menu": (
        "메뉴", "신메뉴", "신상", "시즌", "한정", "비건", "글루텐프리", "디카페인", "저당", "옵션",
        "사이즈", "오트밀크", "품절",
        "menu", "new item", "seasonal", "limited", "vegan", "gluten free", "gluten-free", "decaf",
        "low sugar", "option", "size", "oat milk", "sold out",
    ),
    "store": (
        "매장", "인테리어", "분위기", "자리", "좌석", "테이블", "화장실", "주차", "와이파이",
        "콘센트", "에어컨", "음악", "키오스크", "바닥", "창가",
        "store", "branch", "interior", "vibe", "vibes", "seat", "seats", "table", "tables",
        "bathroom", "restroom", "toilet", "parking", "wifi", "outlets", "music", "kiosk", "floor",
        "ac",
    ),
    "order": (  # the order as made and handed over, its packaging included
        "주문", "픽업", "예약", "진동벨", "빨대", "뚜껑", "포장",
        "order", "ordered", "pickup", "pre-ordered", "pick up", "straw", "lid", "sleeve",
        "packaging", "packed",
    ),
}

# -- products: normalised keys, any language ----------------------------------------------------
PRODUCTS: Final[dict[str, tuple[str, ...]]] = {
    "americano": ("아메리카노", "^아아", "^뜨아", "americano", "iced americano"),
    "latte": ("라떼", "카페라떼", "latte", "cafe latte"),
    "vanilla_latte": ("바닐라라떼", "바닐라 라떼", "vanilla latte"),
    "matcha_latte": ("말차라떼", "말차 라떼", "녹차라떼", "녹차 라떼", "matcha latte", "green tea latte"),
    "cold_brew": ("콜드브루", "콜드 브루", "cold brew"),
    "hot_chocolate": ("핫초코", "hot chocolate"),
    "coffee": ("커피", "에스프레소", "coffee", "espresso"),
    "croissant": ("크루아상", "크로와상", "크로아상", "크루아샹", "croissant"),
    "salt_bread": ("소금빵", "salt bread"),
    "bread": ("빵", "식빵", "우유식빵", "bread", "loaf", "milk bread"),
    "baguette": ("바게트", "바게뜨", "baguette"),
    "bagel": ("베이글", "bagel"),
    "scone": ("스콘", "scone"),
    "muffin": ("머핀", "muffin"),
    "cinnamon_roll": ("시나몬롤", "시나몬 롤", "cinnamon roll"),
    "egg_tart": ("에그타르트", "에그 타르트", "egg tart"),
    "macaron": ("마카롱", "macaron", "macaroon"),
    "cookie": ("쿠키", "cookie"),
    "choco_cake": ("초코케이크", "초코 케이크", "초코케익", "초코 케익", "chocolate cake", "choco cake"),
    "strawberry_cake": ("딸기케이크", "딸기 케이크", "딸기케익", "strawberry cake"),
    "cheesecake": ("치즈케이크", "치즈 케이크", "cheesecake", "cheese cake"),
    "cake": ("케이크", "케익", "cake"),
    "sandwich": ("샌드위치", "sandwich"),
    "salad": ("샐러드", "salad"),
    "bingsu": ("빙수", "bingsu", "shaved ice"),
    "tumbler": ("텀블러", "tumbler"),
}

# -- stores: the chain's branches --------------------------------------------------------------
STORES: Final[dict[str, tuple[str, ...]]] = {
    "gangnam": ("강남", "gangnam"),
    "hongdae": ("홍대", "hongdae", "hongik"),
    "jamsil": ("잠실", "jamsil"),
    "seongsu": ("성수", "seongsu"),
    "pangyo": ("판교", "pangyo"),
    "yeouido": ("여의도", "yeouido"),
    "seomyeon": ("서면점", "부산 서면", "seomyeon"),
}

# -- who a remark is about ----------------------------------------------------------------------
# The brand (and its stand-ins: "here", "you guys"). A remark is the brand's unless the last
# name before it is a competitor's; a competitor followed by 보다 / preceded by "than" is only a
# comparison and changes nothing.
BRAND: Final[tuple[str, ...]] = (
    "단골", "단골베이커리", "단골 베이커리", "여기", "여긴", "이 집", "이곳", "이 매장", "우리 동네",
    "dangol", "here", "this place", "you guys", "your",
)
COMPETITORS: Final[tuple[str, ...]] = (
    "스타벅스", "^스벅", "투썸", "이디야", "메가커피", "메가 커피", "빽다방", "컴포즈", "할리스",
    "폴바셋", "파리바게뜨", "파리바게트", "^파바", "뚜레쥬르", "뚜쥬", "옆 카페", "옆카페",
    "옆 가게", "다른 카페", "다른 빵집", "다른 데", "옆집",
    "starbucks", "twosome", "ediya", "mega coffee", "paik's", "paiks", "compose coffee", "hollys",
    "paul bassett", "paris baguette", "tous les jours", "cafe next door", "place next door",
    "other bakery", "another bakery", "other cafe", "other place",
)

# -- sentiment ---------------------------------------------------------------------------------
SENTIMENT_KO: Final[tuple[tuple[str, float], ...]] = (
    # positive
    ("좋", 1.0), ("좋겠", 0.0), ("맛있", 1.5), ("맛나", 1.2), ("존맛", 2.0), ("존맛탱", 2.0),
    ("꿀맛", 2.0), ("핵맛", 2.0), ("최고", 2.0), ("^짱", 1.5), ("대박", 1.2), ("^굿", 1.0),
    ("친절", 1.5), ("감동", 1.5), ("감사", 1.0), ("고마", 1.0), ("행복", 1.5), ("만족", 1.5),
    ("대만족", 2.0), ("강추", 2.0), ("추천합니다", 1.0), ("추천해요", 1.0), ("추천해 주셔서", 1.0),
    ("추천해 주세요", 0.0), ("추천해주세요", 0.0), ("깔끔", 1.0), ("깨끗", 1.0), ("예쁘", 1.0),
    ("예뻐", 1.0), ("이쁘", 1.0), ("이뻐", 1.0), ("귀엽", 1.0), ("귀여", 1.0), ("편하", 1.0),
    ("편해", 1.0), ("편리", 1.0), ("편함", 1.0), ("빠르", 1.0), ("빨라", 1.0), ("금방", 0.8),
    ("신선", 1.0), ("촉촉", 1.0), ("바삭", 1.0), ("쫀득", 1.0), ("쫄깃", 1.0), ("고소", 1.0),
    ("부드럽", 1.0), ("부드러", 1.0), ("따끈", 0.8), ("향긋", 1.0), ("풍부", 1.0), ("든든", 1.0),
    ("넉넉", 1.0), ("푸짐", 1.0), ("혜자", 2.0), ("갓성비", 2.0), ("미쳤", 1.0), ("미친", 1.0),
    ("레전드", 1.5), ("사랑", 1.5), ("최애", 2.0), ("인생", 1.0), ("훌륭", 1.5), ("완벽", 2.0),
    ("멋지", 1.0), ("멋져", 1.0), ("괜찮", 0.7), ("힐링", 1.5), ("실패가 없", 2.0),
    ("실패 없", 2.0), ("보람", 1.5), ("인정", 1.0), ("겉바속촉", 2.0), ("꾸덕", 1.0),
    ("쏠쏠", 1.0), ("재밌", 1.0), ("재미있", 1.0), ("재미가 있", 1.0), ("설레", 1.0),
    ("재방문 의사 있", 1.5), ("또 갈", 1.5), ("또 올", 1.5), ("또 가고", 1.5), ("또 오고", 1.5),
    ("자주 갈", 1.0), ("단골 될", 1.5), ("단골 됐", 1.5), ("먹기 아까", 1.0), ("취향", 1.0),
    ("기분 좋", 1.5), ("살아있", 1.0), ("단골 되", 1.5), ("챙겨 주", 1.0), ("챙겨주", 1.0),
    ("잘 왔", 1.0), ("잘 받았", 1.0), ("잘 되", 1.0), ("잘 돼", 1.0), ("잘되", 1.0), ("잘돼", 1.0),
    ("잘 써", 1.0),
    ("넓", 0.8), ("쾌적", 1.0), ("꼼꼼", 1.0), ("빵빵", 0.5), ("향이 좋", 1.0), ("알겠네", 0.5),
    # negative
    ("별로", -1.5), ("최악", -3.0), ("비추", -2.0), ("실망", -2.0), ("노맛", -2.0), ("맛없", -2.0),
    ("맛이 없", -2.0), ("^싫", -1.0), ("짜증", -2.0), ("화나", -2.0), ("화가 나", -2.0),
    ("화났", -2.0), ("빡치", -2.0), ("빡쳐", -2.0), ("어이없", -2.0), ("어이가 없", -2.0),
    ("황당", -2.0), ("기분 나쁘", -2.0), ("기분 나빴", -2.0), ("기분 나빠", -2.0), ("나쁘", -1.5),
    ("나빴", -1.5), ("나빠", -1.5), ("불친절", -2.0), ("불편", -1.2), ("불쾌", -2.0),
    ("불만", -1.0), ("무례", -2.0), ("무시", -1.5), ("귀찮", -1.0), ("성의 없", -1.5),
    ("무성의", -2.0), ("엉망", -2.0), ("형편없", -2.5), ("아쉽", -0.5), ("아쉬", -0.5),
    ("그닥", -0.8), ("그다지", -0.8), ("그저 그런", -0.8), ("그냥 그래", -0.8), ("그냥 그렇", -0.8),
    ("평범", -0.5), ("쏘쏘", -0.5), ("애매", -0.5), ("느끼", -1.0), ("퍽퍽", -1.0), ("딱딱", -1.2),
    ("눅눅", -1.5), ("밍밍", -1.2), ("비리", -1.5), ("비린", -1.5), ("탄 맛", -1.5), ("탄맛", -1.5),
    ("^짜요", -1.0), ("^짜서", -1.0), ("^짜고", -1.0), ("^짰", -1.0), ("너무 짜", -1.0),
    ("너무 달", -1.0), ("^달아", -0.8), ("^달고", -0.5), ("^달아서", -0.8), ("쓴맛", -1.0),
    ("시큼", -1.0), ("식었", -1.5), ("식어", -1.5), ("식은", -1.5), ("미지근", -1.5), ("상한", -2.0),
    ("상했", -2.0), ("곰팡이", -2.5), ("벌레", -2.5), ("머리카락", -2.5), ("이물질", -2.5),
    ("더럽", -2.0), ("더러", -2.0), ("지저분", -2.0), ("냄새", -0.8), ("비싸", -1.2), ("비싼", -1.2),
    ("비쌈", -1.2), ("창렬", -2.0), ("돈 아까", -2.0), ("아까움", -1.0), ("아깝", -1.0),
    ("망치", -2.0), ("망쳤", -2.0), ("망침", -2.0), ("망했", -1.5), ("실화냐", -1.0),
    ("너무하", -1.5), ("말이 되나", -1.5), ("말이 돼", -1.5), ("말이 안 되", -1.5), ("장난하", -2.0),
    ("에바", -1.5), ("느려", -1.2), ("느리", -1.2), ("느림", -1.2), ("오래 걸", -1.2),
    ("다시는 안", -3.0), ("다신 안", -3.0), ("두 번 다시", -3.0), ("토할", -2.0), ("역겹", -2.5),
    ("역겨", -2.5), ("끔찍", -2.5), ("소름", -1.0), ("지옥", -1.5), ("슬프", -1.0), ("슬퍼", -1.0),
    ("답답", -1.5), ("스트레스", -1.5), ("문제", -0.5), ("오류", -1.0), ("에러", -1.0), ("튕", -1.5),
    ("먹통", -2.0), ("^렉", -1.0), ("버그", -1.0), ("부실", -1.5), ("양이 적", -1.5), ("찝찝", -1.5),
    ("괘씸", -2.0), ("뻔뻔", -2.0), ("허접", -2.0), ("재방문 의사 없", -2.0), ("재방문 안", -2.0),
    ("안 감", -1.0), ("안 갈래", -1.5), ("시끄러", -1.2), ("시끄럽", -1.2), ("좁", -0.8),
    ("추워", -0.8), ("더워", -0.8), ("미끄러", -1.0), ("망가", -1.5), ("부서", -1.0), ("눌려", -1.0),
    ("찌그러", -1.0), ("쏟아", -1.5), ("한숨", -1.0), ("헐", -0.5), ("예전 같지 않", -1.5),
    ("예전 맛이 안", -1.5), ("맛이 변했", -1.5), ("사과도 없", -1.5), ("너무해", -1.5), ("떨면서", -0.5),
    ("차갑게", -1.0), ("제외래", -1.0), ("제외라", -1.0), ("인상", -1.0), ("다 식", -1.5),
    ("탄 거", -1.5), ("탄거", -1.5), ("너무함", -1.5), ("흘렸", -1.0), ("흘림", -1.0),
    ("못 가겠", -1.0), ("기대가 컸", -1.0), ("가격 인상", -1.0),
    ("대성공", 2.0), ("프로 같", 1.5), ("차분", 1.0), ("센스", 1.5), ("기억해 주", 1.5), ("기억해주", 1.5),
    ("이름 기억", 1.5), ("감탄", 1.5), ("배려", 1.5), ("정성", 1.5), ("신경 써 주셔서", 1.5),
    ("신경써 주셔서", 1.5), ("따뜻하게 맞아", 1.5), ("맛집", 1.5), ("차원이 다", 2.0), ("클라스", 1.5),
    ("별거 없", -1.0), ("별 거 없", -1.0), ("기대 이하", -1.5), ("뭉개", -1.5), ("깨져", -1.0),
    ("깨진", -1.0), ("터져", -1.0), ("터진", -1.0), ("찢어", -1.0), ("^쏟", -1.5), ("엎질러", -1.5),
    ("너무 써", -1.0), ("예전이 나았", -1.5), ("예전이 낫", -1.5), ("전이 나았", -1.5),
    ("어려워", -1.0), ("어렵", -1.0), ("힘들", -1.0), ("복잡", -1.0), ("포기", -0.8), ("속이 안 좋", -1.5),
    ("배가 아파", -1.5), ("배 아파", -1.5), ("설사", -2.0), ("토했", -2.0), ("흉보", -1.5), ("험담", -1.5),
    ("욕하", -1.5), ("째려보", -1.5), ("노려보", -1.5), ("비웃", -1.5), ("퉁명", -1.5), ("싸가지", -2.0),
    ("적당히 좀", -1.5), ("정신 차리", -1.5), ("해도 너무", -1.5), ("무한로딩", -1.5), ("무한 로딩", -1.5),
    ("강제 종료", -1.5), ("오작동", -1.5), ("아직도", -0.5),
    ("맛집 추천", 0.0), ("좋을 것 같", 0.0), ("두 번째", -0.5), ("두번째", -0.5), ("매번", -0.3),
    ("후회 없", 1.5), ("서비스로 주", 1.5), ("서비스로 받", 1.5), ("기다림 없", 0.5), ("웨이팅 없", 1.0),
    ("속상", -1.0), ("서운", -1.0),
)

SENTIMENT_EN: Final[tuple[tuple[str, float], ...]] = (
    # positive
    ("good", 1.0), ("great", 1.5), ("amazing", 2.0), ("awesome", 2.0), ("excellent", 2.0),
    ("love", 1.5), ("loved", 1.5), ("lovely", 1.5), ("best", 2.0), ("perfect*", 2.0),
    ("delicious", 2.0), ("yummy", 1.5), ("tasty", 1.5), ("fresh", 1.0), ("friendly", 1.5),
    ("kind", 1.2), ("sweet of", 1.0), ("sweetest", 1.5), ("nice", 1.0), ("helpful", 1.5),
    ("clean", 1.0), ("cute", 1.0), ("so pretty", 1.5), ("too pretty", 1.5), ("fast", 1.0),
    ("quick", 1.0), ("smooth", 1.0), ("nutty", 0.5), ("rich", 0.5), ("fudgy", 1.0), ("flaky", 1.0),
    ("crispy", 1.0), ("crunchy", 0.8), ("chewy", 0.8), ("fluffy", 1.0), ("fluffier", 1.0),
    ("moist", 0.8), ("creamy", 0.8), ("cozy", 1.2), ("comfortable", 1.0), ("convenient", 1.0),
    ("easy", 1.0), ("easier", 1.0), ("generous", 1.0), ("thank*", 1.0), ("thx", 1.0),
    ("thrilled", 2.0), ("obsessed", 2.0), ("happy", 1.5), ("glad", 1.0), ("enjoy*", 1.2),
    ("recommend", 1.0), ("recommended", 1.0), ("worth", 1.0), ("jmt", 2.0), ("better", 1.0),
    ("ruined every other", 2.0), ("ruined all other", 2.0), ("always hot", 1.0), ("worth the wait", 1.5),
    ("worth it", 1.5),
    ("cheap", 0.5), ("cheaper", 0.8), ("decent", 0.7), ("solid", 1.0), ("fine", 0.3), ("okay", 0.3),
    ("ok", 0.3), ("wonderful", 2.0), ("fantastic", 2.0), ("incredible", 2.0), ("unreal", 2.0),
    ("insanely good", 2.5), ("gorgeous", 2.0), ("beautiful", 1.5), ("spot on", 1.5),
    ("hits different", 2.0), ("changed my life", 2.0), ("never misses", 2.0),
    ("never disappoints", 2.0), ("heaven", 1.5), ("favourite", 1.5), ("favorite", 1.5),
    ("fav", 1.5), ("cheered", 1.5), ("highlight", 1.0), ("immaculate", 2.0), ("hands down", 1.0),
    ("get the hype", 1.5), ("10/10", 2.0), ("impressed", 1.5), ("impressive", 1.5),
    ("fun", 1.0), ("works well", 1.5), ("works great", 1.5),
    ("works perfectly", 2.0), ("warm", 0.3), ("satisfied", 1.5),
    ("spacious", 1.0), ("reliable", 1.0), ("attentive", 1.5), ("professional", 1.0),
    ("wow", 0.5), ("yum", 1.5), ("bomb", 1.5), ("slaps", 1.5), ("goat", 1.0), ("go-to", 1.5),
    # negative
    ("bad", -1.5), ("terrible", -2.5), ("awful", -2.5), ("horrible", -2.5), ("worst", -3.0),
    ("disgusting", -2.5), ("gross", -2.0), ("nasty", -2.0), ("rude", -2.0), ("unfriendly", -2.0),
    ("unprofessional", -2.0), ("disappoint*", -2.0), ("annoy*", -1.5), ("frustrat*", -1.5),
    ("angry", -2.0), ("upset", -1.5), ("hate", -2.0), ("sad", -1.0), ("meh", -1.0), ("mid", -1.0),
    ("average", -0.5), ("mediocre", -1.5), ("bland", -1.2), ("tasteless", -2.0), ("stale", -1.5),
    ("soggy", -1.5), ("dry", -1.0), ("driest", -1.5), ("greasy", -1.0), ("burnt", -1.5),
    ("burned", -1.5), ("bitter", -0.5), ("salty", -1.0), ("too sweet", -1.0),
    ("sickeningly sweet", -1.5), ("watery", -1.2), ("watered down", -1.2), ("undercooked", -1.5),
    ("doughy", -1.0), ("wilted", -1.2), ("mushy", -1.0), ("sour", -1.0), ("lukewarm", -1.5),
    ("melted", -1.0), ("crushed", -1.0), ("smashed", -1.5), ("ruined", -2.0), ("broken", -1.5),
    ("slow", -1.0), ("slowest", -2.0), ("expensive", -1.0), ("overpriced", -2.0),
    ("pricey", -0.8), ("rip off", -2.0), ("ripoff", -2.0), ("waste of money", -2.0),
    ("not worth", -1.5), ("tiny", -0.5), ("downhill", -2.0), ("crash*", -1.5), ("frozen", -0.5),
    ("error", -1.0), ("fail*", -1.2), ("glitch*", -1.5), ("laggy", -1.2), ("useless", -2.0),
    ("joke", -1.5), ("ridiculous", -2.0), ("unacceptable", -2.5), ("filthy", -2.5), ("dirty", -2.0),
    ("sticky", -1.0), ("weird", -1.0), ("fishy", -1.5), ("mold*", -2.5),
    ("mould*", -2.5), ("ignored", -1.5), ("eye roll", -1.5), ("rolled _ eyes", -1.5),
    ("yelled", -1.5), ("grumpy", -1.5), ("uncomfortable", -1.2), ("cramped", -1.0), ("loud", -0.8),
    ("noisy", -1.0), ("freezing", -0.8), ("sick", -1.5), ("poison*", -2.5), ("smh", -1.0),
    ("ugh", -1.0), ("yikes", -1.0), ("complain*", -0.5), ("problem*", -0.5), ("issue*", -0.5),
    ("nothing special", -1.0), ("what the hype", -1.0), ("not sure what the hype", -1.0),
    ("would not go out of my way", -1.0), ("not go out of my way", -1.0), ("impossible", -1.5),
    ("a hit", 1.5), ("next level", 2.0), ("remembers my name", 1.5), ("remember my", 1.0), ("calm", 0.5),
    ("top quality", 2.0), ("spotless", 1.5), ("well kept", 1.0), ("handy", 1.0), ("great recovery", 2.0),
    ("nothing to write home about", -1.0), ("underwhelming", -1.5), ("just okay", -0.5), ("just ok", -0.5),
    ("had high hopes", -0.5), ("snapping", -1.5), ("snapped", -1.5), ("badmouth*", -1.5), ("awkward", -1.0),
    ("destroyed", -2.0), ("squashed", -1.0), ("squished", -1.0), ("spoiled", -2.0), ("spoilt", -2.0),
    ("upset stomach", -1.5), ("stomach ache", -1.5), ("gave up", -0.8), ("hard to", -1.0),
    ("confusing", -1.0), ("difficult", -1.0), ("the old one was better", -1.5), ("was better before", -1.5),
    ("used to be better", -1.5), ("not be going back", -2.5), ("not be coming back", -2.5),
    ("does the job", 0.5), ("too bitter", -1.0), ("scorched", -1.5), ("different from before", -1.0),
    ("expected more", -1.0),
    ("expected better", -1.0), ("expected way better", -1.0),
    ("waste your time", -2.0), ("price increase", -1.0), ("excluded", -1.0), ("not as good", -1.5),
    ("tired of", -1.5), ("pain to", -1.5),
    ("a pain", -1.5), ("annoyed", -1.5), ("skimp*", -1.0), ("sucks", -2.0),
    ("suck", -2.0), ("trash", -2.0), ("garbage", -2.0), ("leak*", -1.5),
    ("spill*", -1.5), ("missing", -1.0), ("wrong", -1.0), ("forgot", -1.0), ("expired", -1.0),
    ("invalid", -1.0), ("rejected", -1.0), ("disappeared", -1.0), ("vanish*", -1.0),
    ("never again", -3.0), ("not coming back", -2.5), ("never coming back", -3.0),
    ("never going back", -3.0), ("not going back", -2.5), ("will not be back", -2.5),
    ("never order*", -2.5), ("not recommend", -2.0), ("do not recommend", -2.0), ("nobody cared", -1.5),
    ("hell", -1.0), ("not cool", -1.0),
    ("uninstall*", -1.5), ("pathetic", -2.5), ("shocking", -1.5), ("scam", -2.5),
    ("no wait", 1.0), ("no line", 1.0), ("no queue", 1.0), ("can not wait", 1.0), ("no regrets", 1.0),
    ("overcharged", -1.5), ("impatient", -1.0), ("condescending", -1.5), ("dismissive", -1.5),
    ("can not resist", 1.5), ("could not resist", 1.5), ("why do i have to", -0.5), ("got it right", 1.0),
)

# -- complaint cues: (surface, weight, themes) -------------------------------------------------
COMPLAINT_KO: Final[tuple[tuple[str, float, str], ...]] = (
    # staff and service
    ("불친절", 1.0, "service"), ("무례", 1.0, "service"), ("반말", 1.0, "service"),
    ("불쾌", 0.7, "service"), ("무시", 0.7, "service"), ("한숨", 0.7, "service"),
    ("성의 없", 1.0, "service"), ("무성의", 1.0, "service"), ("짜증 내", 1.0, "service"),
    ("짜증내", 1.0, "service"), ("화를 내", 1.0, "service"), ("인사도 안", 1.0, "service"),
    ("귀찮은 티", 1.0, "service"), ("귀찮다는 듯", 1.0, "service"), ("쳐다보지도 않", 1.0, "service"),
    ("대답도 안", 1.0, "service"), ("폰만 보", 1.0, "staff"), ("수다", 0.6, "staff"),
    ("혼내", 0.5, "staff"), ("전화도 안 받", 1.0, "service"), ("안 받으시", 1.0, "service"),
    ("연락이 없", 1.0, "service"), ("연락 없", 1.0, "service"), ("답변이 없", 1.0, "service"),
    ("답변 없", 1.0, "service"), ("답이 없", 1.0, "service"), ("응답이 없", 1.0, "service"),
    ("사과도 없", 1.0, "service"), ("사과 없", 1.0, "service"), ("몰라요만", 1.0, "service"),
    ("손님 기다리게", 1.0, "wait"), ("끊으셨", 1.0, "service"), ("끊었", 0.7, "service"),
    ("교육 좀", 1.0, "staff"), ("무뚝뚝", 0.7, "service"), ("화가 나 있", 1.0, "staff"),
    # waiting
    ("기다림", 0.4, "wait"), ("기다렸", 0.4, "wait"), ("기다리", 0.3, "wait"),
    ("기다려", 0.3, "wait"), ("오래 걸", 1.0, "wait"), ("한참", 0.5, "wait"), ("^늦", 0.6, "wait"),
    ("느려", 0.6, ""), ("느리", 0.6, ""), ("느림", 0.6, ""), ("지연", 1.0, "wait"),
    ("새치기", 0.7, "wait"), ("줄 관리", 0.5, "wait"), ("직원이 부족", 1.0, "staff wait"),
    ("손님 많지도 않", 0.5, "wait"),
    # food and drink quality
    ("식었", 1.0, "quality"), ("식어", 1.0, "quality"), ("식은", 1.0, "quality"),
    ("미지근", 1.0, "quality"), ("차갑게", 0.5, "quality"), ("눅눅", 1.0, "quality"),
    ("딱딱", 0.7, "quality"), ("퍽퍽", 0.7, "quality"), ("느끼", 0.5, "quality"),
    ("밍밍", 0.7, "quality"), ("탄 맛", 1.0, "quality"), ("탄맛", 1.0, "quality"),
    ("너무 타", 1.0, "quality"), ("새까매", 0.8, "quality"), ("새까맣", 0.8, "quality"),
    ("상한", 1.5, "quality hygiene"), ("상했", 1.5, "quality hygiene"), ("비린", 0.8, "quality"),
    ("비리", 0.8, "quality"), ("덜 익", 1.0, "quality"), ("덜익", 1.0, "quality"),
    ("시들", 1.0, "quality"), ("물러", 0.7, "quality"), ("부서져", 1.0, "quality"),
    ("부서진", 1.0, "quality"), ("녹아서", 0.7, "quality"), ("다 녹", 0.7, "quality"),
    ("^짜요", 0.7, "quality"), ("^짜서", 0.7, "quality"), ("^짰", 0.7, "quality"),
    ("너무 짜", 0.7, "quality"), ("너무 달", 0.6, "quality"), ("맛이 변했", 1.0, "quality"),
    ("예전 같지 않", 1.0, "quality"), ("예전 맛이 안", 1.0, "quality"), ("이상한 맛", 1.0, "quality"),
    ("이상한 냄새", 1.0, "quality hygiene"), ("냄새 나", 0.7, "quality"),
    ("냄새가 나", 0.7, "quality"), ("냄새 심", 1.0, "hygiene"), ("맛없", 0.7, "quality"),
    ("노맛", 0.7, "quality"), ("쓴맛", 0.5, "quality"), ("시큼", 0.7, "quality"),
    ("냉동실 맛", 1.0, "quality"), ("해동도 덜", 1.0, "quality"), ("물 탄", 0.8, "quality"),
    ("부실", 0.8, "quality"), ("원두 가루", 1.0, "quality"), ("떠 있", 0.7, "quality"),
    ("우유 비린내", 1.0, "quality"), ("너무 딱딱", 1.0, "quality"), ("다 식", 1.0, "quality"),
    ("탄 거", 1.0, "quality"), ("탄거", 1.0, "quality"), ("흘렸", 0.8, ""), ("흘림", 0.8, ""),
    ("불편", 0.5, ""), ("^계속", 0.3, ""), ("너무함", 0.5, ""),
    ("뭉개", 1.0, "quality"), ("깨져", 0.8, ""), ("깨진", 0.8, ""), ("터져", 0.8, ""), ("터진", 0.8, ""),
    ("찢어", 0.8, ""), ("^쏟", 1.0, ""), ("엎질러", 1.0, ""), ("너무 써", 0.6, "quality"),
    ("예전이 나았", 0.8, ""), ("예전이 낫", 0.8, ""), ("전이 나았", 0.8, ""), ("달라졌", 0.4, ""),
    ("어려워졌", 0.8, ""), ("어려워", 0.4, ""), ("어렵", 0.4, ""), ("복잡", 0.4, ""), ("포기", 0.5, ""),
    ("안 나왔", 1.0, "wait"), ("안 나와", 0.8, "wait"), ("아직도", 0.5, ""), ("주문이 없", 1.0, "order"),
    ("주문 없", 1.0, "order"), ("명단에 없", 1.0, "order"), ("기록이 없", 1.0, "order"),
    ("내역이 없", 0.8, "order"), ("결제해 버리", 0.8, "payment"), ("결제해버리", 0.8, "payment"),
    ("취소도 안", 1.0, "payment"), ("수세미", 1.5, "hygiene"), ("유리 조각", 1.5, "hygiene"),
    ("플라스틱", 1.0, "hygiene"), ("쇳조각", 1.5, "hygiene"), ("철사", 1.5, "hygiene"),
    ("돌 씹", 1.0, "hygiene"), ("이빨 깨질", 1.0, "hygiene"), ("이가 깨질", 1.0, "hygiene"),
    ("속이 안 좋", 1.5, "hygiene"), ("배가 아파", 1.5, "hygiene"), ("배 아파", 1.5, "hygiene"),
    ("설사", 1.5, "hygiene"), ("토했", 1.5, "hygiene"), ("통화하면서", 0.8, "staff"),
    ("통화하며", 0.8, "staff"), ("흉보", 1.0, "staff"), ("험담", 1.0, "staff"), ("욕하", 1.0, "staff"),
    ("째려보", 1.0, "service"), ("노려보", 1.0, "service"), ("비웃", 1.0, "service"),
    ("퉁명", 0.8, "service"), ("싸가지", 1.0, "service"), ("무시당", 1.0, "service"),
    ("무한로딩", 1.0, "app"), ("무한 로딩", 1.0, "app"), ("로딩이 안 끝", 1.0, "app"),
    ("강제 종료", 1.0, "app"), ("종료돼", 1.0, "app"), ("종료됨", 1.0, "app"), ("접속이 안", 1.0, "app"),
    ("접속 안", 1.0, "app"), ("오작동", 1.0, ""), ("밖에 안 들어", 0.8, "order"),
    ("양 적", 1.0, "price"), ("양 너무 적", 1.0, "price"), ("거품이 반", 1.0, "quality"),
    ("반이 거품", 1.0, "quality"), ("거품만", 0.8, "quality"), ("얼음이 반", 1.0, "quality"),
    ("얼음만", 0.8, "quality"), ("가격 올", 0.8, "price"), ("가격을 올", 0.8, "price"),
    ("값 올", 0.8, "price"), ("값을 올", 0.8, "price"), ("적당히 좀", 0.8, ""), ("정신 차리", 0.8, ""),
    ("해도 너무", 0.8, ""), ("신경 좀", 0.6, ""), ("신경 써 주세요", 0.6, ""), ("신경써주세요", 0.6, ""),
    ("신경 써주세요", 0.6, ""), ("없었어요", 0.5, ""), ("안 된", 1.0, ""),
    ("두 번째", 0.5, ""), ("두번째", 0.5, ""), ("매번", 0.3, ""), ("개만 들어", 1.0, "order"),
    # hygiene
    ("머리카락", 1.5, "hygiene"), ("벌레", 1.5, "hygiene"), ("이물질", 1.5, "hygiene"),
    ("곰팡이", 1.5, "hygiene"), ("비닐", 1.0, "hygiene"), ("더럽", 1.0, "hygiene"),
    ("더러", 1.0, "hygiene"), ("지저분", 1.0, "hygiene"), ("배탈", 1.5, "hygiene quality"),
    ("식중독", 1.5, "hygiene quality"), ("토할", 1.0, "hygiene"), ("자국", 0.7, "hygiene"),
    ("손으로 만", 0.7, "hygiene"), ("유통기한 지난", 1.5, "quality hygiene"),
    ("유통기한이 지난", 1.5, "quality hygiene"), ("손도 안 씻", 1.5, "hygiene"),
    ("휴지도 없", 1.0, "hygiene"), ("휴지가 없", 1.0, "hygiene"), ("위생 관리 안", 1.0, "hygiene"),
    ("세척을 제대로 안", 1.0, "hygiene"), ("세척 안", 1.0, "hygiene"),
    # the order
    ("잘못 나왔", 1.0, "order"), ("잘못 나옴", 1.0, "order"), ("잘못 받", 1.0, "order"),
    ("잘못 줬", 1.0, "order"), ("잘못 주", 1.0, "order"), ("잘못 적", 1.0, "order"),
    ("다른 메뉴가 나", 1.0, "order"), ("다른 메뉴 나", 1.0, "order"), ("누락", 1.0, "order"),
    ("빠져 있", 1.0, "order"), ("빠져있", 1.0, "order"), ("틀림", 1.0, "order"),
    ("틀렸", 1.0, "order"), ("틀려", 1.0, "order"), ("까먹", 1.0, "order"),
    ("주문이 안 들어", 1.0, "order"), ("준비가 안 되", 1.0, "order"), ("제 거 아니", 1.0, "order"),
    ("다른 사람 음료", 1.0, "order"), ("다른 사람 거", 1.0, "order"), ("추가가 안", 1.0, "order"),
    ("대신", 0.3, "order"), ("그냥 우유로", 0.8, "order"), ("그냥 라떼", 0.8, "order"),
    ("일반 커피 줘", 1.0, "order"), ("일반 커피를 줘", 1.0, "order"), ("못 받음", 1.0, "order"),
    ("못 받았", 1.0, "order"),
    # the app
    ("튕", 1.5, "app"), ("먹통", 1.5, "app"), ("오류", 1.0, ""), ("에러", 1.0, ""),
    ("^렉", 0.5, "app"), ("버그", 1.0, "app"), ("로그인이 안", 1.0, "app"), ("로그인 안", 1.0, "app"),
    ("로그인 자체가 안", 1.0, "app"), ("로그인이 계속 풀", 1.0, "app"), ("로그인이 풀", 1.0, "app"),
    ("로그인 풀", 1.0, "app"), ("안 켜져", 1.0, "app"), ("안 켜지", 1.0, "app"),
    ("안 열려", 1.0, "app"), ("안 열리", 1.0, "app"), ("꺼짐", 1.0, "app"), ("꺼져", 1.0, "app"),
    ("멈춤", 1.0, "app"), ("멈춰", 1.0, "app"), ("하얀 화면", 1.0, "app"), ("흰 화면", 1.0, "app"),
    ("느려졌", 1.0, "app"), ("반응이 없", 1.0, "app"), ("반응 없", 1.0, "app"),
    ("인증번호가 안", 1.0, "app"), ("안 보여", 0.8, ""), ("안 보임", 0.8, ""), ("재설치", 0.5, "app"),
    ("광고 알림", 0.5, "app"), ("고장", 1.0, ""), ("끊겨", 1.0, ""), ("끊김", 1.0, ""),
    ("로딩만", 0.8, "app"), ("무한 반복", 1.0, "app"), ("무한반복", 1.0, "app"),
    # points, stamps, coupons
    ("적립이 안", 1.5, "points"), ("적립 안", 1.5, "points"), ("적립 누락", 1.5, "points"),
    ("안 찍혀", 1.0, "points"), ("안 찍혔", 1.0, "points"), ("소멸", 0.7, "points"),
    ("사라졌", 1.0, ""), ("사라짐", 1.0, ""), ("잔액 부족", 0.7, "points"), ("사용이 안", 1.0, ""),
    ("사용 불가", 1.0, ""), ("사용불가", 1.0, ""), ("적용이 안", 1.0, "coupon"),
    ("적용 안", 1.0, "coupon"), ("유효하지 않", 1.0, "coupon"), ("안 된다고", 1.0, ""),
    ("제외래", 0.7, "coupon"), ("제외라", 0.7, "coupon"), ("안 들어왔", 1.0, ""),
    ("안 들어와", 1.0, ""), ("비어 있", 0.7, ""), ("준다더니", 1.0, ""), ("된다더니", 1.0, ""),
    ("찍어준다더니", 1.0, "points"), ("안 해주", 0.8, ""), ("안 해 주", 0.8, ""),
    ("할인 안", 0.8, "price"),
    # price
    ("비싸", 0.6, "price"), ("비싼", 0.6, "price"), ("비쌈", 0.6, "price"),
    ("가격 인상", 0.8, "price"), ("인상", 0.6, "price"), ("올랐", 0.6, "price"), ("창렬", 1.0, "price"),
    ("돈 아까", 1.0, "price"), ("양이 적", 1.0, "price"), ("양이 너무 적", 1.0, "price"),
    ("작아졌", 0.8, "price"), ("말이 되나", 0.5, ""), ("너무하", 0.5, ""), ("너무해", 0.5, ""),
    ("종이컵", 0.3, "store"), ("사진이랑", 0.5, ""), ("이 가격에", 0.0, "price"),
    # delivery and packaging
    ("쏟아져", 1.0, "delivery"), ("쏟아진", 1.0, "delivery"), ("쏟아짐", 1.0, "delivery"),
    ("다 샜", 1.0, "delivery"), ("새었", 1.0, ""), ("^새요", 1.0, ""), ("^새서", 1.0, ""),
    ("^샜", 1.0, ""), ("던지고", 1.0, "delivery"), ("망가", 1.0, ""), ("눌려", 0.8, "delivery"),
    ("찌그러", 0.8, "delivery"), ("안 와", 1.0, ""), ("안 왔", 1.0, ""), ("안 오네", 1.0, ""),
    ("안 옴", 1.0, ""), ("취소됨", 0.6, "order"), ("취소됐", 0.6, "order"),
    ("취소 요청", 0.6, "payment"), ("뚜껑이 안 닫", 1.0, "delivery"),
    # payment
    ("결제 오류", 1.0, "payment"), ("결제가 안", 1.0, "payment"), ("결제 안", 1.0, "payment"),
    ("두 번 결제", 1.5, "payment"), ("결제가 두 번", 1.5, "payment"), ("두 번 승인", 1.5, "payment"),
    ("이중 결제", 1.5, "payment"), ("이중결제", 1.5, "payment"), ("빠져나", 1.0, "payment"),
    ("돈만 날", 1.5, "payment"), ("실패", 0.8, ""), ("환불 요청", 1.0, "payment"),
    ("환불해 주", 1.0, "payment"), ("환불해주", 1.0, "payment"), ("환불은 언제", 1.0, "payment"),
    ("환불이 안", 1.0, "payment"), ("안 들어왔어요", 1.0, ""),
    # the store
    ("시끄러", 0.8, "store"), ("시끄럽", 0.8, "store"), ("소리가 너무 커", 0.8, "store"),
    ("소리가 커", 0.8, "store"), ("^추워", 0.5, "store"), ("^더워", 0.5, "store"),
    ("좁", 0.6, "store"), ("미끄러", 1.0, "store"), ("막아놨", 0.8, "store"), ("막아 놨", 0.8, "store"),
    ("자리가 없", 0.5, "store"), ("넘어질 뻔", 1.0, "store"), ("닦아주세요", 0.5, "store"),
    # demands and verdicts
    ("고쳐 주세요", 1.0, ""), ("고쳐주세요", 1.0, ""), ("해결해 주세요", 1.0, ""),
    ("해결해주세요", 1.0, ""), ("확인 좀 하세요", 1.0, ""), ("개선 좀", 0.8, ""),
    ("다시는 안", 1.0, ""), ("다신 안", 1.0, ""), ("두 번 다시", 1.0, ""),
    ("재방문 의사 없", 1.0, ""), ("재방문 안", 1.0, ""), ("비추", 0.8, ""), ("최악", 0.8, ""),
    ("실망", 0.6, ""), ("어이가 없", 0.5, ""), ("어이없", 0.5, ""), ("왜 이래", 0.7, ""),
    ("아까움", 0.5, ""), ("문의했는데", 0.5, "service"), ("문의 무시", 1.0, "service"),
    ("안 돼", 1.0, ""), ("안돼", 1.0, ""), ("안 되", 1.0, ""), ("안되", 1.0, ""), ("안 됨", 1.0, ""),
    ("안됨", 1.0, ""), ("안 됐", 1.0, ""), ("안됐", 1.0, ""), ("안 됩니다", 1.0, ""),
    ("안 해 주셨", 0.8, ""), ("안 해주셨", 0.8, ""), ("별점 1", 0.7, ""), ("1점도", 0.7, ""),
    ("망침", 0.7, ""), ("망쳤", 0.7, ""),
    # money and time lost
    ("원 더 받", 1.0, "payment"), ("원 더 나왔", 1.0, "payment"), ("원 더 냈", 1.0, "payment"),
    ("원 더 냄", 1.0, "payment"), ("원 더 결제", 1.0, "payment"), ("더 받으", 0.6, "payment"),
    ("덜 주", 1.0, ""), ("덜 받", 0.8, ""), ("과다 청구", 1.5, "payment"), ("과다청구", 1.5, "payment"),
    ("잘못 계산", 1.0, "payment"), ("잘못 찍", 1.0, "payment"), ("두 번 찍", 1.0, "payment"),
    ("시간 낭비", 1.0, ""), ("시간만 날", 1.0, ""), ("시간 날", 0.8, ""), ("날렸", 0.6, ""),
    ("날림", 0.6, ""), ("허탕", 1.0, ""), ("헛걸음", 1.0, ""), ("먹다 버", 1.0, "quality"),
    ("다 버렸", 0.8, ""), ("그냥 버렸", 0.8, ""), ("버려야", 0.7, ""), ("사비로", 0.8, ""),
    ("제 돈으로", 0.8, ""), ("따로 냈", 0.8, "payment"), ("따로 냄", 0.8, "payment"),
    # asking for a remedy
    ("교환해 주", 0.8, ""), ("교환해주", 0.8, ""), ("보상", 0.6, ""), ("확인해 보세요", 0.8, ""),
    ("확인해보세요", 0.8, ""), ("확인 부탁", 0.6, ""), ("조치", 0.6, ""), ("관리 좀", 1.0, ""),
    ("시정", 0.8, ""), ("개선해 주", 0.8, ""), ("개선해주", 0.8, ""), ("주의해 주", 0.8, ""),
    ("주의해주", 0.8, ""), ("교육 부탁", 1.0, "staff"), ("교육을 좀", 1.0, "staff"),
    # grievance frames: a question that is a reproach
    ("이게 맞나", 0.6, ""), ("이게 맞는", 0.6, ""), ("이게 맞아", 0.6, ""), ("맞는 건가", 0.6, ""),
    ("어떻게 된 건", 0.6, ""), ("어떻게 된 거", 0.6, ""), ("어떻게 이럴", 0.8, ""), ("이럴 수가", 0.6, ""),
    ("이해가 안", 0.8, ""), ("납득이 안", 1.0, ""), ("아니지 않나", 0.6, ""), ("아닌가요", 0.4, ""),
    ("거 아닌가", 0.5, ""), ("왜 있는", 0.6, ""), ("뭐 하러", 0.6, ""), ("속상", 0.8, ""),
    ("서운", 0.8, ""), ("당황", 0.6, ""), ("난감", 0.6, ""), ("민망", 0.6, ""), ("무안", 0.8, "service"),
    ("찜찜", 0.6, ""), ("기분이 좀 그랬", 0.8, ""), ("기분이 상", 1.0, ""),
    # how staff treat the customer, said mildly or not
    ("재촉", 0.7, "service"), ("눈치", 0.6, "service"), ("건성", 0.8, "service"),
    ("귀찮다는 표정", 1.0, "service"), ("귀찮은 표정", 1.0, "service"), ("던지듯", 1.0, "service"),
    ("우기", 1.0, "service"),
    ("언성", 1.0, "service"), ("소리를 지르", 1.0, "service"), ("훈계", 1.0, "service"),
    ("면박", 1.0, "service"), ("비꼬", 1.0, "service"), ("빈정", 1.0, "service"),
    ("떠넘기", 0.8, "service"), ("나 몰라라", 1.0, "service"), ("전화 안 받", 1.0, "service"),
    ("전화를 안 받", 1.0, "service"), ("안 받으세", 1.0, "service"),
    # without a word of warning
    ("안내도 없", 1.0, ""), ("안내가 없", 1.0, ""), ("공지도 없", 1.0, ""), ("설명도 없", 1.0, ""),
    ("말도 없이", 1.0, ""), ("연락도 없이", 1.0, ""), ("예고 없이", 0.8, ""), ("예고도 없이", 0.8, ""),
    # worse than before
    ("줄었", 0.5, ""), ("줄어들", 0.5, ""), ("작아진", 0.6, "price"), ("떨어졌", 0.4, ""),
    ("떨어짐", 0.4, ""), ("내려갔", 0.4, ""), ("예전보다", 0.4, ""),
    # what should not be in a cup or a room
    ("세제", 1.0, "hygiene"), ("락스", 1.0, "hygiene"), ("담배 냄새", 1.0, "store"),
)

COMPLAINT_EN: Final[tuple[tuple[str, float, str], ...]] = (
    # staff and service
    ("rude", 1.0, "service"), ("unfriendly", 1.0, "service"), ("unprofessional", 1.0, "service"),
    ("ignored", 1.0, "service"), ("rolled _ eyes", 1.0, "service"), ("eye roll", 1.0, "service"),
    ("yelled", 1.0, "staff"), ("shrugged", 0.7, "service"), ("hung up", 1.0, "service"),
    ("on _ phone", 0.7, "staff"), ("chatting", 0.6, "staff"), ("grumpy", 0.7, "service"),
    ("nobody answered", 1.0, "service"), ("no one answered", 1.0, "service"),
    ("nobody picked up", 1.0, "service"), ("no one picked up", 1.0, "service"),
    ("has not answered", 1.0, "service"), ("not answered", 1.0, "service"),
    ("no response", 1.0, "service"), ("no reply", 1.0, "service"), ("no apology", 1.0, "service"),
    ("argued", 0.8, "service"), ("laughed at", 1.0, "service"), ("nobody cared", 1.0, "service"),
    ("nobody greeted", 0.8, "service"), ("act like", 0.5, "service"), ("nuisance", 0.8, "service"),
    ("walked off", 0.8, "service"), ("short with", 1.0, "service"), ("attitude is", 0.3, "service"),
    ("bothering", 0.5, "service"),
    # waiting
    ("waited", 0.4, "wait"), ("waiting", 0.3, "wait"), ("took forever", 1.0, "wait"),
    ("forever", 0.5, "wait"), ("so long", 0.6, "wait"), ("too long", 0.8, "wait"),
    ("slow", 0.6, ""), ("slowest", 1.0, "wait"), ("late", 0.6, "wait"), ("understaffed", 1.0, "staff wait"),
    ("only one person", 0.5, "staff wait"), ("still waiting", 1.0, "wait"), ("not even busy", 0.5, "wait"),
    # food and drink quality
    ("lukewarm", 1.0, "quality"), ("cold", 0.8, "quality"), ("stale", 1.0, "quality"),
    ("soggy", 1.0, "quality"), ("burnt", 1.0, "quality"), ("burned", 1.0, "quality"),
    ("undercooked", 1.0, "quality"), ("doughy", 0.5, "quality"), ("raw", 0.5, "quality"),
    ("wilted", 1.0, "quality"), ("mushy", 0.7, "quality"), ("sour", 0.5, "quality"),
    ("not fresh", 1.0, "quality"), ("salty", 0.7, "quality"), ("too sweet", 0.5, "quality"),
    ("sickeningly sweet", 1.0, "quality"), ("tasteless", 1.0, "quality"), ("bland", 0.7, "quality"),
    ("watered down", 0.8, "quality"), ("watery", 0.8, "quality"), ("dry", 0.5, "quality"),
    ("driest", 1.0, "quality"), ("greasy", 0.7, "quality"), ("fishy", 1.0, "quality"),
    ("was off", 1.0, "quality"), ("tasted off", 1.0, "quality"), ("melted", 0.8, "quality"),
    ("smelled weird", 1.0, "quality"), ("smells weird", 1.0, "quality"), ("weird", 0.5, ""),
    ("downhill", 1.0, "quality"), ("not as good", 0.7, "quality"), ("used to be", 0.4, "quality"),
    ("barely any", 0.7, "quality"), ("half frozen", 1.0, "quality"),
    ("tasted like the freezer", 1.0, "quality"), ("grounds floating", 1.0, "quality"),
    ("coffee grounds", 1.0, "quality"), ("old oil", 1.0, "quality"), ("rock hard", 1.0, "quality"),
    ("rock-hard", 1.0, "quality"), ("too salty", 1.0, "quality"), ("new recipe", 0.3, "quality"),
    # hygiene
    ("hair", 1.5, "hygiene"), ("insect", 1.5, "hygiene"), ("cockroach", 1.5, "hygiene"),
    ("roach", 1.5, "hygiene"), ("fly", 0.5, "hygiene"), ("bug", 1.0, ""), ("plastic", 1.0, "hygiene"),
    ("mold*", 1.5, "hygiene quality"), ("mould*", 1.5, "hygiene quality"),
    ("foreign object", 1.5, "hygiene"), ("dirty", 1.0, "hygiene"), ("filthy", 1.5, "hygiene"),
    ("gross", 0.7, "hygiene"), ("disgusting", 0.7, ""), ("sticky", 0.7, "hygiene"),
    ("crumbs", 0.5, "hygiene"), ("lipstick", 1.0, "hygiene"), ("bare hands", 1.0, "hygiene"),
    ("unwashed", 1.0, "hygiene"), ("expired", 1.0, ""), ("food poisoning", 1.5, "hygiene"),
    ("got sick", 1.5, "hygiene"), ("felt sick", 1.5, "hygiene"), ("toilet paper", 0.5, "hygiene"),
    ("smells terrible", 1.0, "hygiene"), ("smell terrible", 1.0, "hygiene"),
    # the order
    ("wrong order", 1.0, "order"), ("order wrong", 1.0, "order"), ("wrong drink", 1.0, "order"),
    ("wrong date", 1.0, "order"), ("missing", 1.0, "order"), ("forgot", 1.0, "order"),
    ("no record", 1.0, "order"), ("not ready", 1.0, "order"), ("was not ready", 1.0, "order"),
    ("someone else's", 1.0, "order"), ("not what i ordered", 1.0, "order"), ("instead", 0.4, "order"),
    ("asked for", 0.4, "order"), ("requested", 0.4, "order"), ("not the same", 0.5, "order"),
    ("no straw", 0.8, "order"), ("no sleeve", 0.5, "order"), ("no extra", 0.8, "order"),
    ("cancelled", 0.6, "order"), ("canceled", 0.6, "order"),
    # the app
    ("crash*", 1.5, "app"), ("frozen", 0.7, ""), ("logs me out", 1.0, "app"),
    ("logged out", 0.8, "app"), ("blank screen", 1.0, "app"), ("white screen", 1.0, "app"),
    ("black screen", 1.0, "app"), ("glitch*", 1.0, "app"), ("laggy", 0.7, "app"), ("lag", 0.5, "app"),
    ("error", 1.0, ""), ("error code", 1.0, ""), ("uninstall*", 1.0, "app"), ("reinstall*", 0.5, "app"),
    ("can not log in", 1.0, "app"), ("can not login", 1.0, "app"), ("will not open", 1.0, "app"),
    ("does not load", 1.0, "app"), ("will not load", 1.0, "app"), ("not loading", 1.0, "app"),
    ("does nothing", 1.0, "app"), ("painfully slow", 1.0, ""), ("keeps failing", 1.0, ""),
    ("keeps crashing", 1.5, "app"), ("fails", 0.8, ""), ("failed", 0.7, ""), ("failing", 0.8, ""),
    ("broken", 1.0, ""), ("fix your app", 1.0, "app"), ("please fix", 1.0, ""), ("fix the app", 1.0, "app"),
    ("never arrives", 1.0, ""), ("never arrived", 1.0, ""), ("never came", 1.0, ""),
    ("ads", 0.3, "app"), ("still get", 0.5, ""),
    # points, stamps, coupons
    ("not credited", 1.0, "points"), ("not been credited", 1.0, "points"),
    ("not been added", 1.0, "points"), ("never got credited", 1.5, "points"),
    ("did not get credited", 1.5, "points"), ("not added", 1.0, "points"),
    ("were not added", 1.0, "points"), ("never got", 1.0, ""), ("never received", 1.0, ""),
    ("have not received", 1.0, ""), ("did not get", 0.8, ""), ("not showing", 0.8, ""),
    ("disappeared", 1.0, ""), ("vanish*", 1.0, ""), ("gone", 0.4, ""), ("does not work", 1.0, ""),
    ("not working", 1.0, ""), ("stopped working", 1.0, ""), ("will not apply", 1.0, "coupon"),
    ("would not apply", 1.0, "coupon"), ("can not use", 1.0, ""), ("can not be used", 1.0, ""),
    ("can not see", 0.8, ""), ("invalid", 0.8, ""), ("rejected", 1.0, ""), ("excluded", 0.7, ""),
    ("insufficient", 0.5, ""), ("promised", 0.5, ""), ("without any warning", 0.8, ""),
    ("without warning", 0.8, ""), ("would not take", 0.8, "coupon"), ("keeps saying", 0.5, ""),
    ("still missing", 1.0, ""), ("still not", 1.0, ""), ("still no", 0.8, ""), ("has not come", 1.0, ""),
    ("nothing yet", 1.0, ""), ("still has not", 1.0, ""),
    # price
    ("expensive", 0.6, "price"), ("overpriced", 1.0, "price"), ("pricey", 0.5, "price"),
    ("price increase", 0.8, "price"), ("prices keep", 0.8, "price"), ("price went up", 0.8, "price"),
    ("went up", 0.6, "price"), ("going up", 0.6, "price"), ("creeping up", 0.8, "price"),
    ("price hike", 0.8, "price"), ("rip off", 1.0, "price"), ("ripoff", 1.0, "price"),
    ("not worth", 1.0, "price"), ("waste of money", 1.0, "price"), ("tiny", 0.4, "price"),
    ("smaller", 0.4, "price"), ("shrinking", 0.6, "price"), ("paper cups", 0.3, "store"),
    ("what a joke", 0.7, ""), ("more than starbucks", 0.5, "price"), ("looks nothing like", 0.8, ""),
    # delivery and packaging
    ("spilled", 1.0, "delivery"), ("spilt", 1.0, "delivery"), ("leak*", 1.0, ""),
    ("tossed", 0.7, "delivery"), ("threw", 0.7, "delivery"), ("smashed", 1.0, "delivery"),
    ("crushed", 0.7, ""), ("ruined", 0.7, ""), ("was not closed", 1.0, "delivery"),
    # payment
    ("charged twice", 1.5, "payment"), ("double charged", 1.5, "payment"),
    ("double-charged", 1.5, "payment"), ("still got charged", 1.0, "payment"),
    ("got charged", 0.6, "payment"), ("want a refund", 1.0, "payment"), ("refund", 0.5, "payment"),
    ("lost my money", 1.5, "payment"), ("payment error", 1.0, "payment"),
    ("payment failed", 1.0, "payment"), ("declined", 1.0, "payment"),
    # the store
    ("loud", 0.6, "store"), ("noisy", 0.7, "store"), ("freezing", 0.5, "store"),
    ("too cold", 0.5, ""), ("too hot", 0.5, ""), ("cramped", 0.8, "store"),
    ("wet floor", 1.0, "store"), ("slipped", 1.0, "store"), ("slippery", 1.0, "store"),
    ("keeps dropping", 0.8, ""), ("blocked off", 0.6, "store"), ("out of toilet paper", 1.0, "hygiene"),
    ("turn down the ac", 0.5, "store"), ("bumping elbows", 0.6, "store"),
    # verdicts
    ("never again", 1.5, ""), ("will not be back", 1.5, ""), ("not coming back", 1.5, ""),
    ("never coming back", 1.5, ""), ("never going back", 1.5, ""), ("not going back", 1.5, ""),
    ("never order*", 1.5, ""), ("not recommend", 1.0, ""), ("worst", 0.8, ""), ("terrible", 0.5, ""),
    ("awful", 0.5, ""), ("horrible", 0.5, ""), ("disappoint*", 0.7, ""), ("not happy", 0.7, ""),
    ("complain*", 0.5, ""), ("problem*", 0.5, ""), ("issue*", 0.5, ""), ("again", 0.3, ""),
    ("second time", 0.4, ""), ("third time", 0.4, ""), ("three times", 0.4, ""),
    ("every single time", 0.4, ""), ("every time", 0.3, ""), ("fix", 0.5, ""), ("why", 0.2, ""),
    ("annoyed", 0.5, ""), ("come on", 0.5, ""), ("seriously", 0.4, ""), ("not cool", 0.7, ""),
    ("a pain", 0.5, ""), ("pain to", 0.5, ""), ("closes", 0.5, "app"), ("waste your time", 0.5, ""),
    ("unacceptable", 1.0, ""), ("ridiculous", 0.5, ""), ("pathetic", 1.0, ""), ("scam", 1.0, ""),
    ("snapping", 1.0, "service"), ("snapped", 1.0, "service"), ("badmouth*", 1.0, "staff"),
    ("awkward", 0.4, ""), ("destroyed", 1.0, ""), ("spoiled", 1.5, "quality hygiene"),
    ("spoilt", 1.5, "quality hygiene"), ("stomach", 1.0, "hygiene"), ("steel wool", 1.5, "hygiene"),
    ("metal", 1.0, "hygiene"), ("piece of glass", 1.5, "hygiene"), ("broke a tooth", 1.5, "hygiene"),
    ("chipped a tooth", 1.5, "hygiene"), ("shuts down", 1.0, "app"), ("shut down", 1.0, "app"),
    ("loops back", 1.0, "app"), ("login loop", 1.0, "app"), ("keeps looping", 1.0, "app"),
    ("stuck in a loop", 1.0, "app"), ("force close*", 1.0, "app"), ("spins forever", 1.0, "app"),
    ("spinning", 0.6, "app"),
    ("loading forever", 1.0, "app"), ("infinite loading", 1.0, "app"), ("stuck on", 1.0, "app"),
    ("gave up", 0.5, ""), ("hard to", 0.4, ""), ("confusing", 0.6, ""), ("difficult", 0.4, ""),
    ("the old one was better", 0.8, ""), ("was better before", 0.8, ""), ("used to be better", 0.8, ""),
    ("not on the list", 1.0, "order"), ("no order", 1.0, "order"), ("personal call", 1.0, "staff"),
    ("on a call", 0.8, "staff"), ("came with no", 1.0, "order"), ("came without", 1.0, "order"),
    ("only got", 0.5, "order"), ("can not cancel", 1.0, "payment"), ("charged my card", 0.5, "payment"),
    ("half foam", 1.0, "quality"), ("mostly foam", 1.0, "quality"), ("mostly ice", 1.0, "quality"),
    ("take more care", 0.6, ""), ("be more careful", 0.6, ""), ("not be going back", 1.5, ""),
    ("not be coming back", 1.5, ""),
    # money and time lost
    ("overcharged", 1.5, "payment price"), ("charged extra", 1.0, "payment"),
    ("charged me extra", 1.0, "payment"), ("charge extra", 1.0, "payment"),
    ("charge me extra", 1.0, "payment"), ("extra charge", 0.8, "payment"),
    ("short in change", 1.0, "payment"), ("short changed", 1.0, "payment"),
    ("shortchanged", 1.0, "payment"), ("wrong change", 1.0, "payment"),
    ("rang up wrong", 1.0, "payment"), ("waste of time", 1.0, ""), ("wasted", 0.6, ""),
    ("for nothing", 0.8, ""), ("out of pocket", 0.8, ""), ("paid _ myself", 0.8, ""),
    ("my own money", 0.6, ""), ("threw it out", 1.0, ""), ("threw it away", 1.0, ""),
    ("throwing it out", 1.0, ""), ("throwing it away", 1.0, ""), ("had to throw", 1.0, ""),
    ("binned it", 1.0, ""), ("wasted trip", 1.0, ""), ("for no reason", 0.6, ""),
    ("took my money", 1.0, "payment"), ("kept my money", 1.0, "payment"),
    # asking for a remedy
    ("compensat*", 0.6, ""), ("please check", 0.6, ""), ("look into", 0.8, ""),
    ("do something about", 0.8, ""), ("fix this", 1.0, ""), ("sort this out", 0.8, ""),
    ("make it right", 0.8, ""), ("train your staff", 1.0, "staff"), ("train _ staff", 1.0, "staff"),
    # grievance frames: a question that is a reproach
    ("is this normal", 0.6, ""), ("is that normal", 0.6, ""), ("is this how", 0.6, ""),
    ("is that how", 0.6, ""), ("why is it that", 0.6, ""), ("how is that", 0.6, ""),
    ("how is this", 0.6, ""), ("why even", 0.6, ""), ("what is the point", 0.6, ""),
    ("what happened to", 0.6, ""), ("why do i have to", 0.8, ""), ("why do we have to", 0.8, ""),
    ("why should i", 0.6, ""), ("how hard is it", 1.0, ""), ("should not have to", 1.0, ""),
    ("makes no sense", 0.8, ""), ("no excuse", 1.0, ""), ("not okay", 0.8, ""), ("not acceptable", 1.0, ""),
    # how staff treat the customer, said mildly or not
    ("insisted", 0.8, "service"), ("refused", 0.8, "service"), ("rushed", 0.5, "service"),
    ("impatient", 0.8, "service"), ("condescending", 1.0, "service"), ("dismissive", 1.0, "service"),
    ("sarcastic", 0.8, "service"), ("unwelcome", 0.8, "service"), ("raised _ voice", 1.0, "service"),
    # without a word of warning
    ("without notice", 0.8, ""), ("without telling", 0.8, ""), ("nobody told", 1.0, ""),
    ("nobody mentioned", 1.0, ""), ("no one told", 1.0, ""), ("no one mentioned", 1.0, ""),
    # worse than before
    ("shrunk", 0.8, "price"), ("shrank", 0.8, "price"), ("anymore", 0.4, ""), ("no longer", 0.4, ""),
    ("downgraded", 0.8, ""), ("bumped down", 0.8, ""),
    # what should not be in a cup or a room
    ("reeks", 1.0, "hygiene"), ("stinks", 1.0, "hygiene"), ("cigarette", 0.8, "store"),
    ("dish soap", 1.0, "hygiene"), ("soapy", 1.0, "hygiene"), ("bleach", 1.0, "hygiene"),
    ("too bitter", 0.6, "quality"), ("scorched", 1.0, "quality"), ("different from before", 0.5, "quality"),
    ("not even one star", 1.0, ""), ("one star", 0.5, ""), ("uncomfortable", 0.5, ""),
)

# -- requests: an unmet need -------------------------------------------------------------------
# Strong cues are requests wherever they stand; soft ones only in a mention that is not a complaint
# ("했으면 좋겠어요" after a complaint asks for a fix, not for something new).
REQUEST_STRONG: Final[tuple[str, ...]] = (
    "있었으면 좋겠", "있으면 좋겠", "있었음 좋겠", "있었으면", "생겼으면", "생기면 좋겠",
    "생겼음 좋겠", "나왔으면", "나오면 좋겠", "출시해", "출시 해", "출시 좀", "재출시", "다시 팔",
    "다시 출시", "부활", "만들어 주세요", "만들어주세요", "만들어 주시면", "만들어주시면", "만들어 줘",
    "만들어줘",
    "추가해 주세요", "추가해주세요", "추가해 주시면", "추가해주시면", "추가 좀", "도입해",
    "도입 좀", "지원해 주세요", "지원해주세요", "지원해 주시면", "팔아 주세요", "팔아주세요", "팔아 주시면",
    "팔면 좋겠", "팔았으면", "열었으면",
    "열면 좋겠", "입점해", "들여와", "내주세요", "내 주세요", "출시 plz", "출시 please",
    "bring back", "please launch", "launch a", "please add", "please make", "please open",
    "please support", "please consider", "please re-release", "re-release", "wish you had",
    "wish you would", "wish you'd", "wish there was", "wish there were", "wish the", "i wish",
    "would love to see", "would love a", "would love it if", "would be nice", "would be great",
    "hoping for", "any chance of", "you should open", "you should add", "should open",
    "go back to the old", "begging", "please bring",
    "생기면", "있으면 좋을", "있었으면 해", "상시 메뉴", "상시 판매", "정식 메뉴로", "would be _ nice",
    "would be _ great", "if you had", "if the app had", "if there was", "if there were", "if only you",
    "permanent item", "permanent menu", "all year round", "year round",
)
REQUEST_SOFT: Final[tuple[str, ...]] = (
    "좋을 것 같",
    "했으면 좋겠", "하면 좋겠", "해 주시면 좋겠", "해주시면 좋겠", "주시면 좋겠", "였으면 좋겠",
    "please add", "you should", "hope you",
)

# -- how words change other words --------------------------------------------------------------
# Korean negation: 안/못 before the word (안 좋아요, 안좋아요), -지 않/못 after it (좋지 않아요),
# 없 after a noun (문제없이, 불만 없어요). English: these words up to three words before.
NEGATORS_KO_BEFORE: Final[tuple[str, ...]] = ("안", "못")
NEGATORS_KO_AFTER: Final[tuple[str, ...]] = ("지않", "진않", "지는않", "지도않", "지가않", "지못",
                                              "지는못", "지도못", "지마")
ABSENCE_KO_AFTER: Final[tuple[str, ...]] = ("없", "이없", "가없", "은없", "는없", "도없", "함없",
                                             "한점없", "은하나도없")
# Prefixes glued to a word that a ``^`` stem may follow: 개별로, 안좋아요, 넘짜요, 완전별로.
GLUE_KO: Final[tuple[str, ...]] = (
    "개", "안", "못", "넘", "완전", "존", "핵", "왜", "또", "좀", "다", "너무", "진짜", "정말", "더", "덜",
    "잘", "참", "제일", "존나",
)
# Korean endings that close a clause: connective ones (the clause before a contrast, 맛있는데,
# 했지만; a final-ㄴ syllable before 데 too: 비싼데) and concessive ones (길어도, 비싸도, not 인사도).
CONNECTIVE_KO: Final[tuple[str, ...]] = ("는데", "은데", "지만", "던데", "는데요", "지마는")
CONCESSIVE_KO: Final[tuple[str, ...]] = (
    "어도", "아도", "해도", "워도", "와도", "봐도", "싸도", "러도", "려도", "져도", "쳐도", "돼도", "써도",
    "라도",
)
# 별로/그닥/전혀 before a negation only grade it ("별로 안 기다렸어요" is no complaint).
DEGREE_ADVERBS_KO: Final[tuple[str, ...]] = ("별로", "그닥", "그다지", "전혀")
NEGATORS_EN: Final[tuple[str, ...]] = (
    "not", "no", "never", "without", "hardly", "barely", "nothing", "nobody", "none", "neither",
    "nor", "zero", "n't",
)

INTENSIFIERS: Final[dict[str, float]] = {
    "너무": 1.5, "진짜": 1.5, "정말": 1.5, "완전": 1.5, "넘": 1.5, "^개": 1.5, "존나": 1.5,
    "졸라": 1.5, "ㄹㅇ": 1.5, "레알": 1.5, "매우": 1.5, "아주": 1.3, "엄청": 1.5, "되게": 1.3,
    "^핵": 1.5, "진심": 1.5, "겁나": 1.5, "제일": 1.3, "훨씬": 1.3, "ㅈㄴ": 1.5, "대박": 1.0,
    "좀": 0.7, "조금": 0.7, "약간": 0.7, "살짝": 0.7,
    "very": 1.5, "so": 1.5, "soo": 1.5, "really": 1.3, "super": 1.5, "extremely": 1.7,
    "totally": 1.5, "absolutely": 1.7, "incredibly": 1.7, "literally": 1.3, "insanely": 1.7,
    "way": 1.3, "too": 1.3, "truly": 1.3, "completely": 1.5, "honestly": 1.0, "seriously": 1.2,
    "a bit": 0.7, "slightly": 0.7, "kind of": 0.7, "kinda": 0.7, "somewhat": 0.7,
    "a little": 0.7, "lowkey": 0.9, "pretty": 1.2,
}

# -- context ------------------------------------------------------------------------------------
# Mood and weather: a sentence that talks about the author's day, not the brand. Its judgements
# and weak cues are not the brand's ("월요일 진짜 싫다", "Mondays are the worst").
MOOD: Final[tuple[str, ...]] = (
    "날씨", "비 와", "비와", "비 오", "비오", "눈 와", "월요일", "월요병", "출근하기 싫", "시험",
    "지하철", "퇴근길", "우울", "꿀꿀", "바빠서", "바쁘", "피곤", "잠을 못 자",
    "weather", "rain", "rainy", "monday", "mondays", "exam", "subway", "outside",
    "gloomy", "feeling down", "too busy", "so tired", "sorrows", "heatwave",
)
# Markers that turn praise beside a reported problem into sarcasm.
# (ㅋㅋ, ^^, 🙃 and 🙄 are sarcasm markers too: see the emoticons below.)
SARCASM: Final[tuple[str, ...]] = (
    "^참$", "^아주$", "훌륭", "대단하", "잘하시네",
    "congrats", "great job", "nice job", "good job", "thanks a lot", "truly", "wow", "lol",
    "gotta love", "love how", "love that", "highlight", "yeah right", "thanks for nothing",
)
# A marker only as the last word of its sentence: "Great service guys, really."
SARCASM_LAST: Final[tuple[str, ...]] = ("really",)

# Surfaces that mean nothing here but would otherwise be read as a shorter one that does:
# "lately" is not "late", "빵집" (a bakery) is no product, "늦게까지" (open late) no wait.
BLOCKERS: Final[tuple[str, ...]] = (
    "빵집", "빵순이", "빵지순례", "늦게까지", "늦은 시간", "안녕", "안내", "가짜", "새로", "새벽",
    "lately", "later", "latest", "i forgot", "we forgot", "안 와봤", "안 와 봤", "안 와본", "안 와 본",
)
# Words that open a new clause and weigh the one before less ("맛있는데 비싸요": the price
# carries the sentence). Korean connective endings (-는데, -지만) count too.
CONTRAST: Final[tuple[str, ...]] = (
    "근데", "그런데", "하지만", "그러나", "그래도", "다만", "but", "however",
)
# Question endings besides "?".
QUESTION_KO: Final[tuple[str, ...]] = (
    "나요", "까요", "인가요", "가요", "는지", "을까", "ㄹ까", "어요?", "있어요?", "에요?",
)

# "X가 안 돼요" reports a failure; "X 안 되나요?" asks whether X can be had: these cues count in
# statements only.
STATEMENT_CUES: Final[tuple[str, ...]] = (
    "안 돼", "안돼", "안 되", "안되", "안 됨", "안됨", "안 됐", "안됐", "안 됩니다", "안 된",
)

# What should have happened: negated, it is a failure ("my points haven't been credited", "the
# refund never arrived", "the app isn't loading").
EXPECTED_EN: Final[tuple[str, ...]] = (
    "credited", "arrived", "refunded", "delivered", "applied", "working", "loading", "answered",
    "processed", "showing",
)

# -- a story of what went wrong: expectation, then failure ---------------------------------------
# Most complaints in words the lexicon does not know still tell the same story: the author did or
# was promised something (말씀드렸는데, 예약했는데, 준다더니; asked, paid, booked, was promised),
# then it did not happen (안/못 + a verb, 없었, -지 않았; not, never, nobody, only, instead, was
# told). ``logic.classify`` finds the Korean past-tense connectives (했는데, 갔더니, 샀지만) and the
# negated verbs by their grammar; these tables hold the rest.
EXPECTATION_KO: Final[tuple[str, ...]] = (
    "라더니", "다더니", "라고 해서", "다고 해서", "라길래", "다길래", "라면서", "다면서", "^분명",
    "말씀드렸", "부탁드렸", "요청드렸", "여쭤봤", "물어봤", "했는데도", "는데도요", "말씀드려도",
    "부탁드려도", "요청해도", "말해도", "얘기해도",
)
EXPECTATION_EN: Final[tuple[str, ...]] = (
    "asked", "asking", "told them", "told the", "told her", "told him", "i said", "we said", "paid",
    "brought", "booked", "reserved", "called", "signed up", "tried to", "ordered", "requested",
    "was promised", "were promised", "supposed to", "even though", "specifically", "made sure",
    "pre-ordered", "i had just", "gave my", "gave them", "showed my", "showed them", "handed my",
)
# What did not happen, besides a negated verb: a different or smaller result, a refusal.
FAILURE_KO: Final[tuple[str, ...]] = (
    "다른 사람", "^달라요", "^달랐", "^다르게", "^덜$", "밖에", "모른", "^모르", "거절", "^만 된",
    "^아니래", "^아니라고", "^아니라", "^대신", "엉뚱", "^딴$",
)
FAILURE_EN: Final[tuple[str, ...]] = (
    "only", "instead", "anyway", "still", "wrong", "short", "refused", "was told", "were told",
    "told me", "they said", "either", "different", "nowhere", "no one", "nobody",
)
# Negations that report no failure: "not only", "no wonder", "don't think", "didn't want to
# leave" (a hedge or a wish, not an outcome); "never disappoints" is a positive phrase of its own.
NOT_FAILURE_EN: Final[tuple[str, ...]] = (
    "only", "just", "wonder", "sure", "matter", "doubt", "kidding", "joke", "lie", "wait",
    "regret", "regrets", "complaints", "problem", "problems", "worries", "issue", "issues",
    "think", "want", "wanna", "need", "mind", "care", "tried", "try",
)
# Negated verbs that report no failure of ours: 상관없, 틀림없, 끊임없 ("없이" never counts), and
# what the author could not help (못 참고, 못 잊어, 못 끊어). The experiential -어 보다 (아직 못
# 먹어봄, 안 와봤) is the author's own doing too; ``logic.classify`` reads it by its grammar.
NOT_FAILURE_KO: Final[tuple[str, ...]] = (
    "상관없", "틀림없", "끊임없", "어쩔 수 없", "필요 없", "필요없", "못 참", "못참", "못 잊", "못잊",
    "못 끊", "못끊", "못 고르", "못 골", "못 말려", "못 멈추", "못 헤어나",
)
# The verbs of an expectation, before a past-tense connective: 주문했는데, 말씀드렸는데, 샀는데,
# 냈는데, 시켰더니, 받았는데. Going, coming, seeing and eating (갔는데, 왔는데, 봤는데, 먹었는데)
# only set the scene.
EXPECTING_VERBS_KO: Final[tuple[str, ...]] = (
    "했", "드렸", "샀", "냈", "시켰", "맡겼", "가져갔", "챙겨갔", "들고 갔", "받았", "보냈", "넣었",
    "눌렀", "찍었", "썼", "골랐", "줬", "주셨", "불렀", "보여줬", "알려줬", "적었", "남겼", "물었",
)
# The author blames themself ("my fault", "제 실수"): what went wrong is no complaint about us.
OWN_FAULT: Final[tuple[str, ...]] = (
    "my fault", "my mistake", "my bad", "my own fault", "my own mistake", "제 실수", "제 잘못", "내 잘못",
    "내 실수", "제가 잘못", "제 탓", "내 탓",
)
# Whose story it is: the author's.
FIRST_PERSON_KO: Final[tuple[str, ...]] = (
    "제가", "저는", "저도", "저만", "저한테", "저를", "저희", "저희가", "저희는", "제", "저", "내가",
    "나는", "나만", "나한테", "저희한테",
)
FIRST_PERSON_EN: Final[tuple[str, ...]] = ("i", "my", "me", "we", "our", "us", "i'd", "i've", "i'm", "myself")
# A why beside a failure is a grievance ("왜 적립이 안 되나요", "why can't I ..."), not a question
# about what is possible.
WHY: Final[tuple[str, ...]] = ("왜", "why", "how come")
# Korean past-tense connectives (했는데, 갔더니, 샀지만) and glued negated verbs (안찍어, 못받음).
PAST_CONNECTIVE_KO: Final[tuple[str, ...]] = ("는데", "는데도", "더니", "지만")
GLUED_NEGATION_KO: Final[tuple[str, ...]] = (
    "안돼", "안되", "안됨", "안됐", "안해", "안했", "안줘", "안줬", "안주", "안와", "안왔", "안옴", "안나",
    "안보", "안찍", "안받", "안들", "안열", "안켜", "안채", "안닫", "못받", "못했", "못해", "못하", "못봤",
    "못찾", "못쓰", "못썼", "못알", "못들",
)

# A problem put right on the spot ("spilled my drink and remade it at once, great recovery"): in a
# positive mention its cues are only hints, not a complaint.
RESOLVED: Final[tuple[str, ...]] = (
    "바로 새로", "새로 만들어 주", "새로 만들어주", "바로 바꿔", "바꿔 주셨", "바꿔주셨", "대응 최고",
    "빠르게 처리", "remade", "replaced it", "great recovery", "sorted it out", "fixed it right away",
)

# -- conditional cues: a problem unless the mention is positive ----------------------------------
# An order, then what came: "라떼 시켰는데 미지근하게 나왔어요", "ordered decaf, got regular" (in
# either order: "ice cold로 나옴, hot 시켰는데").
ORDERED: Final[tuple[str, ...]] = (
    "시켰는데", "시켰더니", "주문했는데", "주문했더니", "^주문한", "변경했는데", "달라고 했는데",
    "ordered", "asked for", "requested", "paid for",
)
RECEIVED: Final[tuple[str, ...]] = (
    "나왔", "나옴", "나와", "줬", "주셨", "^줌", "들어 있", "들어있", "^왔어", "^왔네", "^옴",
    "got", "gave me", "came out", "came with", "received", "arrived", "showed up", "handed me",
)
# Words that are a problem of a product when one is named in the same sentence ("the bingsu came
# out melted", "마카롱이 눌려서"), and only a hint otherwise ("it's cold").
PRODUCT_CUES: Final[tuple[str, ...]] = (
    "cold", "ice cold", "melted", "crushed", "squashed", "squished", "차갑게", "녹아서", "다 녹", "눌려",
    "찌그러",
)
# A duration beside a waiting or ordering word is a waiting time: "40분 기다림", "took over an
# hour", "40 min for a pickup order". Numbers followed by these units, or these phrases.
DURATION_UNITS_KO: Final[tuple[str, ...]] = ("분", "시간")
DURATION_UNITS_EN: Final[tuple[str, ...]] = ("min", "mins", "minute", "minutes", "hour", "hours", "hr", "hrs")
DURATIONS: Final[tuple[str, ...]] = (
    "한 시간", "한시간", "반나절", "두 시간", "두시간", "an hour", "half an hour", "hour and a half",
)
# Please, beside a verb or noun of making something: "add dark mode please", "재출시 plz".
PLEASE: Final[tuple[str, ...]] = ("please", "plz", "pls", "플리즈", "제발")
REQUEST_VERBS_EN: Final[tuple[str, ...]] = (
    "add", "launch", "bring", "make", "open", "support", "sell", "stock",
)
REQUEST_NOUNS_KO: Final[tuple[str, ...]] = ("출시", "추가", "도입", "부활")

# -- emoticons and emoji -----------------------------------------------------------------------
# Hangul jamo runs are read by their letters: ㅋ/ㅎ laughter, ㅠ/ㅜ tears, ㅡ annoyance.
EMOJI_POSITIVE: Final[str] = "👍❤♥😍🥰😊🤤💕😋✨💯🥹👏😄😁🙂💛💖🤩"
EMOJI_NEGATIVE: Final[str] = "😡🤬😤😒👎🤢🤮💩😠"
EMOJI_SARCASM: Final[str] = "🙃🙄"
EMOJI_TEARS: Final[str] = "😭😢🥲😩"

# fmt: on
