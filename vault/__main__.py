"""The command line: ``python -m vault serve | keys ...``.

Output meant for scripts (a new key) goes alone to stdout; everything else to stderr.
Both backends, same Settings as the server.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from vault import cli_inspect, serve
from vault.errors import ConfigurationError, VaultError
from vault.keys import commands as key_rotation
from vault.timefmt import format_micros


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    arguments = parser.parse_args(argv)
    try:
        return int(arguments.run(arguments))
    except ConfigurationError as error:  # one line naming the setting, no traceback
        print(f"error: {error.message}", file=sys.stderr)
        return 2
    except VaultError as error:
        print(f"error: {error.message}", file=sys.stderr)
        return 1
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m vault", description=__doc__)
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    serve.register(commands)
    cli_inspect.register(commands)

    keys = commands.add_parser("keys", help="developer API keys").add_subparsers(
        required=True, metavar="ACTION"
    )
    create = keys.add_parser("create", help="create a key; prints it once, alone on stdout")
    create.add_argument("--developer", required=True, help="the developer id it belongs to")
    create.add_argument("--name", default="", help="a label for humans")
    create.set_defaults(run=_keys_create)
    listing = keys.add_parser("list", help="list keys (ids and labels, never secrets)")
    listing.add_argument("--developer", help="only this developer's keys")
    listing.set_defaults(run=_keys_list)
    revoke = keys.add_parser("revoke", help="revoke a key by its id")
    revoke.add_argument("key_id")
    revoke.set_defaults(run=_keys_revoke)
    key_rotation.register(commands, keys)

    grants = commands.add_parser("grants", help="grant tokens").add_subparsers(
        required=True, metavar="ACTION"
    )
    mint = grants.add_parser(
        "mint",
        help="local backend only: sign a development grant token (stdout; its jti and "
        "grant id on stderr)",
        description="Sign a development grant token, e.g. for the exchange of a github "
        "credential: --service github (the scope vault:github:exchange).",
    )
    mint.add_argument("--developer", required=True)
    mint.add_argument("--principal", required=True)
    mint.add_argument(
        "--service",
        action="append",
        default=[],
        help="grant the exchange scope vault:<service>:exchange; repeatable",
    )
    mint.add_argument(
        "--scope",
        action="append",
        default=[],
        help="a scope as written, e.g. vault:github:exchange (older forms such as "
        "github:read need VAULT_EXCHANGE_SCOPES=legacy); repeatable",
    )
    mint.add_argument("--ttl", type=int, default=3600, help="seconds (default 3600)")
    mint.add_argument("--grant", help="the grant id (grnt claim); random by default")
    mint.set_defaults(run=_grants_mint)
    deny = grants.add_parser("revoke", help="refuse a grant, or one grant token, from now on")
    target = deny.add_mutually_exclusive_group(required=True)
    target.add_argument("--grant", help="a grant id (the grnt claim)")
    target.add_argument(
        "--token",
        help="a grant token id (the jti claim), or the whole grant token (its jti is "
        "revoked); '-' reads it from stdin, out of the shell history",
    )
    deny.set_defaults(run=_grants_revoke)

    from vault.revocations import cli as revocations_cli

    revocations_cli.register(commands)
    from vault.oauth import cli as refresh_due_cli

    refresh_due_cli.register(commands)
    return parser


def _keys_create(arguments: argparse.Namespace) -> int:
    from vault.bootstrap import get_vault

    api_key, record = get_vault().keys.create(arguments.developer, arguments.name)
    print(
        f"created {record.key_id} for developer {record.developer_id}; "
        "the key is shown once, below:",
        file=sys.stderr,
    )
    print(api_key)
    return 0


def _keys_list(arguments: argparse.Namespace) -> int:
    from vault.bootstrap import get_vault

    for record in get_vault().keys.list(arguments.developer):
        print(
            json.dumps(
                {
                    "keyId": record.key_id,
                    "developerId": record.developer_id,
                    "name": record.name,
                    "createdAt": format_micros(record.created_at),
                    "revokedAt": None
                    if record.revoked_at is None
                    else format_micros(record.revoked_at),
                }
            )
        )
    return 0


def _keys_revoke(arguments: argparse.Namespace) -> int:
    from vault.bootstrap import get_vault

    if get_vault().keys.revoke(arguments.key_id):
        print(f"revoked {arguments.key_id}", file=sys.stderr)
        return 0
    print(f"no active key {arguments.key_id}", file=sys.stderr)
    return 1


def _grants_mint(arguments: argparse.Namespace) -> int:
    from vault.bootstrap import local_dev_issuer
    from vault.config import Settings
    from vault.grants import exchange_scope
    from vault.grants.unverified import unverified_claims
    from vault.models import SERVICE_PATTERN

    if arguments.ttl <= 0:
        raise ValueError("--ttl must be a positive number of seconds")
    for service in arguments.service:
        if not SERVICE_PATTERN.fullmatch(service):
            raise ValueError(f"--service {service!r} is not a service name")
    scopes = [exchange_scope(service.lower()) for service in arguments.service]
    scopes += arguments.scope
    if not scopes:
        raise ValueError("give --service S (the scope vault:S:exchange) or --scope")
    settings = Settings.from_env()
    if arguments.ttl > settings.grant_max_lifetime_seconds:
        raise ValueError(
            "--ttl may not exceed VAULT_GRANT_MAX_LIFETIME_SECONDS"
            f" ({settings.grant_max_lifetime_seconds}): the vault would refuse the token"
        )
    issuer = local_dev_issuer(settings)
    token = issuer.mint(
        arguments.developer,
        arguments.principal,
        scopes,
        ttl_seconds=arguments.ttl,
        grant_id=arguments.grant,
    )
    claims = unverified_claims(token)
    print(
        f"minted token {claims['jti']} of grant {claims['grnt']} "
        f"(scopes: {' '.join(scopes)}); the token is below:",
        file=sys.stderr,
    )
    print(token)
    return 0


_FROM_STDIN = "-"


def _grants_revoke(arguments: argparse.Namespace) -> int:
    from vault.bootstrap import get_vault
    from vault.grants.unverified import token_id

    if arguments.grant:
        kind, identifier = "grant", arguments.grant
    else:
        given = arguments.token
        if given == _FROM_STDIN:
            given = sys.stdin.readline()
        kind, identifier = "token", token_id(given.strip())
    get_vault().exchange.revoke(kind, identifier)
    print(f"revoked {kind} {identifier}; effective on the next exchange", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
