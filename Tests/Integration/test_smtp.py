"""SMTP over STARTTLS and implicit TLS with real clients: smtplib, curl, swaks."""
import base64
import smtplib
import socket
import subprocess
import threading
import time

import pytest

from conftest import PASSWORD, Line, client_context, wait_for

MESSAGE = (b"From: Bob <bob@fabrikam.test>\r\nTo: Alice <alice@contoso.test>\r\n"
           b"Subject: quarterly numbers\r\n\r\nHello Alice,\r\n.leading dot line\r\nbye\r\n")


def read_single_message(server):
    files = wait_for(lambda: server.maildir_new(), what="a message in Maildir new/")
    assert len(files) == 1, files
    return files[0].read_bytes()


def test_smtplib_starttls_login_submits_to_maildir(server):
    with smtplib.SMTP("127.0.0.1", server.submission, timeout=20) as client:
        code, caps = client.ehlo("client.fabrikam.test")
        assert b"STARTTLS" in caps and b"AUTH" not in caps
        client.starttls(context=client_context())
        code, caps = client.ehlo("client.fabrikam.test")
        assert b"AUTH PLAIN LOGIN" in caps and b"STARTTLS" not in caps
        client.login("alice", PASSWORD)
        refused = client.sendmail("bob@fabrikam.test", ["alice@contoso.test"], MESSAGE)
        assert refused == {}
    data = read_single_message(server)
    assert data.startswith(b"Return-Path: <bob@fabrikam.test>\n")
    assert b"Received: from client.fabrikam.test ([127.0.0.1])" in data
    assert b"with ESMTPSA (version=TLSv1.2 cipher=ECDHE-RSA-AES256-GCM-SHA384)" in data
    assert b"Subject: quarterly numbers\n" in data
    assert b"\n.leading dot line\n" in data  # dot-stuffing undone
    assert PASSWORD.encode() not in server.log_text().encode()


def test_smtplib_implicit_tls_submission(server):
    with smtplib.SMTP_SSL("127.0.0.1", server.smtps, context=client_context(), timeout=20) as client:
        client.login("alice", PASSWORD)
        client.sendmail("bob@fabrikam.test", ["alice@contoso.test"], MESSAGE)
    assert b"with ESMTPSA (version=TLSv1.2" in read_single_message(server)


def test_wrong_password_is_refused(server):
    with smtplib.SMTP("127.0.0.1", server.submission, timeout=20) as client:
        client.starttls(context=client_context())
        with pytest.raises(smtplib.SMTPAuthenticationError) as error:
            client.login("alice", "wrong password")
        assert error.value.smtp_code == 535
    assert "wrong password" not in server.log_text()


@pytest.mark.parametrize("scheme", ["smtp", "smtps"])
def test_curl_submits_with_ssl_reqd(server, tmp_path, scheme):
    port = server.submission if scheme == "smtp" else server.smtps
    mail = tmp_path / "mail.eml"
    mail.write_bytes(MESSAGE)
    result = subprocess.run([
        "curl", "--silent", "--show-error", "--ssl-reqd", "--insecure",
        f"{scheme}://127.0.0.1:{port}", "--user", f"alice:{PASSWORD}",
        "--mail-from", "alice@contoso.test", "--mail-rcpt", "alice@contoso.test",
        "--upload-file", str(mail)], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    data = read_single_message(server)
    assert b"with ESMTPSA (version=TLSv1.2 cipher=" in data
    assert b"Subject: quarterly numbers" in data


def test_swaks_inbound_starttls_to_local_user(server):
    result = subprocess.run([
        "swaks", "--server", "127.0.0.1", "--port", str(server.smtp), "--tls",
        "--from", "bob@fabrikam.test", "--to", "alice@contoso.test",
        "--helo", "mx.fabrikam.test", "--header", "Subject: swaks test"],
        capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    data = read_single_message(server)
    assert b"with ESMTPS (version=TLSv1.2 cipher=" in data
    assert b"Subject: swaks test" in data


def test_inbound_relay_refused_and_unknown_user_rejected(server):
    c = Line(server.smtp)
    assert c.reply().startswith("220 mx1.contoso.test")
    assert c.command("EHLO mx.fabrikam.test").startswith("250")
    c.starttls()
    assert c.command("EHLO mx.fabrikam.test").startswith("250")
    assert c.command("MAIL FROM:<bob@fabrikam.test>").startswith("250 2.1.0")
    assert c.command("RCPT TO:<someone@elsewhere.test>").startswith("554 5.7.1")
    assert c.command("RCPT TO:<nobody@contoso.test>").startswith("550 5.1.1")
    assert c.command("RCPT TO:<ALICE@Contoso.Test>").startswith("250 2.1.5")
    c.close()


def test_authenticated_relay_is_queued_not_lost(server):
    with smtplib.SMTP_SSL("127.0.0.1", server.smtps, context=client_context(), timeout=20) as client:
        client.login("alice", PASSWORD)
        client.sendmail("alice@contoso.test", ["partner@fabrikam.test"], MESSAGE)
    queued = wait_for(lambda: sorted((server.root / "var/queue/new").glob("*.envelope.json")), what="queued envelope")
    assert b"partner@fabrikam.test" in queued[0].read_bytes()


def test_auth_before_tls_is_refused(server):
    c = Line(server.submission)
    c.reply()
    caps = c.command("EHLO client.test")
    assert "AUTH" not in caps and "STARTTLS" in caps
    token = base64.b64encode(b"\0alice\0" + PASSWORD.encode()).decode()
    assert c.command("AUTH PLAIN " + token).startswith("530 5.7.0")
    c.close()


def test_mail_before_starttls_on_require_tls_connector(server):
    c = Line(server.submission)
    c.reply()
    c.command("EHLO client.test")
    assert c.command("MAIL FROM:<alice@contoso.test>").startswith("530 5.7.0")
    c.close()


def test_starttls_injection_is_not_executed(server):
    c = Line(server.smtp)
    c.reply()
    c.command("EHLO attacker.test")
    # One write: the STARTTLS line and a command injected behind it.
    c.send(b"STARTTLS\r\nMAIL FROM:<a@b.test>\r\n")
    assert c.reply().startswith("220 2.0.0")
    assert c.buffer == b""
    tls = client_context().wrap_socket(c.sock)
    c.sock = tls
    tls.settimeout(1.0)
    with pytest.raises(socket.timeout):
        tls.recv(1024)  # no reply to the injected MAIL arrives after the handshake
    tls.settimeout(10)
    # Session state was reset: a new EHLO is needed, and no MAIL transaction exists.
    assert c.command("MAIL FROM:<a@b.test>").startswith("503 5.5.1")
    assert c.command("EHLO attacker.test").startswith("250")
    assert c.command("RCPT TO:<alice@contoso.test>").startswith("503 5.5.1")
    c.close()


def test_starttls_with_argument_and_inside_tls(server):
    c = Line(server.smtp)
    c.reply()
    c.command("EHLO client.test")
    assert c.command("STARTTLS now").startswith("501 5.5.4")
    c.starttls()
    caps = c.command("EHLO client.test")
    assert "STARTTLS" not in caps
    assert c.command("STARTTLS").startswith("503 5.5.1")
    c.close()


def test_pipelining_whole_transaction_in_one_write(server):
    c = Line(server.submission)
    c.reply()
    c.command("EHLO client.test")
    c.starttls()
    c.command("EHLO client.test")
    token = base64.b64encode(b"\0alice\0" + PASSWORD.encode()).decode()
    assert c.command("AUTH PLAIN " + token).startswith("235 2.7.0")
    c.send(b"MAIL FROM:<alice@contoso.test>\r\nRCPT TO:<alice@contoso.test>\r\nRCPT TO:<nobody@contoso.test>\r\nDATA\r\n")
    assert c.reply().startswith("250 2.1.0")
    assert c.reply().startswith("250 2.1.5")
    assert c.reply().startswith("550 5.1.1")
    assert c.reply().startswith("354")
    c.send(b"Subject: pipelined\r\n\r\nbody\r\n.\r\nQUIT\r\n")
    assert c.reply().startswith("250 2.0.0 Ok: queued as ")
    assert c.reply().startswith("221 2.0.0")
    assert b"Subject: pipelined" in read_single_message(server)


def test_overlong_line_gets_500_and_other_sessions_continue(server):
    c = Line(server.smtp)
    c.reply()
    c.send(b"EHLO " + b"x" * 5000 + b"\r\n")
    assert c.reply().startswith("500 5.5.2")
    assert c.command("NOOP").startswith("250")  # same session goes on
    other = Line(server.smtp)
    assert other.reply().startswith("220")
    assert other.command("EHLO ok.test").startswith("250")
    other.close()
    c.close()
    wait_for(lambda: "limit=line longer than 2048 bytes" in server.log_text(), what="log line for the long line")


def test_oversized_message_gets_552_and_nothing_is_stored(make_server):
    server = make_server(limits={"max_message_size": 4096})
    c = Line(server.smtp)
    c.reply()
    caps = c.command("EHLO client.test")
    assert "SIZE 4096" in caps
    assert c.command("MAIL FROM:<bob@fabrikam.test> SIZE=100000").startswith("552 5.3.4")
    assert c.command("MAIL FROM:<bob@fabrikam.test>").startswith("250")
    assert c.command("RCPT TO:<alice@contoso.test>").startswith("250")
    assert c.command("DATA").startswith("354")
    c.send(b"Subject: big\r\n\r\n" + (b"y" * 70 + b"\r\n") * 200 + b".\r\n")
    assert c.reply().startswith("552 5.3.4")
    assert c.command("NOOP").startswith("250")
    c.close()
    assert server.maildir_new() == []
    wait_for(lambda: server.log_text().count("limit=message larger than 4096 bytes") == 2, what="two size log lines")


def test_idle_timeout_gets_421_without_disturbing_others(make_server):
    server = make_server(limits={"idle_timeout": 1})
    idle = Line(server.smtp)
    assert idle.reply().startswith("220")
    busy = Line(server.smtp)
    busy.reply()
    # Keep the busy session talking across the idle session's timeout.
    for _ in range(6):
        assert busy.command("NOOP").startswith("250")
        time.sleep(0.3)
    reply = idle.reply()
    assert reply.startswith("421 4.4.2"), reply
    with pytest.raises((EOFError, ConnectionResetError)):
        idle.reply()
    assert busy.command("EHLO still.here").startswith("250")
    busy.close()
    wait_for(lambda: "idle timeout" in server.log_text(), what="idle timeout log line")


def test_too_many_connections_from_one_client(make_server):
    server = make_server(limits={"max_connections_per_client": 2})
    first, second = Line(server.smtp), Line(server.smtp)
    assert first.reply().startswith("220") and second.reply().startswith("220")
    third = Line(server.smtp)
    assert third.reply().startswith("421 4.7.0")
    first.close()
    # A slot frees up once the first session is gone.
    def fourth_gets_220():
        c = Line(server.smtp)
        try:
            return c.reply().startswith("220")
        finally:
            c.close()
    wait_for(fourth_gets_220, what="a free slot after a session closed")
    second.close()


def test_sigterm_drains_then_exits_zero(make_server):
    server = make_server(limits={"drain_timeout": 1})
    c = Line(server.smtp)
    c.reply()
    c.command("EHLO client.test")
    server.proc.terminate()
    # New connections are no longer accepted while the old session is drained.
    wait_for(lambda: not server._accepts(server.smtp), what="listener closed")
    assert c.reply().startswith("421 4.3.2")
    assert server.proc.wait(timeout=20) == 0
    assert "stopped" in server.log_text()


def test_accepts_spread_over_worker_threads(server):
    # Each worker has its own SO_REUSEPORT listener; the kernel spreads
    # connections by address hash, so 16 connections all landing on one of two
    # workers would happen with probability 2**-15 (16 stays under the default
    # limit of 20 connections per client address).
    clients = [Line(server.smtp) for _ in range(16)]
    for c in clients:
        assert c.reply().startswith("220")
        c.close()
    wait_for(lambda: "worker=0 [Server] connection closed" in server.log_text()
             and "worker=1 [Server] connection closed" in server.log_text(), what="both workers accepting")


def test_many_pipelined_tls_records_are_all_answered(server):
    """Each command in its own TLS record, all sent before any reply is read: the
    server reads them ahead in bulk and must answer every one, including records
    OpenSSL holds beyond one turn's share (the socket does not signal those)."""
    import ssl
    raw = socket.create_connection(("127.0.0.1", server.smtps), timeout=20)
    with client_context().wrap_socket(raw, server_hostname="mx1.contoso.test") as tls:
        reader = tls.makefile("rb")
        assert reader.readline().startswith(b"220 ")
        tls.sendall(b"EHLO client.example\r\n")
        while not reader.readline().startswith(b"250 "):
            pass
        for _ in range(60):
            tls.sendall(b"RSET\r\n")  # one record per call
        tls.sendall(b"QUIT\r\n")
        replies = []
        while True:
            line = reader.readline()
            if not line:
                break
            replies.append(line)
    assert [r[:4] for r in replies] == [b"250 "] * 60 + [b"221 "], replies[-3:]
