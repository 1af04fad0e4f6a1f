"""Domain security (mutual TLS between partner MTAs): DESIGN.md's table of replies,
with a partner PKI made by openssl, swaks and openssl s_client as the partner."""
import socket
import ssl
import subprocess
from datetime import datetime, timedelta, timezone

import pytest

from conftest import Line, free_port, wait_for
from pki import CA

MESSAGE = ("Subject: partner mail\r\nX-MailEdge-AuthAs: Partner\r\nX-MailEdge-AuthDomain: forged.test\r\n"
           "x-mailedge-authmechanism: forged\r\n\tcontinued forged line\r\n\r\nbody X-MailEdge-AuthAs: stays in body\r\n")


@pytest.fixture
def partner(tmp_path):
    """The partner PKI and one certificate per case, plus a server configured for it."""
    pki = tmp_path / "pki"
    root = CA(pki, "Fabrikam Root CA")
    issuing = CA(pki, "Fabrikam Issuing CA", parent=root)
    stranger = CA(pki, "Unknown CA")
    leaves = pki / "leaves"
    certs = {
        "good": issuing.issue(leaves, "mail.fabrikam.com"),
        "untrusted": stranger.issue(leaves, "mx.fabrikam.com"),
        "revoked": issuing.issue(leaves, "old.fabrikam.com"),
        "tailspin": issuing.issue(leaves, "mail.tailspintoys.com"),
    }
    past = datetime.now(timezone.utc) - timedelta(days=400)
    fmt = lambda d: d.strftime("%Y%m%d%H%M%SZ")
    certs["expired"] = issuing.issue(leaves, "exp.fabrikam.com", start=fmt(past), end=fmt(past + timedelta(days=30)))
    self_key, self_cert = leaves / "self.key", leaves / "self.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(self_key), "-out", str(self_cert),
                    "-days", "30", "-subj", "/CN=mail.fabrikam.com", "-addext", "subjectAltName=DNS:mail.fabrikam.com"],
                   check=True, capture_output=True)
    certs["self-signed"] = (self_cert, self_key)
    revoked_leaf = certs["revoked"][0]
    # Partners send their chain: leaf + issuing CA.
    for name in ("good", "revoked", "tailspin", "expired"):
        cert, key = certs[name]
        chained = cert.parent / (cert.name + ".chain.pem")
        chained.write_text(cert.read_text() + issuing.cert.read_text())
        certs[name] = (chained, key)
    trusted = tmp_path / "partner-roots"
    trusted.mkdir()
    (trusted / "fabrikam-root.pem").write_text(root.cert.read_text())
    crl_dir = tmp_path / "partner-crl"
    crl_dir.mkdir()
    issuing.revoke(revoked_leaf)
    issuing.crl(crl_dir / "issuing.crl.pem")
    root.crl(crl_dir / "root.crl.pem")
    certs["issuing-ca"] = issuing.cert
    return certs, trusted, crl_dir


@pytest.fixture
def secure_server(make_server, partner):
    certs, trusted, crl_dir = partner
    plain_port = free_port()
    extra = f"""
[domain_security]
receive_domains = ["fabrikam.com"]
trusted_roots = "{trusted}"
crl_dir = "{crl_dir}"

[[connector]]
name = "Plain Inbound"
protocol = "smtp"
bind = ["127.0.0.1:{plain_port}"]
"""
    server = make_server(domain_secure=True, extra=extra)
    server.plain = plain_port
    server.trusted = trusted
    wait_for(lambda: server._accepts(plain_port), what="plain inbound connector")
    return server, certs


def session(port, cert=None, tls=True):
    c = Line(port)
    assert c.reply().startswith("220")
    c.command("EHLO mx.partner.test")
    if tls:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        if cert:
            context.load_cert_chain(str(cert[0]), str(cert[1]))
        c.starttls(context)
        assert c.command("EHLO mx.partner.test").startswith("250")
    return c


def mail_from(server, port, sender, cert=None, tls=True):
    c = session(port, cert, tls)
    try:
        return c.command(f"MAIL FROM:<{sender}>")
    finally:
        c.close()


def test_intermediate_sent_by_the_client_is_accepted(secure_server):
    server, certs = secure_server
    # Only the partner's root is trusted; python sends leaf + issuing CA.
    assert [p.name for p in server.trusted.iterdir()] == ["fabrikam-root.pem"]
    assert mail_from(server, server.smtp, "bob@fabrikam.com", cert=certs["good"]).startswith("250 2.1.0")


def test_swaks_partner_with_good_certificate_delivers_with_partner_headers(secure_server):
    server, certs = secure_server
    cert, key = certs["good"]
    # swaks sends only its leaf: the admin also trusts the partner's issuing CA.
    (server.trusted / "fabrikam-issuing.pem").write_text(certs["issuing-ca"].read_text())
    server.restart()
    result = subprocess.run([
        "swaks", "--server", "127.0.0.1", "--port", str(server.smtp), "--tls", "--tls-cert", str(cert), "--tls-key", str(key),
        "--from", "bob@fabrikam.com", "--to", "alice@contoso.test", "--helo", "mail.fabrikam.com",
        "--data", MESSAGE.replace("\r\n", "\n")], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    files = wait_for(lambda: server.maildir_new(), what="delivered message")
    data = files[0].read_text()
    header, body = data.split("\n\n", 1)
    assert "X-MailEdge-AuthAs: Partner\n" in header
    assert "X-MailEdge-AuthMechanism: MutualTLS\n" in header
    assert "X-MailEdge-AuthDomain: fabrikam.com\n" in header
    assert 'client certificate subject="CN=mail.fabrikam.com" issuer="CN=Fabrikam Issuing CA" verify=OK' in header
    assert "forged" not in header and "continued forged line" not in header
    assert "X-MailEdge-AuthAs: stays in body" in body
    assert "domain security: partner session" in server.log_text()
    assert "subject=CN=mail.fabrikam.com" in server.log_text() and "verification=OK" in server.log_text()


def test_openssl_s_client_with_good_certificate(secure_server):
    server, certs = secure_server
    cert, key = certs["good"]
    # One command at a time, each answer awaited: s_client is the partner MTA.
    proc = subprocess.Popen(["openssl", "s_client", "-quiet", "-starttls", "smtp", "-connect", f"127.0.0.1:{server.smtp}",
                             "-cert", str(cert), "-key", str(key), "-cert_chain", str(certs["issuing-ca"])],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, bufsize=1)
    try:
        def say(line):
            proc.stdin.write(line + "\r\n")
            proc.stdin.flush()
            while True:
                reply = proc.stdout.readline()
                assert reply, "connection closed"
                if len(reply) >= 4 and reply[3] == " ":
                    return reply
        assert say("EHLO mail.fabrikam.com").startswith("250 ")
        assert say("MAIL FROM:<carol@fabrikam.com>").startswith("250 2.1.0")
        assert say("RCPT TO:<alice@contoso.test>").startswith("250 2.1.5")
        assert say("QUIT").startswith("221")
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.parametrize("case, code, reason", [
    ("no-starttls", "530 5.7.1", "did not use STARTTLS"),
    ("no-certificate", "530 5.7.1", "sent no certificate"),
    ("self-signed", "454 4.7.5", "self-signed"),
    ("untrusted", "454 4.7.5", "untrusted issuer"),
    ("expired", "454 4.7.5", "expired"),
    ("revoked", "454 4.7.5", "revoked"),
    ("tailspin", "454 4.7.5", "none of which is fabrikam.com"),
])
def test_refusals_have_the_right_code_and_logged_reason(secure_server, case, code, reason):
    server, certs = secure_server
    cert = certs.get(case)
    reply = mail_from(server, server.smtp, "bob@fabrikam.com", cert=cert, tls=(case != "no-starttls"))
    assert reply.startswith(code), reply
    wait_for(lambda: "domain security: refused" in server.log_text() and reason in server.log_text(), what=f"log reason {reason}")


def test_secure_domain_on_connector_without_domain_security(secure_server):
    server, certs = secure_server
    reply = mail_from(server, server.plain, "bob@fabrikam.com", cert=certs["good"])
    assert reply.startswith("451 4.7.3"), reply


def test_new_mail_from_is_checked_again(secure_server):
    server, certs = secure_server
    c = session(server.smtp)  # TLS without certificate
    assert c.command("MAIL FROM:<bob@contoso-partner.test>").startswith("250")
    assert c.command("RSET").startswith("250")
    assert c.command("MAIL FROM:<bob@fabrikam.com>").startswith("530 5.7.1")
    c.close()


@pytest.mark.parametrize("with_cert", [False, True])
def test_other_domains_deliver_with_or_without_certificate(secure_server, with_cert):
    server, certs = secure_server
    c = session(server.smtp, certs["good"] if with_cert else None)
    assert c.command("MAIL FROM:<someone@northwind.test>").startswith("250")
    assert c.command("RCPT TO:<alice@contoso.test>").startswith("250")
    assert c.command("DATA").startswith("354")
    c.send(MESSAGE.encode() + b".\r\n")
    assert c.reply().startswith("250")
    c.close()
    data = wait_for(lambda: server.maildir_new(), what="message")[0].read_text()
    header = data.split("\n\n", 1)[0]
    assert "X-MailEdge-Auth" not in header  # forged ones removed, none added
