from __future__ import annotations

import re

from vault.ids import credential_id, encode_parts
from vault.models import parse_rfc3339
from vault.timefmt import format_micros


def test_credential_id_is_deterministic_and_unambiguous():
    assert credential_id("d", "p", "s") == credential_id("d", "p", "s")
    assert credential_id("d", "ab", "c") != credential_id("d", "a", "bc")
    assert credential_id("d1", "p", "s") != credential_id("d", "1p", "s")
    assert re.fullmatch(r"vc_[a-z2-7]{32}", credential_id("d", "p", "s"))


def test_encoding_is_length_prefixed():
    assert encode_parts("ab", "c") != encode_parts("a", "bc")


def test_timestamps_round_trip_in_utc_with_milliseconds():
    micros = parse_rfc3339("2026-04-05T14:00:00.123999+02:00")

    assert format_micros(micros) == "2026-04-05T12:00:00.123Z"
    assert format_micros(0) == "1970-01-01T00:00:00.000Z"
