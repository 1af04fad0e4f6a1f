"""TLS on the SMTP connectors, checked with openssl s_client against a real server."""
import socket
import ssl
import subprocess

import pytest

from conftest import Line, client_context, wait_for


def s_client(port, *args, starttls=True, stdin="QUIT\r\n", timeout=20):
    # -ign_eof: keep reading after stdin ends, until the server closes (after QUIT).
    cmd = ["openssl", "s_client", "-ign_eof", "-connect", f"127.0.0.1:{port}", "-servername", "mx1.contoso.test"]
    if starttls:
        cmd += ["-starttls", "smtp"]
    cmd += list(args)
    return subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=timeout)


def fingerprint_of_file(pem):
    out = subprocess.run(["openssl", "x509", "-in", str(pem), "-noout", "-fingerprint", "-sha256"],
                         capture_output=True, text=True, check=True).stdout
    return out.strip().split("=", 1)[1].replace(":", "").lower()


def presented_fingerprint(port, starttls):
    result = s_client(port, "-showcerts", starttls=starttls)
    assert "BEGIN CERTIFICATE" in result.stdout, result.stdout + result.stderr
    pem = result.stdout[result.stdout.index("-----BEGIN CERTIFICATE-----"):]
    pem = pem[:pem.index("-----END CERTIFICATE-----") + len("-----END CERTIFICATE-----")] + "\n"
    out = subprocess.run(["openssl", "x509", "-noout", "-fingerprint", "-sha256", "-subject"],
                         input=pem, capture_output=True, text=True, check=True).stdout
    lines = out.strip().splitlines()
    return lines[0].split("=", 1)[1].replace(":", "").lower(), lines[1]


@pytest.mark.parametrize("which", ["starttls_smtp", "starttls_submission", "implicit"])
def test_default_certificate_is_presented(server, which):
    port = {"starttls_smtp": server.smtp, "starttls_submission": server.submission, "implicit": server.smtps}[which]
    fingerprint, subject = presented_fingerprint(port, starttls=(which != "implicit"))
    pem, meta = server.default_certificate()
    assert fingerprint == fingerprint_of_file(pem)
    assert pem.stem == fingerprint  # the store names files by SHA-256 thumbprint
    assert "CN = mx1" in subject


def test_starttls_negotiates_tls12_with_ecdhe_aead(server):
    result = s_client(server.smtp)
    assert "Protocol  : TLSv1.2" in result.stdout
    assert "Cipher    : ECDHE-RSA-AES256-GCM-SHA384" in result.stdout
    assert "221 2.0.0" in result.stdout


def test_implicit_tls_greets_after_handshake(server):
    result = s_client(server.smtps, starttls=False)
    assert "220 mx1.contoso.test ESMTP MailEdge" in result.stdout
    assert "Protocol  : TLSv1.2" in result.stdout


@pytest.mark.parametrize("starttls", [True, False])
def test_tls11_is_refused(server, starttls):
    port = server.smtp if starttls else server.smtps
    bad = s_client(port, "-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0", starttls=starttls)
    assert bad.returncode != 0
    assert "Cipher is (NONE)" in bad.stdout or "Protocol  : TLSv1.1" not in bad.stdout
    good = s_client(port, "-tls1_2", starttls=starttls)
    assert good.returncode == 0 and "Protocol  : TLSv1.2" in good.stdout


@pytest.mark.parametrize("cipher", ["ECDHE-RSA-AES256-SHA", "ECDHE-RSA-AES128-SHA256", "AES128-SHA"])
def test_non_aead_ciphers_are_refused(server, cipher):
    result = s_client(server.smtp, "-tls1_2", "-cipher", f"{cipher}:@SECLEVEL=0")
    assert result.returncode != 0, result.stdout
    assert "Cipher is (NONE)" in result.stdout
    # The server saw the ClientHello and refused it (not a client-side refusal).
    wait_for(lambda: "no shared cipher" in server.log_text(), what="server log of the refused handshake")


# Debian's OpenSSL 3 client cannot offer 3DES or RC4 at all, so these suites are
# offered by a hand-built TLS 1.2 ClientHello: the server must answer with a
# handshake_failure alert, while the same hello with an ECDHE-GCM suite gets a
# ServerHello (the control that shows the test can tell the two apart).
WEAK_SUITES = {
    "TLS_RSA_WITH_3DES_EDE_CBC_SHA": 0x000A,
    "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA": 0xC012,
    "TLS_RSA_WITH_RC4_128_SHA": 0x0005,
    "TLS_ECDHE_RSA_WITH_RC4_128_SHA": 0xC011,
    "TLS_RSA_WITH_RC4_128_MD5": 0x0004,
    "TLS_RSA_WITH_DES_CBC_SHA": 0x0009,
    "TLS_RSA_EXPORT_WITH_RC4_40_MD5": 0x0003,
    "TLS_RSA_WITH_NULL_SHA256": 0x003B,
    "TLS_DH_anon_WITH_AES_128_GCM_SHA256": 0x00A6,
}


def client_hello(suites):
    import os
    import struct
    ext = b""
    groups = struct.pack("!HHHH", 6, 0x001D, 0x0017, 0x0018)             # x25519, P-256, P-384
    ext += struct.pack("!HH", 10, len(groups)) + groups
    ext += struct.pack("!HHBB", 11, 2, 1, 0)                             # ec_point_formats: uncompressed
    sigalgs = struct.pack("!H", 8) + struct.pack("!HHHH", 0x0401, 0x0804, 0x0403, 0x0501)
    ext += struct.pack("!HH", 13, len(sigalgs)) + sigalgs
    body = b"\x03\x03" + os.urandom(32) + b"\x00"
    body += struct.pack("!H", 2 * len(suites)) + b"".join(struct.pack("!H", s) for s in suites)
    body += b"\x01\x00" + struct.pack("!H", len(ext)) + ext
    handshake = b"\x01" + struct.pack("!I", len(body))[1:] + body
    return b"\x16\x03\x01" + struct.pack("!H", len(handshake)) + handshake


def first_tls_record(sock):
    data = b""
    while len(data) < 7:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def raw_hello(server, suites, starttls):
    c = Line(server.smtp if starttls else server.smtps)
    if starttls:
        c.reply()
        c.command("EHLO client.test")
        assert c.command("STARTTLS").startswith("220")
    c.send(client_hello(suites))
    record = first_tls_record(c.sock)
    c.close()
    return record


@pytest.mark.parametrize("starttls", [True, False])
@pytest.mark.parametrize("suite", sorted(WEAK_SUITES))
def test_weak_suites_get_handshake_failure(server, suite, starttls):
    record = raw_hello(server, [WEAK_SUITES[suite]], starttls)
    # Alert record, fatal (2), handshake_failure (40).
    assert record[:1] == b"\x15" and record[5:7] == b"\x02\x28", record


@pytest.mark.parametrize("starttls", [True, False])
def test_raw_hello_control_gets_server_hello(server, starttls):
    record = raw_hello(server, [0xC030], starttls)   # ECDHE-RSA-AES256-GCM-SHA384
    assert record[:1] == b"\x16" and record[5:6] == b"\x02", record


def test_tls13_refused_by_default(server):
    result = s_client(server.smtp, "-tls1_3")
    assert result.returncode != 0
    assert "Protocol  : TLSv1.3" not in result.stdout


def test_tls13_works_when_enabled(make_server):
    server = make_server(tls={"protocols": ["TLSv1.2", "TLSv1.3"]})
    for port, starttls in ((server.smtp, True), (server.smtps, False)):
        result = s_client(port, "-tls1_3", starttls=starttls)
        assert result.returncode == 0, result.stderr
        assert "TLSv1.3" in result.stdout
    tls12 = s_client(server.smtp, "-tls1_2")
    assert "Protocol  : TLSv1.2" in tls12.stdout


def test_no_tls_compression(server):
    result = s_client(server.smtp, "-tls1_2")
    assert result.returncode == 0
    assert "Compression: NONE" in result.stdout


def test_handshake_timeout_closes_silent_tls_client(make_server):
    import socket
    import time
    server = make_server(limits={"handshake_timeout": 1})
    sock = socket.create_connection(("127.0.0.1", server.smtps), timeout=10)
    started = time.monotonic()
    assert sock.recv(100) == b""  # server closes: no ClientHello arrived in time
    assert time.monotonic() - started < 8
    wait_for(lambda: "TLS handshake timeout" in server.log_text(), what="handshake timeout log line")


def test_an_earlier_timeout_brings_the_workers_sweep_forward(make_server):
    """A worker sweeps its connections' deadlines with one timer set for the earliest.
    A silent TLS client's 1 s handshake timeout, set after an open session's 30 s
    idle timeout had the sweep at +30 s, must still end the TLS connection after
    about a second, and leave the open session alone."""
    import socket
    import time
    server = make_server(workers=1, limits={"handshake_timeout": 1, "idle_timeout": 30})
    idle = Line(server.smtp)
    assert idle.reply().startswith("220")
    # Let the sweeps for the start-up probes' short deadlines pass: the next sweep is
    # then the idle session's, 30 s away.
    time.sleep(1.5)
    sock = socket.create_connection(("127.0.0.1", server.smtps), timeout=20)
    started = time.monotonic()
    assert sock.recv(100) == b""  # closed by the handshake timeout
    assert time.monotonic() - started < 8
    sock.close()
    wait_for(lambda: "TLS handshake timeout" in server.log_text(), what="handshake timeout log line")
    assert idle.command("NOOP").startswith("250")
    idle.close()


def test_probe_is_a_close_and_plaintext_on_implicit_port_is_a_tls_failure(server):
    """A load balancer's TCP probe (connect, close) on an implicit-TLS port ends as a
    plain close, not a TLS warning; plaintext sent to that port is a TLS failure that
    names OpenSSL's reason. Both end in one "connection closed" line."""
    import socket
    before = server.log_text().count("connection closed")
    socket.create_connection(("127.0.0.1", server.smtps), timeout=5).close()
    with socket.create_connection(("127.0.0.1", server.smtps), timeout=5) as sock:
        sock.sendall(b"EHLO plaintext.example\r\n")
        while sock.recv(4096):  # at most a TLS alert, then the server closes
            pass
    wait_for(lambda: server.log_text().count("connection closed") >= before + 2, what="both connections closed")
    lines = server.log_text().splitlines()
    failures = [line for line in lines if line.endswith("] TLS handshake failed")]
    assert len(failures) == 1, failures
    assert " warning " in failures[0] and "error=error:" in failures[0]
    assert any(line.endswith("] connection closed") and "reason=TLS handshake failed" in line for line in lines)
    assert not any("unexpected eof" in line for line in lines)
    probe = [line for line in lines if "reason=client closed during TLS handshake" in line]
    assert probe and all(" info " in line for line in probe)


CLOSE_KEYS = ("certificate", "certificate_reason", "cipher", "client", "conn", "connector", "duration_ms",
              "reason", "resumed", "sni", "tls_version", "worker")


def line_fields(line):
    """key=value pairs of a log line (values may hold spaces; keys are the known ones)."""
    import re
    body = line.split(": ", 1)[1].rsplit(" [", 1)[0]
    parts = re.split(r"(?:^| )(" + "|".join(CLOSE_KEYS) + ")=", body)
    assert parts[0] == "", line
    return list(zip(parts[1::2], parts[2::2]))


def test_close_line_carries_the_handshake_facts_in_key_order(make_server):
    """The one "connection closed" line is written by a fast path of its own; it must
    say what the handshake line (written through swift-log) says, in the same format:
    keys sorted, the worker's key merged in, plus why and after how long it closed."""
    import socket
    import ssl
    server = make_server(serve_args=["--log-level", "debug"])
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", server.smtps), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname="mx1.contoso.test") as tls:
            assert tls.recv(1024).startswith(b"220 ")
            tls.sendall(b"QUIT\r\n")
            assert tls.recv(1024).startswith(b"221 ")
    with socket.create_connection(("127.0.0.1", server.smtp), timeout=10) as plain:
        assert plain.recv(1024).startswith(b"220 ")
        plain.sendall(b"QUIT\r\n")
        assert plain.recv(1024).startswith(b"221 ")

    def closed(connector):
        return [line for line in server.log_text().splitlines()
                if line.endswith("] connection closed") and f"connector={connector} " in line
                and "reason=client quit" in line]
    wait_for(lambda: closed("Client Frontend SMTPS") and closed("Default Frontend"), what="both close lines")

    close = dict(line_fields(closed("Client Frontend SMTPS")[0]))
    keys = [key for key, _ in line_fields(closed("Client Frontend SMTPS")[0])]
    assert keys == sorted(keys) == sorted(CLOSE_KEYS), keys
    handshake_lines = [line for line in server.log_text().splitlines()
                       if line.endswith("] TLS handshake completed") and f"conn={close['conn']} " in line]
    assert len(handshake_lines) == 1, handshake_lines
    handshake = line_fields(handshake_lines[0])
    assert [key for key, _ in handshake] == sorted(set(CLOSE_KEYS) - {"duration_ms", "reason"})
    for key, value in handshake:
        assert close[key] == value, (key, close[key], value)
    assert close["sni"] == "mx1.contoso.test" and close["resumed"] == "false"
    assert close["tls_version"] == "TLSv1.2" and close["cipher"].startswith("ECDHE-")
    assert close["duration_ms"].isdigit() and close["client"] == "127.0.0.1"
    assert " info mailedge: " in closed("Client Frontend SMTPS")[0]

    plain_fields = line_fields(closed("Default Frontend")[0])
    assert [key for key, _ in plain_fields] == ["client", "conn", "connector", "duration_ms", "reason", "worker"]
    assert int(dict(plain_fields)["conn"], 16) > 0


@pytest.mark.parametrize("version", ["TLSv1_2", "TLSv1_3"])
@pytest.mark.parametrize("which", ["smtps", "imaps", "pop3s", "smtp"])
def test_the_clients_close_notify_is_answered(make_server, which, version):
    # RFC 5246 7.2.1 / RFC 8446 6.1: a client that says close_notify gets the
    # server's own before the connection closes. Python's unwrap() sends the
    # client's and then waits for the server's: without it, it fails with an EOF.
    server = make_server(tls={"protocols": ["TLSv1.2", "TLSv1.3"]})
    context = client_context()
    context.minimum_version = context.maximum_version = getattr(ssl.TLSVersion, version)
    if which == "smtp":
        line = Line(server.smtp)
        assert line.reply().startswith("220 ")
        assert line.command("EHLO client.example").startswith("250")
        tls = line.starttls(context)
        tls.sendall(b"NOOP\r\n")
    else:
        tls = context.wrap_socket(socket.create_connection(("127.0.0.1", getattr(server, which)), timeout=10))
    assert tls.version() == version.replace("_", ".")
    first = tls.recv(4096)   # the greeting (implicit TLS) or the NOOP reply: a session is up
    assert first[:3] in (b"220", b"* O", b"+OK", b"250"), first
    plain = tls.unwrap()
    assert plain.recv(16) == b""   # and then the server closes the connection
    plain.close()
    negotiated = "tls_version=" + version.replace("_", ".")
    wait_for(lambda: any("reason=client disconnected" in line and negotiated in line
                         for line in server.log_text().splitlines()), what="the session's close line")
