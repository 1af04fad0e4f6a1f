"""Integration fixtures: a real `mailedge serve` on loopback, per test.

Every server gets its own temporary folder (config, ./var, ./certs) and fresh
ephemeral ports; readiness is bounded polling of the ports; the process is
stopped by its PID when the test ends.
"""
import os
import signal
import socket
import ssl
import subprocess
import time
from pathlib import Path

import pytest

BIN = os.environ.get("MAILEDGE_BIN") or str(Path(__file__).resolve().parents[2] / ".build/debug/mailedge")
PASSWORD = "correct horse battery staple"


_handed_out = set()


def free_port():
    """An ephemeral loopback port not handed out before in this test run (the kernel
    may give a just-closed port again, so remember what was given)."""
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _handed_out:
            _handed_out.add(port)
            return port
    raise AssertionError("no fresh ephemeral port")


def wait_for(predicate, timeout=20.0, interval=0.05, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def client_context():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


class MailEdge:
    """One running server: ports, folders, log, and helpers to talk to it."""

    def __init__(self, root: Path, limits=None, tls=None, extra="", connector_fqdn=None,
                 accepted_domains=("contoso.test",), domain_secure=False, serve_args=(), env=None, workers=2):
        self.root = root
        self.workers = workers
        self.serve_args = list(serve_args)
        # Extra environment for `serve` (None: the test's own environment).
        self.env = None if env is None else {**os.environ, **env}
        self.smtp = free_port()
        self.submission = free_port()
        self.smtps = free_port()
        self.imap, self.imaps, self.pop3, self.pop3s = free_port(), free_port(), free_port(), free_port()
        self.limits = {"handshake_timeout": 5, "idle_timeout": 30, "drain_timeout": 2}
        self.limits.update(limits or {})
        self.tls = tls or {}
        self.extra = extra
        self.connector_fqdn = connector_fqdn
        self.accepted_domains = list(accepted_domains)
        self.domain_secure = domain_secure
        self.proc = None
        self.log_path = root / "server.log"

    def config_text(self):
        def value(v):
            if isinstance(v, bool):
                return "true" if v else "false"
            if isinstance(v, (int, float)):
                return str(v)
            if isinstance(v, list):
                return "[" + ", ".join(value(x) for x in v) + "]"
            return '"' + v + '"'

        lines = ['[server]', 'name = "mx1"', 'fqdn = "mx1.contoso.test"', f'workers = {self.workers}', '']
        lines += ['[tls]'] + [f"{k} = {value(v)}" for k, v in self.tls.items()] + ['']
        lines += ['[limits]'] + [f"{k} = {value(v)}" for k, v in self.limits.items()] + ['']
        lines += ['[store]', f'accepted_domains = {value(self.accepted_domains)}', '']
        fqdn = [f'fqdn = "{self.connector_fqdn}"'] if self.connector_fqdn else []
        lines += [
            '[[connector]]', 'name = "Default Frontend"', 'protocol = "smtp"',
            f'bind = ["127.0.0.1:{self.smtp}"]', 'tls = "starttls"', *fqdn,
            *(['domain_secure = true'] if self.domain_secure else []), '',
            '[[connector]]', 'name = "Client Frontend"', 'protocol = "submission"',
            f'bind = ["127.0.0.1:{self.submission}"]', 'tls = "starttls"', 'require_tls = true', *fqdn, '',
            '[[connector]]', 'name = "Client Frontend SMTPS"', 'protocol = "submission"',
            f'bind = ["127.0.0.1:{self.smtps}"]', 'tls = "implicit"', *fqdn, '',
            '[[connector]]', 'name = "IMAP"', 'protocol = "imap"', f'bind = ["127.0.0.1:{self.imap}"]', 'tls = "starttls"', *fqdn, '',
            '[[connector]]', 'name = "IMAPS"', 'protocol = "imap"', f'bind = ["127.0.0.1:{self.imaps}"]', 'tls = "implicit"', *fqdn, '',
            '[[connector]]', 'name = "POP3"', 'protocol = "pop3"', f'bind = ["127.0.0.1:{self.pop3}"]', 'tls = "starttls"', *fqdn, '',
            '[[connector]]', 'name = "POP3S"', 'protocol = "pop3"', f'bind = ["127.0.0.1:{self.pop3s}"]', 'tls = "implicit"', *fqdn, '',
        ]
        return "\n".join(lines) + "\n" + self.extra

    def cli(self, *args, stdin=None, check=True):
        result = subprocess.run([BIN, *args, "--config", str(self.root / "mailedge.toml")],
                                cwd=self.root, input=stdin, capture_output=True, text=True, timeout=60)
        if check and result.returncode != 0:
            raise AssertionError(f"mailedge {' '.join(args)} failed: {result.stdout}{result.stderr}")
        return result

    def write_config(self):
        (self.root / "mailedge.toml").write_text(self.config_text())

    def start(self):
        self.write_config()
        if not (self.root / "var" / "users").exists():
            self.cli("user", "add", "alice", "--password-stdin", stdin=PASSWORD + "\n")
        self.log = open(self.log_path, "w")
        self.probes = 0
        self.proc = subprocess.Popen([BIN, "serve", "--config", str(self.root / "mailedge.toml"), *self.serve_args],
                                     cwd=self.root, stdout=self.log, stderr=subprocess.STDOUT, env=self.env)
        for port in (self.smtp, self.submission, self.smtps, self.imap, self.imaps, self.pop3, self.pop3s):
            wait_for(lambda: self.proc.poll() is not None or self._accepts(port), what=f"port {port}")
            if self.proc.poll() is not None:
                raise AssertionError("server exited at start:\n" + self.log_text())
        # The readiness probes were real connections: wait until the server has
        # seen them go, so per-client connection counts start from zero.
        def probes_finished():
            text = self.log_text()
            return text.count("connection closed") + text.count("connection refused") >= self.probes
        wait_for(probes_finished, what="probe connections closed")
        return self

    def _accepts(self, port):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                self.probes += 1
                return True
        except OSError:
            return False

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.log.close()

    def cert(self, *args, stdin=None, check=True):
        return self.cli("cert", *args, stdin=stdin, check=check)

    def restart(self):
        self.stop()
        return self.start()

    def log_text(self):
        return self.log_path.read_text() if self.log_path.exists() else ""

    def maildir_new(self, user="alice"):
        folder = self.root / "var" / "mail" / user / "new"
        return sorted(folder.iterdir()) if folder.exists() else []

    def default_certificate(self):
        """(pem path, metadata) of the store's certificate named MailEdge."""
        import json
        for meta in (self.root / "certs").glob("*.json"):
            data = json.loads(meta.read_text())
            if data["friendlyName"] == "MailEdge":
                return meta.with_suffix(".pem"), data
        raise AssertionError("no MailEdge certificate in the store")


@pytest.fixture
def make_server(tmp_path):
    servers = []

    def factory(**kwargs):
        root = tmp_path / f"server{len(servers)}"
        root.mkdir()
        server = MailEdge(root, **kwargs)
        servers.append(server)
        return server.start()

    yield factory
    for server in servers:
        server.stop()


@pytest.fixture
def server(make_server):
    return make_server()


class Line:
    """A minimal line-oriented SMTP client over a raw socket, for exact transcripts."""

    def __init__(self, port, timeout=10):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buffer = b""

    def send(self, data: bytes):
        self.sock.sendall(data)

    def reply(self):
        """Reads one (possibly multi-line) SMTP reply; returns its text."""
        lines = []
        while True:
            while b"\r\n" not in self.buffer:
                chunk = self.sock.recv(65536)
                if not chunk:
                    raise EOFError("connection closed; got " + repr(b"".join(lines) + self.buffer))
                self.buffer += chunk
            line, self.buffer = self.buffer.split(b"\r\n", 1)
            lines.append(line)
            if len(line) < 4 or line[3:4] != b"-":
                return b"\n".join(lines).decode()

    def command(self, text):
        self.send(text.encode() + b"\r\n")
        return self.reply()

    def starttls(self, context=None):
        assert self.command("STARTTLS").startswith("220 ")
        assert self.buffer == b""
        self.sock = (context or client_context()).wrap_socket(self.sock)
        return self.sock

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass
