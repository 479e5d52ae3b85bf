"""``mitigate secrets set|delete|list``: manage integration credentials in the OS keyring.

``set`` reads the value from the terminal without echo (or from stdin when piped), so it never
lands in shell history. ``list`` shows names and where each would be read from, never values.
keyring is imported inside the handlers (through integrations.secrets): the core stays free of it.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("secrets", help="store integration secrets in the OS keyring",
                              description="Secrets live in the OS keyring (service 'mitigate'); the environment "
                              "variable MITIGATE_SECRET_<NAME> overrides a stored value.")
    sub = p.add_subparsers(dest="secrets_command", metavar="ACTION", required=True,
                           parser_class=type(p))
    s = sub.add_parser("set", help="store a secret (value read without echo, or from stdin)")
    s.add_argument("name")
    s.set_defaults(handler=_set)
    d = sub.add_parser("delete", help="remove a secret from the keyring")
    d.add_argument("name")
    d.set_defaults(handler=_delete)
    ls = sub.add_parser("list", help="secret names (stored, or named by the config) and their source")
    ls.set_defaults(handler=_list)


def _set(args: argparse.Namespace) -> int:
    from integrations.secrets import SecretError, check_name, plaintext_backend, set_secret

    check_name(args.name)
    if sys.stdin.isatty():
        value = getpass.getpass(f"value for {args.name}: ")
    else:
        value = sys.stdin.readline().rstrip("\r\n")
    if not value:
        raise SecretError(f"no value given for secret {args.name!r}")
    set_secret(args.name, value)
    print(f"stored secret {args.name!r} in the keyring")
    plain = plaintext_backend()
    if plain:
        print(f"mitigate: warning: the active keyring {plain} stores secrets in PLAINTEXT: anything that "
              "can read your home directory can read it; install a real keyring backend "
              "(or use MITIGATE_SECRET_<NAME>)", file=sys.stderr)
    return 0


def _delete(args: argparse.Namespace) -> int:
    from integrations.secrets import delete_secret

    delete_secret(args.name)
    print(f"deleted secret {args.name!r} from the keyring")
    return 0


def _list(args: argparse.Namespace) -> int:
    from integrations.config import load_config
    from integrations.secrets import env_var, list_secrets

    statuses = list_secrets(load_config().secret_names())
    if not statuses:
        print("no secrets stored or referenced by the config")
        return 0
    width = max(len(s.name) for s in statuses)
    for s in statuses:
        print(f"{s.name:<{width}}  {s.source:<19}  {env_var(s.name)}")
    return 0
