"""The baseline: a bare functions-framework function, served exactly like the vault.

``functions-framework --target bare --source bench/bare.py``
"""

import functions_framework


@functions_framework.http  # type: ignore[untyped-decorator]
def bare(request: object) -> str:
    return "ok"
