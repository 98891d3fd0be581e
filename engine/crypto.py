"""Protection of CPR numbers at rest: authenticated encryption plus a keyed hash to find them.

CPR numbers are encrypted with Fernet (AES-128-CBC + HMAC-SHA256, from the `cryptography`
package) under SAGSGANG_DATA_KEY, and found by an HMAC-SHA256 of the normalised number under a
separate SAGSGANG_LOOKUP_KEY: a database dump without the keys gives neither the numbers nor a
way to test guesses (a plain hash of the ~4 million valid CPR numbers is reversed in seconds).

The data key may list several Fernet keys separated by commas: the first encrypts, all decrypt,
so keys can be rotated (`rotate`) without a flag day.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from .errors import SagsgangError


class DataKeyError(SagsgangError):
    """A data or lookup key that cannot be used."""


def new_data_key() -> str:
    return Fernet.generate_key().decode()


def check_data_key(value: str) -> str | None:
    """The reason a SAGSGANG_DATA_KEY value is unusable, or None."""
    keys = [k.strip() for k in value.split(",") if k.strip()]
    if not keys:
        return "is empty"
    for index, key in enumerate(keys, start=1):
        try:
            raw = base64.urlsafe_b64decode(key.encode())
        except (binascii.Error, ValueError):
            return f"key {index} is not URL-safe base64"
        if len(raw) != 32:
            return f"key {index} must be 32 bytes in URL-safe base64 (a Fernet key)"
    return None


def check_lookup_key(value: str) -> str | None:
    if len(value.encode()) < 32:
        return "must be at least 32 characters"
    return None


class DataProtector:
    """Encrypt, decrypt and hash CPR numbers under the instance's keys."""

    def __init__(self, data_key: str, lookup_key: str):
        problem = check_data_key(data_key) or check_lookup_key(lookup_key)
        if problem:
            raise DataKeyError(f"data protection keys: {problem}")
        self._fernet = MultiFernet([Fernet(k.strip()) for k in data_key.split(",") if k.strip()])
        self._lookup_key = lookup_key.encode()

    def encrypt(self, value: str) -> str:
        return self._fernet.encrypt(value.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken as err:
            raise DataKeyError("a stored CPR number cannot be decrypted with SAGSGANG_DATA_KEY "
                            "(wrong or missing key)") from err

    def rotate(self, token: str) -> str:
        """Re-encrypt under the first data key."""
        return self._fernet.rotate(token.encode()).decode()

    def lookup_hash(self, value: str) -> str:
        return hmac.new(self._lookup_key, value.encode(), hashlib.sha256).hexdigest()


@lru_cache(maxsize=8)
def protector(data_key: str, lookup_key: str) -> DataProtector:
    return DataProtector(data_key, lookup_key)


def protector_for(settings) -> DataProtector:
    return protector(settings.data_key, settings.lookup_key)
