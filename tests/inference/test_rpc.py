"""Our RPC client against the stand-in rpc-server: handshake, devices and memory per protocol
version, a busy server, a dead one, and a slow link."""

from __future__ import annotations

import pytest

from homelab_hub.inference.rpc import (
    CMD_DEVICE_COUNT,
    CMD_GET_DEVICE_MEMORY,
    CMD_HELLO,
    RpcProber,
    compatible,
    parse_address,
    probe,
)
from tests.fakes.rpc_server import MIB, FakeRpcServer
from tests.support import free_port

TIMEOUT_S = 1.0
TWO_GPUS = [(20_000 * MIB, 24_576 * MIB), (22_000 * MIB, 24_576 * MIB)]


@pytest.mark.parametrize(
    ("version", "hello", "devices", "asks_count"),
    [
        ((2, 0, 0), "v1-v3", 1, False),  # before 3.0: one device, no DEVICE_COUNT, no device index
        ((3, 0, 0), "v1-v3", 2, True),  # 3.0: several devices per rpc-server
        ((3, 6, 1), "v1-v3", 2, True),
        ((4, 1, 0), "conn_caps", 2, True),  # HELLO carries transport capabilities
        ((7, 0, 0), "conn_caps", 2, True),  # upstream ggml-rpc.h as of llama-cpp-python 0.3.36's llama.cpp
    ],
)
def test_the_handshake_and_memory_follow_each_protocol_version(version, hello, devices, asks_count):
    with FakeRpcServer(version=version, devices=TWO_GPUS) as server:
        found = probe(server.address, TIMEOUT_S)
    assert found.state == "ok", found.error
    assert found.version == version
    assert found.hello_format == hello
    assert [(d.index, d.free, d.total) for d in found.devices] == [
        (i, free, total) for i, (free, total) in enumerate(TWO_GPUS[:devices])
    ]
    assert (CMD_DEVICE_COUNT in server.commands) is asks_count
    assert server.commands.count(CMD_HELLO) == (2 if hello == "conn_caps" else 1)
    assert CMD_GET_DEVICE_MEMORY in server.commands
    assert found.command_ms is not None and found.round_trip_ms == found.command_ms


def test_a_server_from_before_hello_is_named_not_mistaken_for_a_dead_one():
    with FakeRpcServer(version=None) as server:
        found = probe(server.address, TIMEOUT_S)
    assert found.state == "bad_response"
    assert found.error == (
        "the server closed the connection on HELLO in both layouts (empty and conn_caps): not an rpc-server, "
        "or one older than protocol 1.0 (early 2025) that has no HELLO"
    )


def test_a_server_serving_its_llama_server_is_busy_with_the_tcp_connect_as_round_trip():
    with FakeRpcServer() as server:
        server.hold()  # the llama-server's connection: rpc-server serves one client at a time
        found = probe(server.address, 0.3)
        server.release()
        again = probe(server.address, TIMEOUT_S)
    assert found.state == "busy"
    assert found.version is None and found.command_ms is None
    assert found.round_trip_ms == found.connect_ms
    assert "serves one client at a time" in found.error
    assert again.state == "ok"


def test_nothing_listening_is_down():
    found = probe(f"127.0.0.1:{free_port()}", TIMEOUT_S)
    assert found.state == "down"
    assert found.error.startswith("TCP connect failed")


def test_the_round_trip_includes_the_links_latency():
    with FakeRpcServer(latency_s=0.02) as server:
        found = probe(server.address, TIMEOUT_S)
    assert found.state == "ok"
    assert found.command_ms is not None and found.command_ms >= 20.0  # a lower bound: the injected delay


@pytest.mark.parametrize(
    ("client", "server", "ok"),
    [
        ((3, 0, 0), (3, 0, 0), True),
        ((3, 6, 0), (3, 0, 1), True),
        ((3, 0, 0), (3, 1, 0), False),
        ((3, 0, 0), (2, 0, 0), False),
    ],
)
def test_compatibility_is_the_clients_own_rule(client, server, ok):
    assert compatible(client, server) is ok


@pytest.mark.parametrize("bad", ["dgx", "dgx:", ":50052", "dgx:99999", "dgx:port"])
def test_an_address_needs_a_host_and_a_port(bad):
    with pytest.raises(ValueError, match="HOST:PORT such as 192.168.100.2:50052"):
        parse_address(bad)
    assert parse_address("[fe80::1]:50052") == ("fe80::1", 50052)


def test_the_hello_layout_that_worked_goes_first_next_time():
    # Today's rpc-server logs "HELLO request size mismatch" for every HELLO of the old layout.
    prober = RpcProber()
    with FakeRpcServer(version=(7, 0, 0)) as server:
        assert prober.probe(server.address, TIMEOUT_S).hello_format == "conn_caps"
        server.commands.clear()
        assert prober.probe(server.address, TIMEOUT_S).state == "ok"
        assert server.commands.count(CMD_HELLO) == 1
