"""Pseudonyms for the applicant identifiers: keyed HMAC-SHA256, never a plain hash.

A plain hash of a passport number or a name can be reversed by hashing guesses; without the key (a setting,
kept out of the database) a pseudonym links decisions about one person and reveals nothing else. Each kind of
value is hashed under its own label, so a pseudonym of one kind never matches one of another.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from dataclasses import dataclass

from services.talent.domain.validation import normalized_passport_number

SCHEME = "hmac-sha256/v1"
_SEPARATOR = "\x1f"


@dataclass(frozen=True)
class Subject:
    pseudonym: str
    basis: str  # "passport_number" (strong) or "name" (weak: namesakes of one nationality share it)


def normalized_name(value: str) -> str:
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", value)).strip().casefold()


class Pseudonymizer:
    def __init__(self, key: bytes) -> None:
        if not key:
            raise ValueError("a pseudonym key is required")
        self._key = key

    def _mac(self, label: str, *parts: str) -> str:
        message = _SEPARATOR.join((label, *parts)).encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()[:32]

    def subject(self, nationality: str, name: str, passport_number: str) -> Subject | None:
        """The person the identifiers point to: by passport number (with its nationality) when given, else by
        name; None when neither was given."""
        if passport_number:
            return Subject(
                "sub_" + self._mac("passport", nationality, normalized_passport_number(passport_number)),
                "passport_number",
            )
        if name.strip():
            return Subject("sub_" + self._mac("name", nationality, normalized_name(name)), "name")
        return None

    def reference(self, kind: str, value: str) -> str:
        """A pseudonymous reference to a document number (e.g. a confirmation letter's)."""
        return "ref_" + self._mac(kind, value.strip().upper())
