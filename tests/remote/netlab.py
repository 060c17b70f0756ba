"""Real network boundaries for the remote tests: network namespaces joined to the root namespace
by veth links that can be cut, a private Mosquitto with the README's ACL, and MQTT clients on
either side.

`NetLab` (root and `ip` needed)::

    lab = NetLab(workdir)
    node = lab.add("garage-pi")       # namespace hh<pid>n<k>, a veth pair into the root namespace
    node.root_ip, node.ns_ip          # 10.213.K.1 (root side) / 10.213.K.2 (inside)
    proc = lab.popen(node, [sys.executable, "-m", "..."], env={"X": "1"})   # runs inside
    lab.cut(node)                     # the root-side veth down: packets are dropped, nothing said
    lab.restore(node)                 # up again; returns once a TCP connect from inside works
    lab.terminate(proc); lab.kill(proc)
    lab.close()                       # every process, namespace, veth and route it made

Inside a namespace the default route is the root side, so a process there reaches every
address of the root namespace (a broker listening on any node's ``root_ip``), but not other
namespaces and not 127.0.0.1 of the root. A namespace left behind by a run that crashed (its
owner's lock in /run/homelab-hub-netlab is free) is removed, with its processes, by the next
`NetLab`.

`PrivateMosquitto` is a broker of the test's own (never the machine's on 1883) with
``allow_anonymous false``, a password per user and `homelab_hub.remote.acl`'s acl_file.
`NsLink` is a `BrokerLink` in a process inside a namespace (tests/remote/nsclient.py), driven
over its stdin/stdout; `Tap` is one in the test process (the root namespace).
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import fcntl
import ipaddress
import itertools
import json
import os
import queue
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from homelab_hub.remote.acl import HUB_USER, mosquitto_acl, mosquitto_security
from homelab_hub.remote.config import BrokerConfig
from homelab_hub.remote.link import BrokerLink, Message
from tests.support import REPO_ROOT, free_port, port_open

NET = ipaddress.IPv4Network("10.213.0.0/16")
STATE_DIR = Path("/run/homelab-hub-netlab")
_NS_NAME = re.compile(r"^hh(\d+)n(\d+)$")
_ROOT_IF = re.compile(r"^hh(\d+)n(\d+)r$")
_BLACKHOLE_METRIC = 4000  # below the connected route; it only counts while the veth is down
_counter = itertools.count()
_owner: dict[int, int] = {}  # pid -> fd of its held owner lock


def ip_binary() -> str | None:
    return shutil.which("ip") or next((p for p in ("/usr/sbin/ip", "/sbin/ip") if os.path.exists(p)), None)


def mosquitto_binary() -> str | None:
    return "/usr/sbin/mosquitto" if os.path.exists("/usr/sbin/mosquitto") else shutil.which("mosquitto")


def netlab_missing() -> str | None:
    """Why NetLab cannot run here, or None."""
    if not sys.platform.startswith("linux"):
        return "network namespaces need Linux"
    if os.geteuid() != 0:
        return "network namespaces need root (run the remote tests as root, as CI does)"
    if ip_binary() is None:
        return "the `ip` command (iproute2) is not installed"
    return None


def mosquitto_missing() -> str | None:
    """Why PrivateMosquitto cannot run here, or None."""
    if mosquitto_binary() is None:
        return "mosquitto is not installed (/usr/sbin/mosquitto)"
    if shutil.which("mosquitto_passwd") is None:
        return "mosquitto_passwd is not installed (package mosquitto)"
    return None


def _run(
    argv: Sequence[str], *, input: str | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(list(argv), input=input, capture_output=True, text=True, timeout=30)
    if check and done.returncode != 0:
        raise RuntimeError(
            f"{' '.join(argv)} failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}"
        )
    return done


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    ip = ip_binary()
    assert ip, "no ip binary"
    return _run([ip, *args], check=check)


def _ip_json(*args: str) -> list[dict[str, Any]]:
    out = _ip("-j", *args).stdout.strip()
    return json.loads(out) if out else []


def _ip_batch(commands: list[str], netns: str | None = None) -> None:
    ip = ip_binary()
    assert ip
    argv = [ip, *(["-n", netns] if netns else []), "-batch", "-"]
    _run(argv, input="\n".join(commands) + "\n")


@contextlib.contextmanager
def _global_lock() -> Iterator[None]:
    """Serialises address allocation and stale clean-up between test processes."""
    STATE_DIR.mkdir(mode=0o700, exist_ok=True)
    fd = os.open(STATE_DIR / "alloc.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _hold_owner_lock() -> None:
    """Held for this process's whole life: while it is held, our namespaces are not stale."""
    pid = os.getpid()
    if pid in _owner:
        return
    STATE_DIR.mkdir(mode=0o700, exist_ok=True)
    fd = os.open(STATE_DIR / f"{pid}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    _owner[pid] = fd
    atexit.register(_release_owner_lock, pid)


def _release_owner_lock(pid: int) -> None:
    if os.getpid() == pid and pid in _owner:
        (STATE_DIR / f"{pid}.lock").unlink(missing_ok=True)
        os.close(_owner.pop(pid))


def _owner_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    path = STATE_DIR / f"{pid}.lock"
    try:
        fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
    except FileNotFoundError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        path.unlink(missing_ok=True)  # its owner is gone (the pid may have been reused since)
        return False
    finally:
        os.close(fd)


def _netns_pids(ns: str) -> list[int]:
    done = _ip("netns", "pids", ns, check=False)
    return [int(p) for p in done.stdout.split() if p.isdigit()]


def _kill_pids(pids: Iterable[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _delete_namespace(ns: str) -> None:
    for _ in range(50):
        pids = _netns_pids(ns)
        if not pids:
            break
        _kill_pids(pids)
        time.sleep(0.02)
    _ip("netns", "del", ns, check=False)


def _remove_stale() -> list[str]:
    """Namespaces, veths and routes of NetLabs whose process is gone. Under _global_lock."""
    removed: list[str] = []
    for entry in _ip_json("netns", "list"):
        name = entry.get("name", "")
        m = _NS_NAME.match(name)
        if m and not _owner_alive(int(m.group(1))):
            _delete_namespace(name)
            removed.append(name)
    for link in _ip_json("link", "show"):
        name = link.get("ifname", "")
        m = _ROOT_IF.match(name)
        if m and not _owner_alive(int(m.group(1))):
            _ip("link", "del", name, check=False)
            removed.append(name)
    for lock in STATE_DIR.glob("*.lock"):  # owners that left nothing behind
        if lock.stem.isdigit():
            _owner_alive(int(lock.stem))
    assigned = _assigned_networks()
    for route in _ip_json("-4", "route", "show", "table", "main", "type", "blackhole"):
        dst = route.get("dst", "")
        if route.get("metric") != _BLACKHOLE_METRIC or "/" not in dst:
            continue
        net = ipaddress.IPv4Network(dst, strict=False)
        if net.subnet_of(NET) and net not in assigned:
            _ip("route", "del", "blackhole", dst, "metric", str(_BLACKHOLE_METRIC), check=False)
            removed.append(dst)
    return removed


def _assigned_networks() -> set[ipaddress.IPv4Network]:
    nets: set[ipaddress.IPv4Network] = set()
    for link in _ip_json("-4", "addr", "show"):
        for info in link.get("addr_info", []):
            if info.get("family") == "inet":
                nets.add(ipaddress.IPv4Network(f"{info['local']}/{info['prefixlen']}", strict=False))
    return nets


def _used_networks() -> list[ipaddress.IPv4Network]:
    used = list(_assigned_networks())
    for route in _ip_json("-4", "route", "show", "table", "all"):
        dst = route.get("dst", "")
        if dst in ("", "default"):
            continue
        with contextlib.suppress(ValueError):
            used.append(ipaddress.IPv4Network(dst if "/" in dst else f"{dst}/32", strict=False))
    return used


def _tcp_check_argv(host: str, port: int, timeout: float) -> list[str]:
    code = "import socket,sys\nsocket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=float(sys.argv[3])).close()"
    return [sys.executable, "-I", "-S", "-c", code, host, str(port), str(timeout)]


@dataclass
class Node:
    """One network namespace and its veth link into the root namespace."""

    name: str  # the test's name for it ("garage-pi")
    ns: str  # the namespace (hh<pid>n<k>)
    root_if: str  # the veth end in the root namespace (cut/restore act on it)
    ns_if: str  # the veth end inside
    root_ip: str  # the root side's address: how processes inside reach the root namespace
    ns_ip: str  # the address inside
    network: ipaddress.IPv4Network
    cut: bool = False
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)


class NetLab:
    def __init__(self, workdir: Path) -> None:
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.nodes: list[Node] = []
        self._procs: list[subprocess.Popen[bytes]] = []
        self._logs: dict[int, Path] = {}
        self._files: list[IO[bytes]] = []
        self._closed = False
        _hold_owner_lock()
        with _global_lock():
            self.stale_removed = _remove_stale()

    # -- namespaces ---------------------------------------------------------------------------
    def add(self, name: str) -> Node:
        """A new namespace with loopback up and a veth link to the root namespace."""
        if self._closed:
            raise RuntimeError("this NetLab is closed")
        ns = f"hh{os.getpid()}n{next(_counter)}"
        root_if, ns_if = f"{ns}r", f"{ns}i"
        with _global_lock():
            used = _used_networks()
            net = next(
                (
                    n
                    for n in NET.subnets(new_prefix=24)
                    if not any(n.overlaps(u) for u in used if u.prefixlen > 0)
                ),
                None,
            )
            if net is None:
                raise RuntimeError(f"no free /24 left in {NET} for a test namespace")
            hosts = list(itertools.islice(net.hosts(), 2))
            root_ip, ns_ip = str(hosts[0]), str(hosts[1])
            node = Node(name, ns, root_if, ns_if, root_ip, ns_ip, net)
            _ip("netns", "add", ns)
            self.nodes.append(node)  # from here on close() removes it, whatever fails next
            _ip_batch(
                [
                    f"link add {root_if} type veth peer name {ns_if}",
                    f"link set {ns_if} netns {ns}",
                    f"addr add {root_ip}/{net.prefixlen} dev {root_if}",
                    f"link set {root_if} up",
                    # while the veth is down, answers to the namespace are dropped here instead
                    # of leaving by the default route
                    f"route add blackhole {net} metric {_BLACKHOLE_METRIC}",
                ]
            )
            _ip_batch(
                [
                    "link set lo up",
                    f"addr add {ns_ip}/{net.prefixlen} dev {ns_if}",
                    f"link set {ns_if} up",
                    f"route add default via {root_ip}",
                ],
                netns=ns,
            )
        return node

    def cut(self, node: Node) -> None:
        """Cut the link: the root-side veth goes down, packets either way are dropped silently."""
        _ip("link", "set", node.root_if, "down")
        node.cut = True

    def restore(self, node: Node, timeout: float = 10.0) -> None:
        """Bring the link back; returns once a TCP connect from inside to the root side works."""
        _ip("link", "set", node.root_if, "up")
        node.cut = False
        with socket.socket() as listener:
            listener.bind((node.root_ip, 0))
            listener.listen(8)
            port = listener.getsockname()[1]
            deadline = time.monotonic() + timeout
            while True:
                if self.can_connect(node, node.root_ip, port, timeout=1.0):
                    return
                if time.monotonic() > deadline:
                    raise AssertionError(
                        f"{node.name}: no TCP connection to {node.root_ip} {timeout}s after restore"
                    )
                time.sleep(0.05)

    def can_connect(self, node: Node, host: str, port: int, timeout: float = 1.0) -> bool:
        """Whether a TCP connection from inside the namespace to host:port succeeds."""
        done = subprocess.run(
            self._in_ns(node, _tcp_check_argv(host, port, timeout)), capture_output=True, timeout=timeout + 10
        )
        return done.returncode == 0

    # -- processes ----------------------------------------------------------------------------
    def _in_ns(self, node: Node, argv: Sequence[str]) -> list[str]:
        if isinstance(argv, (str, bytes)) or not all(isinstance(a, (str, os.PathLike)) for a in argv):
            raise TypeError("argv must be a list of strings (no shell strings)")
        ip = ip_binary()
        assert ip
        return [ip, "netns", "exec", node.ns, *(os.fspath(a) for a in argv)]

    def popen(
        self, node: Node, argv: Sequence[str], *, env: Mapping[str, str] | None = None, **kw: Any
    ) -> subprocess.Popen[bytes]:
        """Start argv inside the namespace (`ip netns exec`; the Popen's pid is the process's).
        ``env`` is added to this process's environment; the working directory is the repository
        root unless ``cwd`` is given. stdout and stderr, unless given, go to a log file
        (`output(proc)` reads it). The process leads its own process
        group; close() ends it (SIGTERM, then SIGKILL)."""
        full_env = {**os.environ, **(env or {})}
        kw.setdefault("cwd", REPO_ROOT)
        log_path: Path | None = None
        if "stdout" not in kw or "stderr" not in kw:
            log_path = self.workdir / f"{node.name}-{len(self._procs)}.log"
            log_file = open(log_path, "ab")  # closed in close()
            self._files.append(log_file)
            kw.setdefault("stdout", log_file)
            kw.setdefault("stderr", subprocess.STDOUT if kw["stdout"] is log_file else log_file)
        proc: subprocess.Popen[bytes] = subprocess.Popen(
            self._in_ns(node, argv), env=full_env, start_new_session=True, **kw
        )
        self._procs.append(proc)
        node.procs.append(proc)
        if log_path is not None:
            self._logs[proc.pid] = log_path
        return proc

    def run(self, node: Node, argv: Sequence[str], timeout: float = 30.0) -> subprocess.CompletedProcess[str]:
        """Run a short command inside the namespace and return its output."""
        return subprocess.run(self._in_ns(node, argv), capture_output=True, text=True, timeout=timeout)

    def output(self, proc: subprocess.Popen[bytes]) -> str:
        """What a process started by popen (without stdout=) has written so far."""
        path = self._logs.get(proc.pid)
        return path.read_text(errors="replace") if path and path.exists() else ""

    def kill(
        self, proc: subprocess.Popen[bytes], sig: int = signal.SIGKILL, timeout: float = 10.0
    ) -> int | None:
        """Send ``sig`` to the process's group; with SIGKILL wait for it. Its returncode, if ended."""
        if proc.returncode is None:  # not reaped: its pid (and group id) are still its own
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, sig)
        if sig == signal.SIGKILL:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout)
        return proc.poll()

    def terminate(self, proc: subprocess.Popen[bytes], timeout: float = 5.0) -> int | None:
        """SIGTERM, then SIGKILL after ``timeout`` seconds."""
        self.kill(proc, signal.SIGTERM)
        try:
            return proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return self.kill(proc, signal.SIGKILL)

    def kill_all(self, node: Node) -> None:
        """SIGKILL every process inside the namespace (ours or not)."""
        _kill_pids(_netns_pids(node.ns))
        for proc in node.procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(5)

    # -- clean-up -------------------------------------------------------------------------------
    def close(self) -> None:
        """End every process and remove every namespace, veth and route this NetLab made."""
        if self._closed:
            return
        self._closed = True
        errors: list[str] = []
        for proc in self._procs:
            self.terminate(proc, timeout=3.0)
        for node in self.nodes:
            _delete_namespace(node.ns)  # takes the veth pair with it
            _ip("link", "del", node.root_if, check=False)
            _ip("route", "del", "blackhole", str(node.network), "metric", str(_BLACKHOLE_METRIC), check=False)
            if any(e.get("name") == node.ns for e in _ip_json("netns", "list")):
                errors.append(f"namespace {node.ns} is still there")
        for f in self._files:
            f.close()
        if errors:
            raise RuntimeError("; ".join(errors))

    def __enter__(self) -> NetLab:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class PrivateMosquitto:
    """A broker of the test's own: ``/usr/sbin/mosquitto -c CONF`` in the foreground, on a free
    port of each ``listen`` address, no anonymous clients, a password per user and the acl_file
    of `homelab_hub.remote.acl` (the README's). Users are a {name: password} mapping or names
    (random passwords); a worker's user name is its worker name, the hub's is ``hub``."""

    def __init__(
        self,
        workdir: Path,
        users: Mapping[str, str] | Iterable[str],
        *,
        listen: Sequence[str] = ("127.0.0.1",),
        prefix: str = "homelab-hub",
        hub_users: Sequence[str] = (HUB_USER,),
        persistence: bool = False,
        port: int | None = None,
    ) -> None:
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.users: dict[str, str] = (
            dict(users) if isinstance(users, Mapping) else {u: secrets.token_hex(12) for u in users}
        )
        for hub in hub_users:
            self.users.setdefault(hub, secrets.token_hex(12))
        self.listen = list(dict.fromkeys(listen))
        self.prefix = prefix
        self.hub_users = list(hub_users)
        self.persistence = persistence
        self._fixed_port = port
        self.port = port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.conf_path = self.workdir / "mosquitto.conf"
        self.password_file = self.workdir / "passwd"
        self.acl_file = self.workdir / "acl"
        self.log_path = self.workdir / "mosquitto.log"
        self._write_files()

    def _write_files(self) -> None:
        self.password_file.write_text("")
        self.password_file.chmod(0o600)
        passwd = shutil.which("mosquitto_passwd")
        assert passwd, "mosquitto_passwd is missing"
        for user, password in self.users.items():
            _run([passwd, "-b", str(self.password_file), user, password])
        self.acl_file.write_text(mosquitto_acl(self.prefix, self.hub_users))
        self.acl_file.chmod(0o600)

    def _conf(self) -> str:
        lines = ["per_listener_settings false"]
        lines += [f"listener {self.port} {address}" for address in self.listen]
        lines.append(mosquitto_security(str(self.password_file), str(self.acl_file)).rstrip("\n"))
        if self.persistence:
            lines += ["persistence true", f"persistence_location {self.workdir}/"]
        else:
            lines.append("persistence false")
        if os.geteuid() == 0:
            lines.append("user root")  # its files are in the test's private tmp dir
        lines += [
            "log_dest stdout",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "log_type information",
            "log_type subscribe",
            "connection_messages true",
            "log_timestamp true",
        ]
        return "\n".join(lines) + "\n"

    def start(self, timeout: float = 10.0) -> PrivateMosquitto:
        """Start it and wait until every listen address accepts connections."""
        if self.proc is not None and self.proc.poll() is None:
            return self
        for attempt in range(5):
            self.conf_path.write_text(self._conf())
            self.conf_path.chmod(0o600)
            argv = [mosquitto_binary() or "mosquitto", "-c", str(self.conf_path)]
            if shutil.which("setpriv"):  # it dies with the test process, even one killed hard
                argv = ["setpriv", "--pdeathsig", "TERM", "--", *argv]
            with open(self.log_path, "ab") as log:
                self.proc = subprocess.Popen(
                    argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
                )
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    break
                if all(port_open(a, self.port, timeout=0.2) for a in self.listen):
                    return self
                time.sleep(0.02)
            else:
                self.stop()
                raise RuntimeError(
                    f"mosquitto did not listen on port {self.port} in {timeout}s:\n{self.log()[-2000:]}"
                )
            if "in use" in self.log() and self._fixed_port is None and attempt < 4:
                self.port = free_port()  # someone took the port meanwhile
                continue
            raise RuntimeError(f"mosquitto exited ({self.proc.returncode}):\n{self.log()[-2000:]}")
        raise AssertionError("unreachable")

    def stop(self, timeout: float = 5.0) -> None:
        """Terminate it (SIGKILL after ``timeout``); the same port is used again by start()."""
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout)

    def restart(self) -> PrivateMosquitto:
        self.stop()
        self._fixed_port = self.port
        return self.start()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def config(self, user: str, host: str = "127.0.0.1", **overrides: Any) -> BrokerConfig:
        """A BrokerConfig for ``user`` (its password from here) at ``host`` (a listen address)."""
        values: dict[str, Any] = {
            "host": host,
            "port": self.port,
            "username": user,
            "password": self.users.get(user, ""),
            "prefix": self.prefix,
            **overrides,
        }
        return BrokerConfig(**values)


class NsLink:
    """A `BrokerLink` in a process inside a namespace (tests/remote/nsclient.py), driven over
    stdin/stdout in JSON lines. Events (connected, disconnected, message) are kept in order."""

    def __init__(self, lab: NetLab, node: Node, proc: subprocess.Popen[bytes]) -> None:
        self.lab, self.node, self.proc = lab, node, proc
        self.events: list[dict[str, Any]] = []
        self._replies: queue.Queue[dict[str, Any]] = queue.Queue()
        self._cond = threading.Condition()
        self._lock = threading.Lock()
        self._seq = itertools.count()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    @classmethod
    def start(
        cls,
        lab: NetLab,
        node: Node,
        config: BrokerConfig,
        *,
        client_id: str | None = None,
        will: tuple[str, bytes] | None = None,
        persistent: bool = False,
    ) -> NsLink:
        spec = {
            "config": config.model_dump(mode="json"),
            "client_id": client_id or f"test-{node.name}-{secrets.token_hex(3)}",
            "label": f"test client {config.username} in {node.name}",
            "will": [will[0], base64.b64encode(will[1]).decode()] if will else None,
            "persistent": persistent,
        }
        proc = lab.popen(
            node,
            [sys.executable, "-m", "tests.remote.nsclient"],
            env={"HOMELAB_HUB_NSCLIENT": json.dumps(spec), "PYTHONUNBUFFERED": "1"},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        return cls(lab, node, proc)

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            try:
                event = json.loads(raw)
            except ValueError:
                continue
            if "re" in event:
                self._replies.put(event)
                continue
            if "payload_b64" in event:
                event["payload"] = base64.b64decode(event.pop("payload_b64"))
            with self._cond:
                self.events.append(event)
                self._cond.notify_all()
        with self._cond:
            self.events.append({"event": "exited"})
            self._cond.notify_all()

    def request(self, op: str, timeout: float = 20.0, **args: Any) -> dict[str, Any]:
        with self._lock:
            seq = next(self._seq)
            assert self.proc.stdin is not None
            self.proc.stdin.write((json.dumps({"op": op, "seq": seq, **args}) + "\n").encode())
            self.proc.stdin.flush()
            while True:
                try:
                    reply = self._replies.get(timeout=timeout)
                except queue.Empty:
                    raise AssertionError(f"{self.node.name}: no answer to {op} in {timeout}s") from None
                if reply.get("seq") == seq:
                    if "error" in reply:
                        raise AssertionError(f"{self.node.name}: {op} failed: {reply['error']}")
                    return reply

    def publish_acked(
        self, topic: str, payload: bytes | str, *, retain: bool = False, timeout: float = 10.0
    ) -> dict[str, Any]:
        """{"ok": bool, "last_error": str, "refused_publishes": int} from BrokerLink.publish_acked."""
        data = payload.encode() if isinstance(payload, str) else payload
        return self.request(
            "publish_acked",
            timeout=timeout + 10,
            topic=topic,
            payload_b64=base64.b64encode(data).decode(),
            retain=retain,
            wait_s=timeout,
        )

    def publish(
        self, topic: str, payload: bytes | str, *, qos: int = 0, retain: bool = False
    ) -> dict[str, Any]:
        data = payload.encode() if isinstance(payload, str) else payload
        return self.request(
            "publish", topic=topic, payload_b64=base64.b64encode(data).decode(), qos=qos, retain=retain
        )

    def subscribe(self, topic_filter: str, qos: int = 1) -> None:
        self.request("subscribe", filter=topic_filter, qos=qos)

    def status(self) -> dict[str, Any]:
        """{"connected", "last_error", "generation", "refused_publishes"}."""
        return self.request("status")

    def wait_event(
        self,
        predicate: Callable[[dict[str, Any]], bool],
        timeout: float = 15.0,
        what: str = "event",
        after: int = 0,
    ) -> dict[str, Any]:
        """The first event from index ``after`` on that matches (waiting up to ``timeout``)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for event in self.events[after:]:
                    if predicate(event):
                        return event
                left = deadline - time.monotonic()
                if left <= 0 or (self.events and self.events[-1].get("event") == "exited"):
                    raise AssertionError(
                        f"{self.node.name}: no {what} in {timeout}s; last events: {self.events[-10:]}; "
                        f"its log:\n{self.lab.output(self.proc)[-1500:]}"
                    )
                self._cond.wait(min(left, 0.5))

    def wait_connected(self, timeout: float = 15.0, after: int = 0) -> dict[str, Any]:
        return self.wait_event(lambda e: e.get("event") == "connected", timeout, "connection", after)

    def wait_disconnected(self, timeout: float = 15.0, after: int = 0) -> dict[str, Any]:
        return self.wait_event(lambda e: e.get("event") == "disconnected", timeout, "disconnection", after)

    def wait_message(self, topic: str, timeout: float = 15.0) -> dict[str, Any]:
        return self.wait_event(
            lambda e: e.get("event") == "message" and e["topic"] == topic, timeout, f"message on {topic}"
        )

    def messages(self) -> list[dict[str, Any]]:
        with self._cond:
            return [e for e in self.events if e.get("event") == "message"]

    def close(self, timeout: float = 5.0) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(Exception):
                self.request("close", timeout=timeout)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.lab.kill(self.proc)
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()


class Tap:
    """A `BrokerLink` in the test process (the root namespace) that records what it receives."""

    def __init__(
        self,
        config: BrokerConfig,
        filters: Sequence[str] | None = None,
        *,
        client_id: str | None = None,
        persistent: bool = False,
    ) -> None:
        """Subscribes to ``filters`` (None: everything under the prefix; []: nothing). With
        ``persistent`` the broker keeps its session (and queues for it) while it is closed."""
        self.messages: list[Message] = []
        self._cond = threading.Condition()
        self.link = BrokerLink(
            config,
            client_id=client_id or f"test-tap-{secrets.token_hex(3)}",
            label=f"test tap {config.username}",
            persistent=persistent,
        )
        for topic_filter in [f"{config.prefix}/#"] if filters is None else filters:
            self.link.subscribe(topic_filter, self._on_message)
        self.link.start()

    def _on_message(self, message: Message) -> None:
        with self._cond:
            self.messages.append(message)
            self._cond.notify_all()

    def wait_connected(self, timeout: float = 10.0) -> Tap:
        if not self.link.connected.wait(timeout):
            raise AssertionError(f"the tap did not connect in {timeout}s: {self.link.last_error}")
        return self

    def wait_for(
        self, predicate: Callable[[Message], bool], timeout: float = 15.0, what: str = "message"
    ) -> Message:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for message in self.messages:
                    if predicate(message):
                        return message
                left = deadline - time.monotonic()
                if left <= 0:
                    got = [(m.topic, m.payload[:60]) for m in self.messages[-10:]]
                    raise AssertionError(f"no {what} in {timeout}s; last received: {got}")
                self._cond.wait(min(left, 0.5))

    def wait_topic(self, topic: str, payload: bytes | None = None, timeout: float = 15.0) -> Message:
        return self.wait_for(
            lambda m: m.topic == topic and (payload is None or m.payload == payload),
            timeout,
            f"message on {topic}",
        )

    def on_topic(self, topic: str) -> list[Message]:
        with self._cond:
            return [m for m in self.messages if m.topic == topic]

    def close(self) -> None:
        self.link.close()
