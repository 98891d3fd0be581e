"""CPR numbers: recognise them in free text and form data, validate, normalise, mask.

A CPR number is DDMMYY-SSSS or DDMMYYSSSS whose first six digits are a real date. The century
comes from the first serial digit (CPR-kontoret's table). There is no modulus-11 check: numbers
issued since 2007 need not pass it.

Recognition errs towards fewer false positives in running text: the ten digits must stand alone
(no digit, and no digit-separator-digit, touching either end), so longer digit runs, amounts such
as 1.234.567.890,00, account numbers like 1234-0101901234 and phone numbers (eight digits in
Denmark, however they are grouped) are not taken for CPR numbers.
"""
from __future__ import annotations

import re
from datetime import date

from .errors import InvalidInput

_CANDIDATE = re.compile(
    r"(?<!\d)(?<!\d[.,\-/])"          # nothing numeric before: no 12,0101901234 or 12-0101901234
    r"(\d{2})(\d{2})(\d{2})(-?)(\d{4})"
    r"(?!\d)(?![.,\-/]\d)")           # nothing numeric after: no 0101901234,50 or 010190-1234-5
_STRICT = re.compile(r"^(\d{2})(\d{2})(\d{2})-?(\d{4})$")


def birth_date(day: int, month: int, yy: int, serial: str) -> date | None:
    """The date a CPR number encodes, or None if it is not a valid date."""
    digit = int(serial[0])
    if digit <= 3:
        century = 1900
    elif digit in (4, 9):
        century = 2000 if yy <= 36 else 1900
    else:  # 5-8
        century = 2000 if yy <= 57 else 1800
    try:
        return date(century + yy, month, day)
    except ValueError:
        return None


def find_cprs(text: str) -> list[str]:
    """The CPR numbers in `text`, normalised to DDMMYYSSSS, in order of appearance."""
    found = []
    for match in _CANDIDATE.finditer(text):
        dd, mm, yy, _, serial = match.groups()
        if birth_date(int(dd), int(mm), int(yy), serial) is not None:
            found.append(dd + mm + yy + serial)
    return found


def contains_cpr(text: str) -> bool:
    return bool(find_cprs(text))


def fields_with_cpr(data, path: str = "") -> list[str]:
    """Paths (a.b[0]) of the values in nested form data that hold a CPR number."""
    hits: list[str] = []
    if isinstance(data, dict):
        for key, value in data.items():
            hits.extend(fields_with_cpr(value, f"{path}.{key}" if path else str(key)))
    elif isinstance(data, (list, tuple)):
        for index, value in enumerate(data):
            hits.extend(fields_with_cpr(value, f"{path}[{index}]"))
    elif isinstance(data, str):
        if contains_cpr(data):
            hits.append(path)
    elif isinstance(data, int) and not isinstance(data, bool):
        # A number field loses the leading zero: 0101901234 arrives as 101901234.
        if 100_000_000 <= data <= 9_999_999_999 and contains_cpr(f"{data:010d}"):
            hits.append(path)
    return hits


def normalise_cpr(value: str, field: str = "cpr") -> str:
    """DDMMYYSSSS from DDMMYY-SSSS or DDMMYYSSSS; InvalidInput naming `field` otherwise."""
    if not isinstance(value, str):
        raise InvalidInput("a CPR number is text: DDMMYY-SSSS", field=field)
    match = _STRICT.match(value.strip())
    if not match:
        raise InvalidInput("a CPR number has ten digits: DDMMYY-SSSS", field=field)
    dd, mm, yy, serial = match.groups()
    if birth_date(int(dd), int(mm), int(yy), serial) is None:
        raise InvalidInput("the first six digits of a CPR number must be a date (DDMMYY)", field=field)
    return dd + mm + yy + serial


def format_cpr(normalised: str) -> str:
    return f"{normalised[:6]}-{normalised[6:]}"


def mask_cpr(normalised: str) -> str:
    """The birth date only: enough to tell parties apart on screen."""
    return f"{normalised[:6]}-xxxx"


CVR = re.compile(r"^[1-9]\d{7}$")


def normalise_cvr(value: str, field: str = "cvr") -> str:
    if not isinstance(value, str) or not CVR.match(value.replace(" ", "")):
        raise InvalidInput("a CVR number has eight digits and does not start with 0", field=field)
    return value.replace(" ", "")


def redact(value, keep: str | None = None):
    """`value` with every CPR number in its strings replaced by [CPR], except `keep` (normalised).

    For the journal and logs (keep nothing), and for a person's export (keep theirs only).
    """
    if isinstance(value, str):
        def replace(match: re.Match) -> str:
            found = find_cprs(match.group(0))
            return "[CPR]" if found and found != [keep] else match.group(0)
        return _CANDIDATE.sub(replace, value)
    if isinstance(value, dict):
        return {key: redact(item, keep) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(item, keep) for item in value]
    return value
