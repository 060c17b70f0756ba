"""Change notices between hubs that share one database, over the lab's broker.

Hubs on one MySQL follow each other's writes by reading the table's change number
(``memory.sync_poll_s``). With a broker, every change this hub commits (save, update, delete,
import) is also announced on ``PREFIX/hub/memory`` as ``{"hub": NAME, "seq": N}`` (QoS 0, not
retained): another hub's follower wakes at once and reads the table, and while its link is up
it polls only every ``memory.sync_poll_connected_s``, which catches a notice that got lost.

A notice is a hint, never the data: the table stays the truth, and a hub that misses every
notice still follows by polling. A writer without a broker link (a ``homelab-hub memory
import`` of its own) is found the same way.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from homelab_hub.remote.wire import Topics, WireError, dump_json, load_json

if TYPE_CHECKING:
    from homelab_hub.memory.service import MemoryService
    from homelab_hub.remote.link import BrokerLink, Message

log = logging.getLogger(__name__)


class ChangeNotices:
    """Tells other hubs about this hub's memory changes and wakes this hub's follower on
    theirs. `start` hooks it to the store (after each commit) and subscribes."""

    def __init__(self, link: BrokerLink, service: MemoryService) -> None:
        self.link = link
        self.service = service
        self.hub = link.config.name
        self.topic = Topics(link.config.prefix).memory
        self.sent = 0
        self.heard = 0  # other hubs' notices of changes not yet followed here

    def start(self) -> None:
        self.service.notices = self
        self.service.store.on_change = self.changed
        self.link.subscribe(self.topic, self._on_notice, qos=0)

    def changed(self, seq: int) -> None:
        """A change of this hub's committed: say so. Runs on the writer's thread after its
        commit; queues the message for paho's thread, never waits for the broker, never raises
        (a notice not sent only delays the others until their next poll)."""
        try:
            if self.link.publish(self.topic, dump_json({"hub": self.hub, "seq": seq}), qos=0):
                self.sent += 1
        except Exception as exc:
            log.debug("memory change notice %d not sent: %s", seq, exc)

    def _on_notice(self, message: Message) -> None:
        """On paho's thread: only sets an Event; the follower does the reading."""
        try:
            notice = load_json(message.payload)
        except WireError as exc:
            log.debug("ignored a memory change notice on %s: %s", message.topic, exc)
            return
        if notice.get("hub") == self.hub:  # our own, back from the broker
            return
        seq = notice.get("seq")
        if isinstance(seq, int) and not isinstance(seq, bool) and seq <= self.service.seen_seq:
            return  # already followed (by a poll)
        self.heard += 1
        self.service.nudged.set()
