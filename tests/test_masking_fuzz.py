"""Properties of bot.privacy.masking checked on generated texts (Hypothesis).

Bounded and reproducible: 200 examples a property, derandomized, no example database; no time limits.
"""
from __future__ import annotations

import unicodedata

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.privacy.masking import PHONE, mask, spans

FUZZ = settings(max_examples=200, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])

KANJI_DIGITS = "〇一二三四五六七八九"
FULL_WIDTH_DIGITS = "０１２３４５６７８９"
INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff\u00ad\u200e\u2061\ufe0f"
# Characters that make up personal data, and their look-alikes: the generated texts are dense in them.
PIECES = ("\x00\ud800\udc00\x1b0123456789０１２３４５６７８９〇零一二三四五六七八九"
          "@＠.．・-－ー ()+81abcxyzjp_%" + INVISIBLE)


def numeral_or_at(char: str) -> bool:
    """Whether ``char`` is, or folds to, a digit of any script, a 漢数字 or an '@'."""
    return any(c.isdigit() or c == "@" or c in KANJI_DIGITS + "零" for c in char + unicodedata.normalize("NFKC", char))


def invisible(char: str) -> bool:
    return unicodedata.category(char) in ("Cf", "Cc", "Mn", "Me") and not char.isspace()


any_text = st.one_of(
    st.text(st.characters()),  # all of Unicode, lone surrogates and NULs included
    st.text(st.sampled_from(PIECES), max_size=200),
    st.builds(lambda unit, n, tail: unit * n + tail,  # huge runs
              st.text(st.sampled_from(PIECES), min_size=1, max_size=3), st.integers(1, 20_000), st.text(max_size=30)),
)
plain_text = st.text(st.characters(exclude_categories=["Cs"]).filter(lambda c: not numeral_or_at(c)), max_size=60)


@FUZZ
@given(any_text)
def test_mask_never_raises_and_leaves_nothing_to_mask(text):
    masked = mask(text)
    assert isinstance(masked, str)
    assert spans(masked) == []
    assert mask(masked) == masked


@FUZZ
@given(st.text(st.characters().filter(lambda c: not numeral_or_at(c))))
def test_text_without_digits_at_signs_or_kanji_numerals_is_returned_unchanged(text):
    assert mask(text) == text


# digits in each group: 03-…, 090-…, 045-…, 0466-…, 01267-…, 0120-…
PHONE_GROUPS = [(2, 4, 4), (3, 4, 4), (3, 3, 4), (4, 2, 4), (5, 1, 4), (4, 3, 3)]
SCRIPTS = ["0123456789", FULL_WIDTH_DIGITS, KANJI_DIGITS]  # one number is written in one of them
SEPARATORS = ["-", " ", ".", "－", "ー", "　", "．", ""]


@st.composite
def phone_numbers(draw) -> str:
    """A Japanese phone number: random digits in one script, random separators, invisible characters inside."""
    sizes = draw(st.sampled_from(PHONE_GROUPS))
    digits = "0" + "".join(draw(st.sampled_from("0123456789")) for _ in range(sum(sizes) - 1))
    script = draw(st.sampled_from(SCRIPTS))
    digits = [script[int(d)] for d in digits]
    for end in (sizes[0] + sizes[1], sizes[0]):
        digits.insert(end, draw(st.sampled_from(SEPARATORS)))
    chars = []
    for i, char in enumerate(digits):
        chars.append(char)
        if i < len(digits) - 1:
            chars.append(draw(st.text(st.sampled_from(INVISIBLE), max_size=2)))
    return "".join(chars)


@FUZZ
@given(plain_text, phone_numbers(), plain_text)
def test_a_phone_number_anywhere_in_any_text_is_masked(before, phone, after):
    masked = mask(before + phone + after)
    assert masked.endswith(PHONE + after)
    kept = masked[:len(masked) - len(PHONE + after)]
    assert before.startswith(kept)
    assert all(c == "(" or invisible(c) for c in before[len(kept):])  # a '(' before it may go with it
    assert not [c for c in masked if numeral_or_at(c)]


@FUZZ
@given(plain_text, st.lists(st.from_regex(r"[0-4][0-9]{5}", fullmatch=True), min_size=1, max_size=4),
       st.sampled_from(["、", " ", "と", "\n", "，", "／"]), st.sampled_from(SCRIPTS), plain_text)
def test_municipality_codes_are_never_masked(before, codes, separator, script, after):
    text = before + separator.join("".join(script[int(d)] for d in code) for code in codes) + after
    assert mask(text) == text
