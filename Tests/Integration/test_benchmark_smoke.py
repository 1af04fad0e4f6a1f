"""Smoke test of Benchmarks/HandshakeBench against MailEdge: the tool works in
every mode; no timing is asserted (performance is measured by scripts/bench-peers)."""
import json
import os
import subprocess
from pathlib import Path

import pytest

BENCH = os.environ.get("HANDSHAKEBENCH_BIN") or str(Path(__file__).resolve().parents[2] / ".build/debug/HandshakeBench")


def bench(server, port, *args):
    result = subprocess.run([BENCH, "--host", "127.0.0.1", "--port", str(port), "--count", "150", "--warmup", "10",
                             "--concurrency", "4", "--duration", "60", "--server-pid", str(server.proc.pid), "--json", *args],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize("mode, port_attr", [("implicit", "smtps"), ("starttls-smtp", "smtp"),
                                             ("starttls-imap", "imap"), ("starttls-pop3", "pop3")])
def test_handshake_bench_modes(make_server, mode, port_attr):
    server = make_server(tls={"protocols": ["TLSv1.2", "TLSv1.3"]}, limits={"max_connections_per_client": 1000})
    report = bench(server, getattr(server, port_attr), "--mode", mode)
    assert report["count"] == 150 and report["failures"] == 0
    assert report["server_key"] == "RSA-2048" and report["tls"] == "1.2"
    assert report["server_cpu_us_per_handshake"] is not None and report["server_cpu_us_per_handshake"] > 0


@pytest.mark.parametrize("tls", ["1.2", "1.3"])
def test_handshake_bench_resumption(make_server, tls):
    server = make_server(tls={"protocols": ["TLSv1.2", "TLSv1.3"]}, limits={"max_connections_per_client": 1000})
    report = bench(server, server.smtps, "--tls", tls, "--resume")
    assert report["count"] == 150 and report["failures"] == 0
    assert report["resumed"] >= 140, report  # tickets work


def test_handshake_bench_idle_memory(make_server):
    server = make_server(limits={"max_connections_per_client": 1000})
    result = subprocess.run([BENCH, "--host", "127.0.0.1", "--port", str(server.smtps), "--hold", "200",
                             "--server-pid", str(server.proc.pid), "--json"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["idle_kib_per_connection"] is not None and report["idle_kib_per_connection"] > 0
