"""The Firestore emulator for the test session: vault/devstack's (which ``make run-gcp``
uses too), with its output written to a log file of the session's."""

from __future__ import annotations

from pathlib import Path

from vault.devstack import firestore_emulator as _devstack
from vault.devstack.firestore_emulator import KNOWN_LOCATIONS, find_emulator, free_port

__all__ = ["KNOWN_LOCATIONS", "FirestoreEmulator", "find_emulator", "free_port"]


class FirestoreEmulator(_devstack.FirestoreEmulator):
    def __init__(self, executable: str, log_path: Path) -> None:
        self._log_file = log_path.open("wb")
        super().__init__(executable, self._log_file)

    def stop(self) -> None:
        super().stop()
        self._log_file.close()
