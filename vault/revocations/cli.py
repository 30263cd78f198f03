"""``python -m vault revocations sync [--follow]``: the issuer's revocation feed into the
denylists. One-shot: catch up (snapshot, or resume from the stored cursor, then the
stream for ``--settle`` seconds) and exit. ``--follow``: keep following; when the feed
has been stale (no word from the issuer, heartbeats included) for longer than
``--stale-after`` seconds, exit 1 with a line saying so, loudly, so that a scheduler
restarts it and an operator sees it, rather than trusting a silent feed."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from typing import Any


def register(commands: Any) -> None:
    revocations = commands.add_parser(
        "revocations", help="the grant issuer's revocations"
    ).add_subparsers(required=True, metavar="ACTION")
    sync = revocations.add_parser(
        "sync", help="follow the issuer's revocation feed into the denylists"
    )
    sync.add_argument("--follow", action="store_true", help="keep following until stopped")
    sync.add_argument(
        "--settle", type=float, default=3.0, help="one-shot: seconds of stream after catching up"
    )
    sync.add_argument(
        "--stale-after", type=float, default=5.0, help="seconds of silence that make it stale"
    )
    sync.add_argument(
        "--timeout", type=float, default=30.0, help="seconds to wait for the first sync"
    )
    sync.set_defaults(run=_sync)


def _sync(arguments: argparse.Namespace) -> int:
    from vault.bootstrap import get_vault
    from vault.revocations.feed import StoreSink, open_feed

    vault = get_vault()
    settings = vault.settings
    if settings.grantex_base_url is None or settings.grantex_api_key is None:
        raise ValueError("revocations sync needs VAULT_GRANTEX_BASE_URL and VAULT_GRANTEX_API_KEY")
    sink = StoreSink(vault.revocations, vault.state, settings.grant_max_lifetime_seconds)
    feed = open_feed(
        settings.grantex_base_url, settings.grantex_api_key, sink, arguments.stale_after
    )
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    try:
        if not feed.ready(timeout=arguments.timeout):
            print(
                f"error: the revocation feed did not sync ({_why(feed)}); nothing is trusted",
                file=sys.stderr,
            )
            return 1
        print(f"revocation feed synced at cursor {feed.state().cursor}", file=sys.stderr)
        if not arguments.follow:
            stop.wait(arguments.settle)
            return _summary(feed, sink, 0)
        stale_since: float | None = None
        while not stop.wait(0.5):
            if feed.is_fresh():
                stale_since = None
                continue
            stale_since = stale_since or time.monotonic()
            if time.monotonic() - stale_since > arguments.stale_after:
                print(
                    "error: the revocation feed is STALE "
                    f"({_why(feed)}) for over {arguments.stale_after:g} s; exiting",
                    file=sys.stderr,
                )
                return _summary(feed, sink, 1)
        return _summary(feed, sink, 0)
    finally:
        feed.stop()


def _why(feed: Any) -> str:
    return str(feed.state().unavailable or "no answer")


def _summary(feed: Any, sink: Any, code: int) -> int:
    print(
        f"applied {sink.applied} revocation entries; cursor {feed.state().cursor}", file=sys.stderr
    )
    return code
