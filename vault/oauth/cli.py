"""``python -m vault refresh-due [--within 10m]``: refresh every credential that expires
within the window, for a scheduler (Cloud Scheduler, cron). One refresh per credential
across instances still holds: a credential that an exchange is refreshing meanwhile is
waited for, not refreshed twice. Exit code 1 when any refresh failed."""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from typing import TYPE_CHECKING, Any

from vault.timefmt import now_micros

if TYPE_CHECKING:
    from vault.ports import StoredCredential

_DURATION = re.compile(r"([0-9]{1,6})([smhd]?)", re.ASCII)
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86_400}
_PAGE = 200


def duration_seconds(text: str) -> int:
    """``90``, ``90s``, ``10m``, ``2h``, ``1d``; at most 30 days."""
    match = _DURATION.fullmatch(text.strip())
    if match is None:
        raise argparse.ArgumentTypeError("a duration such as 90s, 10m, 2h or 1d")
    seconds = int(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if seconds > 30 * 86_400:
        raise argparse.ArgumentTypeError("at most 30 days")
    return seconds


def register(commands: Any) -> None:
    command = commands.add_parser(
        "refresh-due", help="refresh every credential that expires soon (for a scheduler)"
    )
    command.add_argument(
        "--within",
        type=duration_seconds,
        default=600,
        help="refresh what expires within this long (default 10m)",
    )
    command.set_defaults(run=_run)


def _run(arguments: argparse.Namespace) -> int:
    from vault.bootstrap import get_vault

    vault = get_vault()
    before = now_micros() + arguments.within * 1_000_000
    due: list[StoredCredential] = []
    after = None
    while True:
        page = vault.credentials.expiring(before, _PAGE, after)
        due.extend(stored for stored in page if stored.refresh_token is not None)
        if len(page) < _PAGE:
            break
        after = (page[-1].token_expires_at or 0, page[-1].credential_id)
    outcomes: Counter[str] = Counter()
    for stored in _progress(due):
        outcomes[vault.refresher.refresh_if_due(stored, arguments.within)] += 1
    print_summary(outcomes)
    return 1 if outcomes["failed"] else 0


def _progress(items: list[Any]) -> Any:
    from tqdm import tqdm

    return tqdm(items, desc="refreshing", unit="credential", file=sys.stderr, leave=False)


def print_summary(outcomes: Counter[str]) -> None:
    """The one place this command prints: a line for people, on stderr."""
    print(
        f"refreshed {outcomes['refreshed']}, needs re-auth {outcomes['needs_reauth']}, "
        f"failed {outcomes['failed']}, skipped {outcomes['skipped']}",
        file=sys.stderr,
    )
