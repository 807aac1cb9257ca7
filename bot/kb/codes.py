"""全国地方公共団体コード (JIS X 0402 + check digit)."""
from __future__ import annotations

import re
import unicodedata

_CODE_RE = re.compile(r"^[0-9]{6}$")


def check_digit(first_five: str) -> int:
    """Check digit of a 5-digit code: weights 6,5,4,3,2; cd = (11 - sum % 11) % 10."""
    total = sum(int(d) * w for d, w in zip(first_five, (6, 5, 4, 3, 2)))
    return (11 - total % 11) % 10


def code_problem(code: str) -> str | None:
    """None for a valid 6-digit code, else the reason in Japanese."""
    if not _CODE_RE.match(code or ""):
        return f"全国地方公共団体コード「{code}」は6桁の数字ではありません"
    expected = check_digit(code[:5])
    if int(code[5]) != expected:
        return f"全国地方公共団体コード「{code}」の検査数字が正しくありません（正しくは {code[:5]}{expected}）"
    return None


def complete(code: str) -> str | None:
    """A 6-digit code from 5 digits (adds the check digit) or 6 valid digits; None otherwise."""
    code = unicodedata.normalize("NFKC", code or "").strip()
    if re.fullmatch(r"[0-9]{5}", code):
        return code + str(check_digit(code))
    if code_problem(code) is None:
        return code
    return None
