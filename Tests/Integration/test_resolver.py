"""Per-handshake certificate choice (DESIGN.md's resolver) seen by openssl s_client,
and `mailedge cert test` agreeing with it, with the ECC flag off and on."""
import json
import shutil
import subprocess

import pytest

from conftest import BIN, wait_for
from pki import CA
from test_cert_manager import fingerprint, import_with_key

RSA_ONLY = ["-sigalgs", "RSA-PSS+SHA256:RSA-PSS+SHA384:RSA+SHA256:RSA+SHA384"]
ECDSA_CAPABLE = []   # s_client's defaults offer ECDSA, P-256 and ECDHE-ECDSA suites


def presented(port, starttls, servername, client_args, extra=()):
    cmd = ["openssl", "s_client", "-ign_eof", "-connect", f"127.0.0.1:{port}", "-showcerts", *client_args, *extra]
    cmd += ["-servername", servername] if servername else ["-noservername"]
    if starttls:
        cmd += ["-starttls", "smtp"]
    result = subprocess.run(cmd, input="QUIT\r\n", capture_output=True, text=True, timeout=30)
    assert "BEGIN CERTIFICATE" in result.stdout, result.stdout + result.stderr
    pem = result.stdout[result.stdout.index("-----BEGIN CERTIFICATE-----"):]
    pem = pem[:pem.index("-----END CERTIFICATE-----") + 25] + "\n"
    text = subprocess.run(["openssl", "x509", "-noout", "-text", "-fingerprint", "-sha256"], input=pem,
                          capture_output=True, text=True, check=True).stdout
    tp = text.strip().splitlines()[-1].split("=", 1)[1].replace(":", "").lower()
    chain_length = result.stdout.count("-----BEGIN CERTIFICATE-----")
    return tp, ("ECC" if "id-ecPublicKey" in text else "RSA"), chain_length


def cert_test(server, name, ecdsa):
    args = [BIN, "cert", "test", "--config", str(server.root / "mailedge.toml"), "--service", "smtp",
            "--connector", "Default Frontend", "--format", "json", "--client-ecdsa" if ecdsa else "--client-rsa-only"]
    if name:
        args += ["--name", name]
    result = subprocess.run(args, cwd=server.root, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture
def loaded_server(make_server, tmp_path):
    root = CA(tmp_path / "pki", "Resolver Root CA")
    issuing = CA(tmp_path / "pki", "Resolver Issuing CA", parent=root)
    leaves = tmp_path / "pki" / "leaves"
    server = make_server(tls={"ecc_certificate_support": False})
    (server.root / "certs" / "trusted").mkdir()
    shutil.copy(root.cert, server.root / "certs" / "trusted" / "root.pem")
    certs = {}
    cert, key = issuing.issue(leaves, "mail.contoso.com", dns=["mail.contoso.com", "autodiscover.contoso.com"])
    certs["san"] = import_with_key(server, cert, key, "--services", "smtp", chain=issuing.cert)
    cert, key = issuing.issue(leaves, "*.fabrikam.com", dns=["*.fabrikam.com"])
    certs["wildcard"] = import_with_key(server, cert, key, "--services", "smtp", chain=issuing.cert)
    cert, key = issuing.issue(leaves, "mail.contoso.com.ecc", dns=["mail.contoso.com"], key="ec")
    certs["ecc"] = import_with_key(server, cert, key, "--services", "smtp", chain=issuing.cert)
    certs["default"] = next(e["Thumbprint"] for e in json.loads(server.cert("list", "--format", "json").stdout)
                            if e["FriendlyName"] == "MailEdge")
    return server, certs


# (SNI, client, expected with flag off, expected with flag on)
CASES = [
    ("mail.contoso.com", "ecdsa", "san", "ecc"),
    ("mail.contoso.com", "rsa", "san", "san"),
    ("MAIL.CONTOSO.COM", "ecdsa", "san", "ecc"),
    ("autodiscover.contoso.com", "ecdsa", "san", "san"),
    ("smtp.fabrikam.com", "ecdsa", "wildcard", "wildcard"),
    ("a.b.fabrikam.com", "rsa", "default", "default"),
    ("fabrikam.com", "rsa", "default", "default"),
    ("mail.contoso.net", "ecdsa", "default", "default"),
    (None, "ecdsa", "default", "default"),
]


@pytest.mark.parametrize("ecc_flag", [False, True])
def test_presented_certificate_matches_resolver_and_cert_test(loaded_server, ecc_flag):
    server, certs = loaded_server
    server.tls = {"ecc_certificate_support": ecc_flag}
    server.restart()
    for name, client, off, on in CASES:
        expected = certs[on if ecc_flag else off]
        client_args = RSA_ONLY if client == "rsa" else ECDSA_CAPABLE
        for port, starttls in ((server.smtp, True), (server.smtps, False)):
            tp, key_type, chain_length = presented(port, starttls, name, client_args)
            assert tp == expected, (name, client, ecc_flag, starttls)
            assert key_type == ("ECC" if expected == certs["ecc"] else "RSA")
            # The stored chain goes with the choice: leaf + issuing CA for the imported
            # certificates, the self-signed default alone.
            assert chain_length == (1 if expected == certs["default"] else 2), (name, client, ecc_flag)
        answer = cert_test(server, name, client == "ecdsa")
        assert answer["thumbprint"] == expected, (name, client, ecc_flag, answer)
    # The connection's one log line carries the handshake, the choice and its reason.
    def closed_line():
        for line in server.log_text().splitlines():
            if ("connection closed" in line and f"certificate={certs['wildcard']}" in line
                    and "certificate_reason=wildcard match for SNI *.fabrikam.com" in line):
                return line
        return None
    wait_for(lambda: closed_line() is not None, what="connection closed line with the wildcard choice")
    line = closed_line()
    assert "sni=smtp.fabrikam.com" in line and "tls_version=TLSv1.2" in line and "cipher=ECDHE-" in line
    assert "reason=" in line and "duration_ms=" in line


def test_ecc_chosen_under_tls13_too(loaded_server):
    server, certs = loaded_server
    server.tls = {"ecc_certificate_support": True, "protocols": ["TLSv1.2", "TLSv1.3"]}
    server.restart()
    tp, key_type, _ = presented(server.smtps, False, "mail.contoso.com", [], extra=["-tls1_3"])
    assert (tp, key_type) == (certs["ecc"], "ECC")
    tp, key_type, _ = presented(server.smtps, False, "mail.contoso.com", ["-sigalgs", "RSA-PSS+SHA256"], extra=["-tls1_3"])
    assert (tp, key_type) == (certs["san"], "RSA")


def test_only_expired_certificate_is_served_and_logged(make_server, tmp_path):
    from datetime import datetime, timedelta, timezone
    root = CA(tmp_path / "pki", "Expiry Root CA")
    server = make_server()
    past = datetime.now(timezone.utc) - timedelta(days=400)
    fmt = lambda d: d.strftime("%Y%m%d%H%M%SZ")
    cert, key = root.issue(tmp_path / "leaves", "mx1.contoso.test", start=fmt(past), end=fmt(past + timedelta(days=30)))
    thumbprint = import_with_key(server, cert, key, "--services", "smtp")
    # Take SMTP away from every other certificate: only the expired one is left.
    for meta in (server.root / "certs").glob("*.json"):
        data = json.loads(meta.read_text())
        if meta.stem != thumbprint:
            data["services"] = [s for s in data["services"] if s != "SMTP"]
            meta.write_text(json.dumps(data))
    server.restart()
    tp, _, _ = presented(server.smtp, True, "mx1.contoso.test", [])
    assert tp == thumbprint
    assert "error" in server.log_text() and "EXPIRED certificate" in server.log_text()
