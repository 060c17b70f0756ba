"""The broker's access rules for hubs and workers, as Mosquitto settings (the README shows them).

A worker's user name at the broker is its worker name. Under these rules a worker may publish
only under ``PREFIX/from/<its name>/`` and read only ``PREFIX/to/<its name>/``; the hub user
reads and writes everything under ``PREFIX/``. The tests run a private Mosquitto with exactly
this text, so what the README shows is what is tested.
"""

from __future__ import annotations

from collections.abc import Sequence

from homelab_hub.remote.config import TOPIC_PREFIX, check_node_name

HUB_USER = "hub"


def mosquitto_acl(prefix: str = "homelab-hub", hub_users: Sequence[str] = (HUB_USER,)) -> str:
    """The text of Mosquitto's ``acl_file`` for hubs and workers under ``prefix``."""
    if not TOPIC_PREFIX.match(prefix):
        raise ValueError(
            f"prefix {prefix!r} must be topic levels of letters, digits, '_' or '-' joined by '/'"
        )
    if not hub_users:
        raise ValueError("at least one hub user is needed")
    lines = [
        f"# homelab-hub: who may use the topics under {prefix}/",
        "# Each worker's user name is its worker name (e.g. garage-pi): it may publish only under",
        f"# {prefix}/from/<its name>/ and read only {prefix}/to/<its name>/.",
        f"pattern write {prefix}/from/%u/#",
        f"pattern read {prefix}/to/%u/#",
        "",
        f"# The hub (every hub sharing this broker) reads and writes all of {prefix}/.",
    ]
    for user in hub_users:
        check_node_name(user, "hub user")
        lines += [f"user {user}", f"topic readwrite {prefix}/#"]
    return "\n".join(lines) + "\n"


def mosquitto_security(password_file: str, acl_file: str) -> str:
    """The lines of ``mosquitto.conf`` that go with the acl_file: no anonymous clients, a
    password per hub and worker, and queues deep enough for a hub that is away for a while."""
    return (
        "\n".join(
            [
                "allow_anonymous false",
                f"password_file {password_file}",
                f"acl_file {acl_file}",
                "# a hub that is down keeps its session: alerts queue for it until it is back",
                "max_queued_messages 10000",
                "max_inflight_messages 20",
            ]
        )
        + "\n"
    )
