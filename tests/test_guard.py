"""bot.channels.guard: the checks every public surface runs before Rasa sees a request (issue 16).

The end-to-end behaviour is in tests/test_hostile_requests.py; here the validators alone, and a bounded
fuzz run (Hypothesis) showing that whatever they are given they either return a value of the promised
kind or refuse with a status and a Japanese reason, never anything else.
"""
from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.channels import guard

FUZZ = settings(max_examples=300, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow])
JAPANESE = ("、", "。", "です", "ください", "ません")


def refused_properly(call) -> object:
    try:
        return call()
    except guard.Refused as refused:
        assert refused.status in (400, 413, 429)
        assert any(mark in refused.message for mark in JAPANESE), refused.message
        return refused


@FUZZ
@given(st.binary(max_size=2000))
def test_any_body_is_a_json_object_or_a_refusal(body):
    result = refused_properly(lambda: guard.json_object(body))
    assert isinstance(result, (dict, guard.Refused))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=30,
)


@FUZZ
@given(st.dictionaries(st.sampled_from(["sender", "message", "metadata", "x"]), json_values))
def test_any_json_object_yields_a_safe_sender_and_text_or_a_refusal(payload):
    body = json.dumps(payload).encode()
    parsed = guard.json_object(body)
    sender = refused_properly(lambda: guard.check_sender(parsed.get("sender")))
    text = refused_properly(lambda: guard.check_text(parsed.get("message")))
    if isinstance(sender, str):
        assert guard.SENDER_ID.match(sender) and sender.encode("utf-8")
    if isinstance(text, str):
        assert len(text) <= guard.MAX_MESSAGE_CHARS and len(text.encode("utf-8")) >= len(text)


@FUZZ
@given(st.text(max_size=300))
def test_any_sender_is_safe_or_refused_with_400(value):
    result = refused_properly(lambda: guard.check_sender(value))
    if isinstance(result, guard.Refused):
        assert result.status == 400
    else:
        assert result == value and len(value) <= 128 and value.isascii()


@FUZZ
@given(st.lists(st.text(max_size=25), max_size=3), st.sampled_from([[], ["chunked"]]))
def test_any_content_length_is_a_number_within_the_limit_or_refused(values, encodings):
    result = refused_properly(lambda: guard.check_head("/webhooks/rest/webhook", values, encodings))
    if result is None and values:
        assert values[0].strip().isdigit() and int(values[0]) <= guard.MAX_BODY_BYTES


@pytest.mark.parametrize("value", ["-1", "abc", "1e3", "+5", "0x10", "", "٣", "1" * 30])
def test_content_lengths_that_are_not_a_plain_number_are_refused(value):
    with pytest.raises(guard.Refused) as refused:
        guard.check_head("/webhooks/rest/webhook", [value], [])
    assert refused.value.status == 400


def test_two_different_content_lengths_or_a_length_with_chunking_are_refused():
    for values, encodings in ((["5", "6"], []), (["5"], ["chunked"])):
        with pytest.raises(guard.Refused):
            guard.check_head("/webhooks/rest/webhook", values, encodings)


@pytest.mark.parametrize("encodings", [["Chunked"], ["gzip, chunked"], ["identity"], [""], ["chunked", "chunked"]])
def test_transfer_encodings_sanic_does_not_read_as_chunked_are_refused(encodings):
    # Sanic 21.12 reads a body as chunked only for exactly one `chunked`; otherwise it looked for a
    # Content-Length that was not there: a 500 (found in review)
    with pytest.raises(guard.Refused) as refused:
        guard.check_head("/webhooks/rest/webhook", [], encodings)
    assert refused.value.status == 400
    guard.check_head("/webhooks/rest/webhook", [], ["chunked"])


def test_the_body_limit_depends_on_the_route():
    guard.check_head("/webhooks/line/webhook", [str(900_000)], [])  # LINE may send up to its own 1 MB
    with pytest.raises(guard.Refused) as refused:
        guard.check_head("/webhooks/rest/webhook", [str(900_000)], [])
    assert refused.value.status == 413


def test_numbers_too_large_for_a_float_and_nan_are_refused():
    for body in (b'{"limit": 1e400}', b'{"limit": -1e400}', b'{"limit": NaN}', b'{"limit": Infinity}'):
        with pytest.raises(guard.Refused):
            guard.json_object(body)


def test_deep_nesting_is_refused_without_recursing():
    with pytest.raises(guard.Refused):
        guard.json_object(b"[" * 100_000 + b"]" * 100_000)
    with pytest.raises(guard.Refused):
        nested: object = 1
        for _ in range(guard.MAX_JSON_DEPTH + 2):
            nested = [nested]
        guard.json_object(json.dumps({"a": nested}).encode())


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_rate_limit_holds_back_long_messages_first_and_refills_with_time():
    clock = Clock()
    limiter = guard.RateLimiter.from_env({}, clock=clock)  # the defaults
    longest = "あ" * guard.MAX_MESSAGE_CHARS
    assert limiter.allow("a", longest)
    assert not limiter.allow("a", longest)  # 100 tokens a message: the second must wait
    # another client: 400 questions at once
    assert all(limiter.allow("b", "総会の会場はどこですか") for _ in range(400))
    clock.now += 5.0
    assert limiter.allow("a", longest)


def test_a_person_asking_short_questions_is_never_held_back():
    clock = Clock()
    limiter = guard.RateLimiter.from_env({}, clock=clock)
    for _ in range(600):  # ten minutes of 50 questions a second (a test suite, an office behind one address)
        clock.now += 1.0
        assert all(limiter.allow("p", "第7回総会の会場と住所を教えてください") for _ in range(50))


@pytest.mark.parametrize("env", [{"MADOGUCHI_RATE": "20/s"}, {"MADOGUCHI_BURST": "-1"}, {"MADOGUCHI_RATE": "nan"}])
def test_a_bad_rate_setting_is_refused_naming_the_variable(env):
    with pytest.raises(ValueError, match=next(iter(env))):
        guard.RateLimiter.from_env(env)


def test_the_limit_can_be_turned_off_and_its_refusal_is_429_in_japanese():
    assert all(guard.RateLimiter(rate=0, burst=0).allow("a", "x" * 2000) for _ in range(10))
    limiter = guard.RateLimiter(rate=1, burst=1, clock=Clock())
    limiter.check("a", "")
    with pytest.raises(guard.Refused) as refused:
        limiter.check("a", "x" * 500)
    assert refused.value.status == 429 and "時間をおいて" in refused.value.message


def test_the_rate_limit_counts_an_ipv6_client_by_its_64_network():
    assert guard.rate_key("2001:db8:1:2:aaaa::1") == guard.rate_key("2001:db8:1:2:ffff::9") == "2001:db8:1:2::/64"
    assert guard.rate_key("2001:db8:1:3::1") != guard.rate_key("2001:db8:1:2::1")
    assert guard.rate_key("203.0.113.7") == "203.0.113.7" == guard.rate_key("::ffff:203.0.113.7")
    assert guard.rate_key("unknown") == "unknown"
