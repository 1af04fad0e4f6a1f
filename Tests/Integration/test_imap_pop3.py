"""IMAP and POP3 over STARTTLS/STLS and implicit TLS, serving mail that SMTP
delivered, with python's imaplib/poplib, curl, fetchmail and openssl s_client."""
import imaplib
import poplib
import smtplib
import socket
import ssl
import subprocess
import time

import pytest

from conftest import PASSWORD, Line, client_context, wait_for

BODY = (b"From: Bob <bob@fabrikam.test>\r\nTo: Alice <alice@contoso.test>\r\nSubject: read me over IMAP\r\n"
        b"Message-ID: <m1@fabrikam.test>\r\n\r\nFirst line\r\n.line with a leading dot\r\nlast line\r\n")


def deliver(server, body=BODY):
    with smtplib.SMTP("127.0.0.1", server.smtp, timeout=20) as client:
        client.starttls(context=client_context())
        client.sendmail("bob@fabrikam.test", ["alice@contoso.test"], body)
    return wait_for(lambda: server.maildir_new() or list((server.root / "var/mail/alice/cur").glob("*")), what="delivery")


def imap_starttls(server):
    client = imaplib.IMAP4("127.0.0.1", server.imap, timeout=20)
    assert "LOGINDISABLED" in client.capabilities and "STARTTLS" in client.capabilities
    client.starttls(ssl_context=client_context())
    assert "AUTH=PLAIN" in client.capabilities and "LOGINDISABLED" not in client.capabilities
    client.login("alice", PASSWORD)
    return client


def test_imaplib_starttls_and_imaps_read_what_smtp_delivered(server):
    deliver(server)
    client = imap_starttls(server)
    typ, data = client.select("INBOX")
    assert (typ, data) == ("OK", [b"1"])
    typ, data = client.uid("FETCH", "1", "(BODY.PEEK[] FLAGS)")
    assert typ == "OK"
    fetched = data[0][1]
    assert fetched.endswith(BODY), fetched[-200:]
    assert b"Received: from" in fetched and b"Return-Path: <bob@fabrikam.test>" in fetched
    client.logout()
    with imaplib.IMAP4_SSL("127.0.0.1", server.imaps, ssl_context=client_context(), timeout=20) as tls:
        tls.login("Alice@contoso.test", PASSWORD)  # clients often log in with the address
        tls.select("INBOX", readonly=True)
        typ, data = tls.search(None, "FROM", "bob", "SUBJECT", "IMAP")
        assert data == [b"1"]
        typ, data = tls.fetch("1", "(ENVELOPE RFC822.SIZE)")
        assert b'"read me over IMAP"' in data[0] and b"RFC822.SIZE" in data[0]


def test_imap_login_before_starttls_is_refused(server):
    client = imaplib.IMAP4("127.0.0.1", server.imap, timeout=20)
    with pytest.raises(imaplib.IMAP4.error) as error:
        client.login("alice", PASSWORD)
    assert "PRIVACYREQUIRED" in str(error.value) or "disabled" in str(error.value).lower()
    client.shutdown()


def test_imap_flags_persist_across_restart(make_server):
    server = make_server()
    deliver(server)
    client = imap_starttls(server)
    client.select("INBOX")
    typ, data = client.store("1", "+FLAGS", "(\\Flagged \\Answered)")
    assert typ == "OK"
    uidvalidity = client.response("UIDVALIDITY")
    client.logout()
    server.restart()
    client = imap_starttls(server)
    client.select("INBOX")
    assert client.response("UIDVALIDITY") == uidvalidity and uidvalidity[1][0]  # stable across the restart
    typ, data = client.fetch("1", "(FLAGS UID)")
    assert b"\\Flagged" in data[0] and b"\\Answered" in data[0] and b"UID 1" in data[0]
    client.logout()
    assert list((server.root / "var/mail/alice/cur").glob("*:2,FR*"))


def test_imap_idle_sees_new_mail(server):
    deliver(server)
    client = imap_starttls(server)
    client.select("INBOX")
    tag = client._new_tag().decode()
    client.send(f"{tag} IDLE\r\n".encode())
    assert client.readline().startswith(b"+")
    deliver(server, body=BODY.replace(b"read me", b"second"))
    client.sock.settimeout(20)
    assert b"2 EXISTS" in client.readline()
    client.send(b"DONE\r\n")
    line = client.readline()
    while not line.startswith(tag.encode()):
        line = client.readline()
    assert b"OK" in line
    client.logout()


def test_imap_starttls_injection_is_not_executed(server):
    sock = socket.create_connection(("127.0.0.1", server.imap), timeout=10)
    assert sock.recv(4096).startswith(b"* OK")
    sock.sendall(b"a STARTTLS\r\nb LOGIN alice \"" + PASSWORD.encode() + b"\"\r\n")
    reply = b""
    while b"\r\n" not in reply:
        reply += sock.recv(4096)
    assert reply.startswith(b"a OK") and b"b " not in reply
    tls = client_context().wrap_socket(sock)
    tls.settimeout(1.0)
    with pytest.raises(socket.timeout):
        tls.recv(4096)  # the pipelined LOGIN is never answered
    tls.settimeout(10)
    tls.sendall(b"c CAPABILITY\r\n")
    data = b""
    while b"c OK" not in data:
        data += tls.recv(4096)
    assert b"AUTH=PLAIN" in data
    tls.sendall(b"d SELECT INBOX\r\n")
    data = b""
    while b"d " not in data:
        data += tls.recv(4096)
    assert b"d BAD" in data or b"d NO" in data  # not logged in: the injected LOGIN did nothing
    tls.close()


def pop3_stls(server):
    client = poplib.POP3("127.0.0.1", server.pop3, timeout=20)
    caps = client.capa()
    assert "STLS" in caps and "USER" not in caps
    client.stls(context=client_context())
    assert "USER" in client.capa()
    client.user("alice")
    client.pass_(PASSWORD)
    return client


def test_poplib_stls_and_pop3s_read_what_smtp_delivered(server):
    deliver(server)
    client = pop3_stls(server)
    count, size = client.stat()
    assert count == 1
    response, lines, octets = client.retr(1)
    message = b"\r\n".join(lines) + b"\r\n"
    assert message.endswith(BODY) and octets >= len(BODY)
    uidl = client.uidl(1).decode()
    client.quit()
    client = poplib.POP3_SSL("127.0.0.1", server.pop3s, context=client_context(), timeout=20)
    client.user("alice")
    client.pass_(PASSWORD)
    assert client.uidl(1).decode() == uidl  # stable unique-id
    response, lines, _ = client.top(1, 1)
    assert b"Subject: read me over IMAP" in lines and lines[-1] == b"First line"
    client.quit()


def test_pop3_user_before_stls_is_refused(server):
    client = poplib.POP3("127.0.0.1", server.pop3, timeout=20)
    with pytest.raises(poplib.error_proto) as error:
        client.user("alice")
    assert b"[AUTH]" in error.value.args[0] or b"TLS" in error.value.args[0]
    client.close()


def test_pop3_dele_applies_only_at_quit(server):
    deliver(server)
    deliver(server, body=BODY.replace(b"read me", b"second"))
    client = pop3_stls(server)
    assert client.stat()[0] == 2
    client.dele(1)
    # Dropped connection (no QUIT): nothing is deleted, and the maildrop lock is released.
    client.sock.shutdown(socket.SHUT_RDWR)
    client.close()
    client = wait_for(lambda: _try_login(server), what="POP3 lock released after a dropped connection")
    assert client.stat()[0] == 2
    client.dele(1)
    client.quit()
    client = pop3_stls(server)
    assert client.stat()[0] == 1
    client.quit()


def _try_login(server):
    try:
        return pop3_stls(server)
    except poplib.error_proto:
        return None


def test_pop3_second_session_is_locked_out(server):
    first = pop3_stls(server)
    with pytest.raises(poplib.error_proto) as error:
        pop3_stls(server)
    assert b"IN-USE" in error.value.args[0]
    first.quit()
    pop3_stls(server).quit()


def test_pop3_stls_injection_is_not_executed(server):
    sock = socket.create_connection(("127.0.0.1", server.pop3), timeout=10)
    assert sock.recv(4096).startswith(b"+OK")
    sock.sendall(b"STLS\r\nUSER alice\r\n")
    reply = b""
    while b"\r\n" not in reply:
        reply += sock.recv(4096)
    assert reply.startswith(b"+OK") and reply.count(b"\r\n") == 1
    tls = client_context().wrap_socket(sock)
    tls.settimeout(1.0)
    with pytest.raises(socket.timeout):
        tls.recv(4096)
    tls.settimeout(10)
    tls.sendall(b"PASS x\r\n")
    assert tls.recv(4096).startswith(b"-ERR")  # no USER was accepted before
    tls.close()


@pytest.mark.parametrize("url", ["imap", "pop3"])
def test_curl_fetches_body_byte_for_byte(server, tmp_path, url):
    files = deliver(server)
    expected = files[0].read_bytes().replace(b"\n", b"\r\n")
    port = server.imap if url == "imap" else server.pop3
    target = f"imap://127.0.0.1:{port}/INBOX;UID=1" if url == "imap" else f"pop3://127.0.0.1:{port}/1"
    out = tmp_path / "fetched.eml"
    result = subprocess.run(["curl", "--silent", "--show-error", "--ssl-reqd", "--insecure", "--user", f"alice:{PASSWORD}",
                             target, "--output", str(out)], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert out.read_bytes() == expected


@pytest.mark.parametrize("protocol", ["POP3", "IMAP"])
def test_fetchmail_retrieves_over_starttls(server, tmp_path, protocol):
    deliver(server)
    port = server.pop3 if protocol == "POP3" else server.imap
    out = tmp_path / "mda"
    out.mkdir()
    rc = tmp_path / "fetchmailrc"
    rc.write_text(
        f'poll 127.0.0.1 service {port} protocol {protocol} auth password\n'
        f'  user "alice" password "{PASSWORD}" is root here\n'
        f'  sslproto "TLS1.2+" no sslcertck keep\n'
        f'  mda "/bin/sh -c \'cat > {out}/msg-$$\'"\n')
    rc.chmod(0o600)
    result = subprocess.run(["fetchmail", "--nodetach", "--silent", "-f", str(rc), "--pidfile", str(tmp_path / "pid")],
                            capture_output=True, text=True, timeout=60, env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stdout + result.stderr
    fetched = list(out.glob("msg-*"))
    assert len(fetched) == 1 and b"Subject: read me over IMAP" in fetched[0].read_bytes()


@pytest.mark.parametrize("proto, port_attr, greeting", [("imap", "imap", "* OK"), ("pop3", "pop3", "+OK")])
def test_openssl_s_client_starttls(server, proto, port_attr, greeting):
    result = subprocess.run(["openssl", "s_client", "-ign_eof", "-starttls", proto, "-connect", f"127.0.0.1:{getattr(server, port_attr)}"],
                            input="a LOGOUT\r\n" if proto == "imap" else "QUIT\r\n", capture_output=True, text=True, timeout=30)
    assert "Protocol  : TLSv1.2" in result.stdout
    assert ("* BYE" in result.stdout) if proto == "imap" else ("+OK" in result.stdout)


def test_large_message_crosses_tls_both_ways_byte_for_byte(server):
    """11 MB in through SMTP STARTTLS, out through IMAPS and POP3S: more than the
    loopback socket buffers hold, so the server's TLS writes block and resume (the
    channel's write-event path); every byte must arrive, in order."""
    lines = []
    for i in range(110_000):
        lead = b"." if i % 997 == 0 else b""  # dot-stuffing on the way in and out
        lines.append(lead + b"%07d " % i + b"abcdefghij" * 9 + b"\r\n")
    body = (b"From: Bob <bob@fabrikam.test>\r\nTo: Alice <alice@contoso.test>\r\nSubject: large\r\n\r\n"
            + b"".join(lines))
    assert len(body) > 11_000_000
    deliver(server, body)
    with imaplib.IMAP4_SSL("127.0.0.1", server.imaps, ssl_context=client_context(), timeout=60) as tls:
        tls.login("alice", PASSWORD)
        tls.select("INBOX", readonly=True)
        typ, data = tls.fetch("1", "(BODY.PEEK[])")
        assert typ == "OK"
        fetched = data[0][1]
        assert len(fetched) > len(body) and fetched.endswith(body)
    pop = poplib.POP3_SSL("127.0.0.1", server.pop3s, context=client_context(), timeout=60)
    pop.user("alice")
    pop.pass_(PASSWORD)
    response, retrieved, octets = pop.retr(1)
    pop.quit()
    assert response.startswith(b"+OK")
    assert b"\r\n".join(retrieved).endswith(body.rstrip(b"\r\n"))
