"""The network lab itself (namespaces, veth links that are really cut) and the broker's ACL, with
the project's BrokerLink on both sides: a worker in its own namespace, the hub in the root one."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass

import pytest

from homelab_hub.remote.acl import mosquitto_acl
from homelab_hub.remote.wire import Topics
from tests.remote.netlab import NetLab, Node, PrivateMosquitto, Tap, _ip_json, _netns_pids
from tests.support import REPO_ROOT, wait_until

PREFIX = "homelab-hub"
T = Topics(PREFIX)
OFFLINE = b'{"online":false}'


def _namespaces() -> set[str]:
    return {e["name"] for e in _ip_json("netns", "list")}


def _links() -> set[str]:
    return {e["ifname"] for e in _ip_json("link", "show")}


def _routes() -> set[str]:
    return {r.get("dst", "") for r in _ip_json("-4", "route", "show", "table", "main")}


# -- the lab ------------------------------------------------------------------------------------


def test_nodes_get_their_own_namespace_addresses_and_loopback(netlab: NetLab):
    a, b = netlab.add("a"), netlab.add("b")
    assert a.ns != b.ns and a.network != b.network
    assert {a.ns, b.ns} <= _namespaces()
    assert a.root_if in _links() and a.ns_if not in _links()  # the inside end is inside

    code = "import socket, json; print(json.dumps([n for _, n in socket.if_nameindex()]))"
    inside = json.loads(netlab.run(a, [sys.executable, "-c", code]).stdout)
    assert sorted(inside) == sorted(["lo", a.ns_if])
    # loopback is up inside: a listener on 127.0.0.1 there is reachable there
    loop = "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(); socket.create_connection(s.getsockname(), timeout=2)"
    assert netlab.run(a, [sys.executable, "-c", loop]).returncode == 0

    with socket.socket() as listener:
        listener.bind((a.root_ip, 0))
        listener.listen()
        port = listener.getsockname()[1]
        assert netlab.can_connect(a, a.root_ip, port)
        assert netlab.can_connect(b, a.root_ip, port)  # via its default route into the root namespace
    with socket.socket() as loopback:  # the root namespace's loopback is not reachable from inside
        loopback.bind(("127.0.0.1", 0))
        loopback.listen()
        assert not netlab.can_connect(a, "127.0.0.1", loopback.getsockname()[1], timeout=0.5)

    # and the root namespace reaches a server inside at its ns_ip (a hub in a namespace of its own)
    server = netlab.popen(
        a,
        [
            sys.executable,
            "-c",
            "import socket, sys; s = socket.socket(); s.bind((sys.argv[1], 0)); s.listen();"
            "print(s.getsockname()[1], flush=True); s.accept()[0].sendall(b'inside')",
            a.ns_ip,
        ],
        stdout=subprocess.PIPE,
    )
    assert server.stdout is not None
    port = int(server.stdout.readline())
    with socket.create_connection((a.ns_ip, port), timeout=5) as conn:
        assert conn.recv(16) == b"inside"
    server.stdout.close()

    netlab.close()
    assert not {a.ns, b.ns} & _namespaces()
    assert not {a.root_if, b.root_if} & _links()
    assert not {str(a.network), str(b.network)} & _routes()


def test_cut_really_cuts_the_link_and_restore_brings_it_back(netlab: NetLab):
    node = netlab.add("garage-pi")
    with socket.socket() as listener:
        listener.bind((node.root_ip, 0))
        listener.listen(8)
        port = listener.getsockname()[1]
        assert netlab.can_connect(node, node.root_ip, port)
        netlab.cut(node)
        assert not netlab.can_connect(node, node.root_ip, port, timeout=1.0)
        netlab.restore(node)
        assert netlab.can_connect(node, node.root_ip, port)


def test_popen_runs_inside_takes_argv_lists_only_and_kill_ends_it(netlab: NetLab):
    node = netlab.add("garage-pi")
    with pytest.raises(TypeError):
        netlab.popen(node, "sleep 30")  # type: ignore[arg-type]
    proc = netlab.popen(
        node,
        [
            sys.executable,
            "-c",
            "import os, socket, time; print(os.environ['WHO'], socket.if_nameindex(), flush=True); time.sleep(60)",
        ],
        env={"WHO": "worker"},
    )
    wait_until(lambda: node.ns_if in netlab.output(proc), 15, "the process inside to print its interfaces")
    assert netlab.output(proc).startswith("worker ")
    assert proc.pid in _netns_pids(node.ns)  # ip netns exec execs: the Popen's pid is the process
    assert netlab.kill(proc) == -signal.SIGKILL


def test_a_crashed_runs_namespace_and_processes_are_removed_by_the_next_lab(netlab: NetLab, tmp_path):
    crash = (
        "import sys, pathlib; from tests.remote.netlab import NetLab\n"
        "lab = NetLab(pathlib.Path(sys.argv[1]))\n"
        "node = lab.add('left-behind')\n"
        "p = lab.popen(node, ['sleep', '600'])\n"
        "print(node.ns, node.root_if, node.network, p.pid, flush=True)\n"
        "sys.stdin.read()\n"
    )
    run = subprocess.Popen(
        [sys.executable, "-c", crash, str(tmp_path / "crashed")],
        cwd=REPO_ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert run.stdout is not None
        ns, root_if, network, sleeper = run.stdout.readline().split()
        assert ns in _namespaces()
    finally:
        run.kill()  # no clean-up of its own
        run.communicate()
    assert ns in _namespaces()

    with NetLab(tmp_path / "next") as later:
        assert ns in later.stale_removed
    assert ns not in _namespaces()
    assert root_if not in _links()
    assert network not in _routes()
    wait_until(lambda: _ended(int(sleeper)), 10, "its process inside to be killed")


def _ended(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"  # killed, not yet reaped by init
    except FileNotFoundError:
        return True


# -- the broker's ACL, with BrokerLink on both sides ------------------------------------------------


@dataclass
class Lab:
    netlab: NetLab
    node: Node
    broker: PrivateMosquitto
    hub: Tap  # the hub's side: user hub in the root namespace, everything under the prefix


@pytest.fixture
def lab(netlab, private_mosquitto, broker_tap) -> Lab:
    node = netlab.add("garage-pi")
    broker = private_mosquitto(["hub", "garage-pi", "other-pi"], nodes=[node])
    return Lab(netlab, node, broker, broker_tap(broker.config("hub")))


def _worker(lab: Lab, ns_link, **overrides):
    config = lab.broker.config("garage-pi", host=lab.node.root_ip, keepalive_s=2, **overrides)
    return ns_link(lab.node, config, will=(T.state("garage-pi"), OFFLINE))


def test_the_broker_runs_the_readme_acl_without_anonymous_clients(lab: Lab):
    assert lab.broker.acl_file.read_text() == mosquitto_acl(PREFIX)
    conf = lab.broker.conf_path.read_text()
    assert "allow_anonymous false" in conf and "max_queued_messages 10000" in conf
    assert f"listener {lab.broker.port} {lab.node.root_ip}" in conf
    assert "pattern write homelab-hub/from/%u/#" in mosquitto_acl(PREFIX)
    assert "pattern read homelab-hub/to/%u/#" in mosquitto_acl(PREFIX)
    with pytest.raises(ValueError, match="prefix"):
        mosquitto_acl("homelab-hub/#")


def test_a_worker_publishes_under_its_own_name_and_the_hub_receives_it(lab: Lab, ns_link):
    worker = _worker(lab, ns_link)
    worker.wait_connected()
    reply = worker.publish_acked(f"{PREFIX}/from/garage-pi/x", "hello from the garage")
    assert reply["ok"], reply
    message = lab.hub.wait_topic(f"{PREFIX}/from/garage-pi/x")
    assert message.payload == b"hello from the garage"


def test_a_worker_may_publish_nowhere_else_and_the_broker_says_so(lab: Lab, ns_link):
    worker = _worker(lab, ns_link)
    worker.wait_connected()
    forbidden = [
        f"{PREFIX}/from/other-pi/x",  # another worker's name
        f"{PREFIX}/to/garage-pi/config",  # its own commands: the hub's to write
        f"{PREFIX}/hub/memory",  # the hubs' own
        "elsewhere/x",  # outside the prefix
    ]
    for topic in forbidden:
        reply = worker.publish_acked(topic, "not mine")
        assert reply["ok"] is False, topic
        assert "the broker refused a message on" in reply["last_error"] and topic in reply["last_error"]
        assert "Not authorized" in reply["last_error"]
    assert worker.status()["refused_publishes"] == len(forbidden)
    # a message sent after them arrives: had they gone through, they would have arrived first
    assert worker.publish_acked(f"{PREFIX}/from/garage-pi/marker", "after")["ok"]
    lab.hub.wait_topic(f"{PREFIX}/from/garage-pi/marker")
    assert [m.topic for m in lab.hub.messages] == [f"{PREFIX}/from/garage-pi/marker"]
    assert worker.status()["connected"]  # refused publishes do not cost it its connection


def test_a_worker_reads_only_its_own_commands(lab: Lab, ns_link):
    worker = _worker(lab, ns_link)
    worker.wait_connected()
    for topic_filter in (
        f"{PREFIX}/to/other-pi/#",
        f"{PREFIX}/from/#",
        f"{PREFIX}/hub/#",
        f"{PREFIX}/to/garage-pi/#",
    ):
        worker.subscribe(topic_filter)
    for topic in (f"{PREFIX}/to/other-pi/config", f"{PREFIX}/from/other-pi/state", f"{PREFIX}/hub/memory"):
        assert lab.hub.link.publish_acked(topic, b"not for garage-pi")
    assert lab.hub.link.publish_acked(f"{PREFIX}/to/garage-pi/config", b"yours")
    assert worker.wait_message(f"{PREFIX}/to/garage-pi/config")["payload"] == b"yours"
    assert [m["topic"] for m in worker.messages()] == [f"{PREFIX}/to/garage-pi/config"]


def test_wrong_credentials_are_refused_at_connect_and_said_in_words(lab: Lab, ns_link):
    worker = _worker(lab, ns_link, password="not-the-password")
    error = wait_until(lambda: worker.status()["last_error"], 15, "the refusal")
    assert "refused" in error and "garage-pi" in error
    assert "password" in error and "password_file" in error
    anonymous = ns_link(
        lab.node, lab.broker.config("garage-pi", host=lab.node.root_ip, username=None, password=None)
    )
    assert "password_file" in wait_until(lambda: anonymous.status()["last_error"], 15, "the refusal")
    assert not any(e["event"] == "connected" for e in worker.events + anonymous.events)


def test_a_cut_link_drops_the_worker_the_hub_gets_its_will_and_it_reconnects_by_itself(
    lab: Lab, ns_link, broker_tap
):
    worker = _worker(lab, ns_link)
    worker.wait_connected()
    assert worker.publish_acked(T.state("garage-pi"), '{"online":true}', retain=True)["ok"]
    lab.hub.wait_topic(T.state("garage-pi"), b'{"online":true}')

    seen = len(worker.events)
    lab.netlab.cut(lab.node)
    lost = worker.wait_disconnected(after=seen, timeout=20)  # paho: no PINGRESP within the keepalive
    assert "lost the broker" in lost["last_error"]
    lab.hub.wait_topic(T.state("garage-pi"), OFFLINE, timeout=20)  # the broker: 1.5x keepalive silent
    late = broker_tap(lab.broker.config("hub"), [T.state("garage-pi")])  # the will is retained
    retained = late.wait_topic(T.state("garage-pi"))
    assert retained.payload == OFFLINE and retained.retain

    seen = len(worker.events)
    lab.netlab.restore(lab.node)
    worker.wait_connected(after=seen, timeout=30)
    assert worker.publish_acked(T.state("garage-pi"), '{"online":true,"again":1}', retain=True)["ok"]
    lab.hub.wait_topic(T.state("garage-pi"), b'{"online":true,"again":1}')


def test_a_worker_that_cannot_reach_the_broker_says_so_and_connects_once_the_link_is_back(lab: Lab, ns_link):
    lab.netlab.cut(lab.node)
    worker = _worker(lab, ns_link)
    error = wait_until(lambda: worker.status()["last_error"], 20, "the link to say it cannot connect")
    assert error.startswith(f"cannot reach the broker {lab.node.root_ip}:{lab.broker.port}")
    lab.netlab.restore(lab.node)
    worker.wait_connected(timeout=30)
    assert worker.status()["last_error"] == ""


def test_a_hub_that_is_away_finds_more_than_a_thousand_messages_queued_in_order(lab: Lab, broker_tap):
    # Mosquitto's default max_queued_messages is 1000: the README's settings keep 10000
    alerts = T.alert("garage-pi")
    away = broker_tap(lab.broker.config("hub"), [alerts], client_id="homelab-hub-hub", persistent=True)
    away.close()
    worker = broker_tap(lab.broker.config("garage-pi"), [])
    count = 1200
    for i in range(count - 1):
        assert worker.link.publish(alerts, str(i).encode(), qos=1)
    assert worker.link.publish_acked(alerts, str(count - 1).encode())
    back = broker_tap(lab.broker.config("hub"), [alerts], client_id="homelab-hub-hub", persistent=True)
    wait_until(lambda: len(back.on_topic(alerts)) >= count, 30, f"{count} queued messages")
    assert [int(m.payload) for m in back.on_topic(alerts)] == list(range(count))
