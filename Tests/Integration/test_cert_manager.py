"""The certificate manager end to end: `mailedge cert ...` and `mailedge check`
against certificates made by a real openssl CA, and what the server presents."""
import json
import re
import shutil
import subprocess
from datetime import datetime, timedelta, timezone

import pytest

from conftest import BIN
from pki import CA, run, x509_field
from test_tls import presented_fingerprint, s_client


def list_format(server, thumbprint):
    out = server.cert("show", thumbprint, "--format", "list").stdout
    return {k.strip(): v.strip() for k, v in (line.split(" : ", 1) for line in out.splitlines() if " : " in line)}


def show_json(server, thumbprint):
    return json.loads(server.cert("show", thumbprint, "--format", "json").stdout)


def fingerprint(pem):
    return x509_field(pem, "-fingerprint", "-sha256").strip().split("=", 1)[1].replace(":", "").lower()


def openssl_date(pem, which):
    text = x509_field(pem, f"-{which}").strip().split("=", 1)[1]
    return datetime.strptime(text.replace("  ", " "), "%b %d %H:%M:%S %Y GMT").replace(tzinfo=timezone.utc)


@pytest.fixture
def pki(tmp_path):
    root = CA(tmp_path / "pki", "MailEdge Test Root CA")
    intermediate = CA(tmp_path / "pki", "MailEdge Test Issuing CA", parent=root)
    return root, intermediate, tmp_path / "pki" / "leaves"


def trust(server, ca):
    folder = server.root / "certs" / "trusted"
    folder.mkdir(exist_ok=True)
    shutil.copy(ca.cert, folder / "root.pem")


def test_cert_list_agrees_with_openssl_on_every_property(server):
    listed = json.loads(server.cert("list", "--format", "json").stdout)
    assert len(listed) == 3
    for entry in listed:
        pem = server.root / "certs" / f"{entry['Thumbprint']}.pem"
        props = list_format(server, entry["Thumbprint"][:12])
        text = x509_field(pem, "-text")
        assert props["Thumbprint"] == fingerprint(pem)
        subject = x509_field(pem, "-subject", "-nameopt", "RFC2253").strip().split("=", 1)[1]
        issuer = x509_field(pem, "-issuer", "-nameopt", "RFC2253").strip().split("=", 1)[1]
        assert props["Subject"] == subject and props["Issuer"] == issuer
        serial = x509_field(pem, "-serial").strip().split("=", 1)[1].lower().lstrip("0")
        assert props["SerialNumber"].lower().lstrip("0") == serial
        assert datetime.fromisoformat(props["NotBefore"].replace("Z", "+00:00")) == openssl_date(pem, "startdate")
        assert datetime.fromisoformat(props["NotAfter"].replace("Z", "+00:00")) == openssl_date(pem, "enddate")
        assert f"Public-Key: ({props['PublicKeySize']} bit)" in text
        assert props["KeyAlgorithm"] == "RSA" and "rsaEncryption" in text
        assert f"Signature Algorithm: {props['SignatureAlgorithm']}" in text
        assert props["IsSelfSigned"] == "True" and props["RootCAType"] == "None"
        assert props["Status"] == "Valid" and props["HasPrivateKey"] == "True"
        san = re.findall(r"DNS:([^,\s]+)", text)
        cn = subject.split("CN=", 1)[1]
        assert props["CertificateDomains"].split(", ") == san + ([cn] if cn not in san else [])
        assert "Server Authentication (1.3.6.1.5.5.7.3.1)" in props["EnhancedKeyUsageList"]
        assert "TLS Web Server Authentication" in text
        ku = {"digitalSignature": "Digital Signature", "keyEncipherment": "Key Encipherment", "dataEncipherment": "Data Encipherment"}
        usage_line = text.split("X509v3 Key Usage: critical\n", 1)[1].splitlines()[0].strip()
        assert ", ".join(ku[k] for k in props["KeyUsage"].split(", ")) == usage_line
        meta = json.loads((server.root / "certs" / f"{entry['Thumbprint']}.json").read_text())
        assert props["PrivateKeyExportable"] == ("True" if meta["exportable"] else "False")
        assert props["Services"] == ", ".join(meta["services"])
    table = server.cert("list").stdout
    assert table.splitlines()[0].split() == ["Thumbprint", "Services", "Subject", "NotAfter", "Status"]


def test_request_sign_import_enable_is_presented_after_restart(make_server, pki):
    root, issuing, leaves = pki
    server = make_server()
    out = server.cert("request", "--domains", "mx1.contoso.test,smtp.contoso.test", "--services", "smtp")
    csr_text = out.stdout
    assert csr_text.startswith("-----BEGIN CERTIFICATE REQUEST-----")
    requests = list((server.root / "certs" / "requests").glob("*.key"))
    assert len(requests) == 1 and oct(requests[0].stat().st_mode & 0o777) == "0o600"
    pending = json.loads(server.cert("list", "--format", "json").stdout)
    assert [p["Status"] for p in pending].count("PendingRequest") == 1
    csr = leaves / "mx1.csr"
    leaves.mkdir(parents=True)
    csr.write_text(csr_text)
    run("openssl", "req", "-in", str(csr), "-noout", "-verify")
    issued = issuing.sign(csr, leaves / "mx1.pem")
    # The CA hands back the leaf and its issuing CA, in the wrong order on purpose.
    bundle = leaves / "fullchain.pem"
    bundle.write_text(issuing.cert.read_text() + issued.read_text())
    trust(server, root)
    imported = server.cert("import", str(bundle)).stdout
    thumbprint = fingerprint(issued)
    assert thumbprint in imported
    assert not list((server.root / "certs" / "requests").glob("*.key"))  # request consumed
    props = show_json(server, thumbprint[:10])
    assert props["Status"] == "Valid" and props["RootCAType"] == "Enterprise" and not props["IsSelfSigned"]
    assert props["Services"] == ["SMTP"] and props["HasPrivateKey"]
    stored_chain = (server.root / "certs" / f"{thumbprint}.pem").read_text()
    assert stored_chain.index(issued.read_text().strip()) < stored_chain.index(issuing.cert.read_text().strip())
    assert server.cert("enable", thumbprint[:12], "--services", "smtp,imap").returncode == 0
    assert show_json(server, thumbprint[:12])["Services"] == ["SMTP", "IMAP"]
    server.restart()
    for port, starttls in ((server.smtp, True), (server.smtps, False)):
        presented, subject = presented_fingerprint(port, starttls)
        assert presented == thumbprint, subject
    result = s_client(server.smtp, "-CAfile", str(root.cert), "-verify_return_error", "-verify_hostname", "mx1.contoso.test")
    assert "Verify return code: 0 (ok)" in result.stdout


def test_import_without_key_is_refused(server, pki):
    root, issuing, leaves = pki
    cert, _ = issuing.issue(leaves, "orphan.contoso.test")
    result = server.cert("import", str(cert), check=False)
    assert result.returncode == 1
    assert "no private key" in result.stderr and "orphan.contoso.test" in result.stderr


def test_pkcs12_import_and_export_round_trip(server, pki, tmp_path):
    root, issuing, leaves = pki
    cert, key = issuing.issue(leaves, "pfx.contoso.test")
    p12 = tmp_path / "in.p12"
    run("openssl", "pkcs12", "-export", "-in", str(cert), "-inkey", str(key), "-certfile", str(issuing.cert),
        "-out", str(p12), "-passout", "pass:import-pass")
    wrong = server.cert("import", str(p12), "--password-stdin", stdin="nope\n", check=False)
    assert wrong.returncode == 1 and "password" in wrong.stderr.lower()
    server.cert("import", str(p12), "--password-stdin", "--exportable", stdin="import-pass\n")
    thumbprint = fingerprint(cert)
    props = show_json(server, thumbprint[:10])
    assert props["HasPrivateKey"] and props["PrivateKeyExportable"]
    out = tmp_path / "out.p12"
    server.cert("export", thumbprint[:10], "--type", "pkcs12", "--out", str(out), "--password-stdin", stdin="export-pass\n")
    assert oct(out.stat().st_mode & 0o777) == "0o600"
    dumped = run("openssl", "pkcs12", "-in", str(out), "-nodes", "-passin", "pass:export-pass")
    assert "PRIVATE KEY" in dumped
    leaf_pem = dumped[dumped.index("-----BEGIN CERTIFICATE-----"):]
    leaf_pem = leaf_pem[:leaf_pem.index("-----END CERTIFICATE-----") + 25] + "\n"
    assert run("openssl", "x509", "-noout", "-fingerprint", "-sha256", input=leaf_pem).strip().split("=", 1)[1].replace(":", "").lower() == thumbprint
    key_pub = run("openssl", "pkey", "-pubout", input=dumped[dumped.index("-----BEGIN PRIVATE KEY-----"):])
    assert key_pub == run("openssl", "x509", "-noout", "-pubkey", "-in", str(cert))


def test_export_of_non_exportable_key_is_refused(server, tmp_path):
    main = next(e for e in json.loads(server.cert("list", "--format", "json").stdout) if e["FriendlyName"] == "MailEdge")
    out = tmp_path / "main.pem"
    result = server.cert("export", main["Thumbprint"][:10], "--out", str(out), check=False)
    assert result.returncode == 1 and "not exportable" in result.stderr
    assert not out.exists()
    assert server.cert("export", main["Thumbprint"][:10], "--out", str(out), "--certificate-only").returncode == 0
    assert "PRIVATE KEY" not in out.read_text()


def import_with_key(server, cert, key, *extra, chain=None):
    bundle = cert.with_suffix(".bundle.pem")
    bundle.write_text(cert.read_text() + (chain.read_text() if chain else "") + key.read_text())
    server.cert("import", str(bundle), *extra)
    return fingerprint(cert)


def test_status_expired_not_yet_valid_unknown_ca_revoked(server, pki, tmp_path):
    root, issuing, leaves = pki
    trust(server, root)
    past = datetime.now(timezone.utc) - timedelta(days=400)
    future = datetime.now(timezone.utc) + timedelta(days=30)
    fmt = lambda d: d.strftime("%Y%m%d%H%M%SZ")
    cases = {}
    cert, key = issuing.issue(leaves, "expired.contoso.test", start=fmt(past), end=fmt(past + timedelta(days=30)))
    cases["Expired"] = import_with_key(server, cert, key, chain=issuing.cert)
    cert, key = issuing.issue(leaves, "future.contoso.test", start=fmt(future), end=fmt(future + timedelta(days=365)))
    cases["NotYetValid"] = import_with_key(server, cert, key, chain=issuing.cert)
    stranger = CA(tmp_path / "other", "Unknown Root CA")
    cert, key = stranger.issue(leaves, "stranger.contoso.test")
    cases["Untrusted"] = import_with_key(server, cert, key, chain=stranger.cert)
    cert, key = issuing.issue(leaves, "revoked.contoso.test")
    cases["Revoked"] = import_with_key(server, cert, key, chain=issuing.cert)
    good, good_key = issuing.issue(leaves, "good.contoso.test")
    cases["Valid"] = import_with_key(server, good, good_key, chain=issuing.cert)
    issuing.revoke(cert)
    crl_dir = server.root / "certs" / "crl"
    crl_dir.mkdir()
    issuing.crl(crl_dir / "issuing.crl.pem")
    root.crl(crl_dir / "root.crl.pem")
    for status, thumbprint in cases.items():
        props = show_json(server, thumbprint[:12])
        assert props["Status"] == status, (status, props)
    assert show_json(server, cases["Untrusted"][:12])["RootCAType"] == "Unknown"


def check(server, *args):
    result = subprocess.run([BIN, "check", "--config", str(server.root / "mailedge.toml"), "--format", "json", *args],
                            cwd=server.root, capture_output=True, text=True, timeout=60)
    return result.returncode, json.loads(result.stdout)


def test_check_is_clean_on_a_good_config(make_server, pki):
    root, issuing, leaves = pki
    server = make_server()
    trust(server, root)
    cert, key = issuing.issue(leaves, "mx1.contoso.test", dns=["mx1.contoso.test"])
    bundle = leaves / "good.pem"
    bundle.write_text(cert.read_text() + issuing.cert.read_text() + key.read_text())
    server.cert("import", str(bundle), "--services", "smtp,imap,pop")
    code, report = check(server, "--strict")
    assert (code, report["findings"]) == (0, [])


def test_check_flags_each_problem(make_server, pki, tmp_path):
    root, issuing, leaves = pki
    server = make_server(tls={"ecc_certificate_support": False})
    trust(server, root)
    code, report = check(server)
    # Only the self-signed defaults: warnings for client-facing connectors, no errors.
    assert code == 0 and report["errors"] == 0
    assert any("self-signed" in f["message"] and "Client Frontend" in f["subject"] for f in report["findings"])
    assert check(server, "--strict")[0] == 1

    past = datetime.now(timezone.utc) - timedelta(days=400)
    soon = datetime.now(timezone.utc) + timedelta(days=10)
    fmt = lambda d: d.strftime("%Y%m%d%H%M%SZ")
    made = {
        "expired": issuing.issue(leaves, "expired.contoso.test", start=fmt(past), end=fmt(past + timedelta(days=30))),
        "expiring": issuing.issue(leaves, "soon.contoso.test", start=fmt(past), end=fmt(soon)),
        "wildcard": issuing.issue(leaves, "wild.contoso.test", dns=["wild.contoso.test", "*.com"]),
        "ecc": issuing.issue(leaves, "ecc.contoso.test", key="ec"),
        "weak": issuing.issue(leaves, "weak.contoso.test", key="rsa:1024"),
        "sha1": issuing.issue(leaves, "sha1.contoso.test", md="sha1"),
        "untrusted": CA(tmp_path / "other", "Unknown Root CA").issue(leaves, "stranger.contoso.test"),
    }
    thumbprints = {name: import_with_key(server, cert, key, "--services", "smtp",
                                         chain=None if name == "untrusted" else issuing.cert)
                   for name, (cert, key) in made.items()}
    # A CA-issued leaf without its intermediate: the chain is missing.
    cert, key = issuing.issue(leaves, "nochain.contoso.test")
    (server.root / "certs" / "trusted" / "root.pem").write_text(root.cert.read_text())
    thumbprints["missing chain"] = import_with_key(server, cert, key, "--services", "imap")
    # A certificate enabled but without its private key.
    cert, _ = issuing.issue(leaves, "nokey.contoso.test")
    tp = fingerprint(cert)
    shutil.copy(cert, server.root / "certs" / f"{tp}.pem")
    (server.root / "certs" / f"{tp}.json").write_text(json.dumps(
        {"friendlyName": "no key", "services": ["SMTP"], "exportable": False, "origin": "test"}))
    thumbprints["no key"] = tp
    # A connector whose fqdn nothing covers.
    server.connector_fqdn = "uncovered.fabrikam.test"
    server.write_config()

    code, report = check(server)
    assert code == 2
    findings = report["findings"]

    def flagged(thumbprint, words, severity):
        return any(f["subject"].startswith(thumbprint[:16]) and words in f["message"] and f["severity"] == severity
                   for f in findings)

    assert flagged(thumbprints["expired"], "expired on", "error")
    assert flagged(thumbprints["expiring"], "expires in", "warning")
    assert flagged(thumbprints["wildcard"], "public suffix", "error")
    assert flagged(thumbprints["ecc"], "ecc_certificate_support is off", "warning")
    assert flagged(thumbprints["weak"], "1024 bits", "error")
    assert flagged(thumbprints["sha1"], "SHA-1", "error")
    assert flagged(thumbprints["untrusted"], "trusted root", "error")
    assert flagged(thumbprints["missing chain"], "missing chain", "error")
    assert flagged(thumbprints["no key"], "no private key", "error")
    assert any("uncovered.fabrikam.test is not covered" in f["message"] for f in findings)


def test_wizard_proposes_the_minimal_names(tmp_path):
    config = tmp_path / "mailedge.toml"
    config.write_text("""
[server]
name = "mail01"
fqdn = "mail01.contoso.com"
[store]
accepted_domains = ["contoso.com"]
[[connector]]
name = "Default Frontend"
protocol = "smtp"
bind = ["127.0.0.1:2525"]
fqdn = "mail.contoso.com"
[[connector]]
name = "Client Frontend"
protocol = "submission"
bind = ["127.0.0.1:2587"]
fqdn = "mail.contoso.com"
[[connector]]
name = "Client Frontend SMTPS"
protocol = "submission"
bind = ["127.0.0.1:2465"]
tls = "implicit"
fqdn = "mail.contoso.com"
""")
    result = subprocess.run([BIN, "cert", "request", "--wizard", "--config", str(config)], cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    proposed = re.findall(r"^  (\S+)$", result.stdout, re.M)
    assert proposed == ["mail.contoso.com", "autodiscover.contoso.com"]
    assert "because: fqdn of connector" in result.stdout and "autodiscover" in result.stdout
    csr = result.stdout[result.stdout.index("-----BEGIN CERTIFICATE REQUEST-----"):]
    text = run("openssl", "req", "-noout", "-text", input=csr)
    assert "DNS:mail.contoso.com, DNS:autodiscover.contoso.com" in text
    assert "CN = mail.contoso.com" in text or "CN=mail.contoso.com" in text


def test_cert_new_self_signed_and_ecc_refused_for_auth(server):
    out = server.cert("new", "--subject", "CN=mail.contoso.test, O=Contoso", "--domains", "mail.contoso.test,autodiscover.contoso.test",
                      "--key", "ecdsa-p256", "--days", "90", "--services", "smtp").stdout
    thumbprint = out.split()[1]
    props = show_json(server, thumbprint[:10])
    assert props["KeyAlgorithm"] == "ECC" and props["PublicKeySize"] == 256
    assert props["Subject"] == "O=Contoso,CN=mail.contoso.test"
    assert props["CertificateDomains"] == ["mail.contoso.test", "autodiscover.contoso.test"]
    refused = server.cert("new", "--auth", "--key", "ecdsa-p256", "--domains", "x.contoso.test", check=False)
    assert refused.returncode == 1 and "Auth certificate must be RSA" in refused.stderr
    warned = server.cert("enable", thumbprint[:10], "--services", "imap")
    assert "ecc_certificate_support is off" in warned.stderr


def test_remove_refuses_a_pinned_certificate(make_server):
    server = make_server()
    main = next(e for e in json.loads(server.cert("list", "--format", "json").stdout) if e["FriendlyName"] == "MailEdge")
    server.extra = ""
    text = server.config_text().replace('name = "Default Frontend"', f'name = "Default Frontend"\ncertificate = "{main["Thumbprint"][:16]}"')
    (server.root / "mailedge.toml").write_text(text)
    refused = server.cert("remove", main["Thumbprint"][:12], check=False)
    assert refused.returncode == 1 and "pinned" in refused.stderr and "Default Frontend" in refused.stderr
    assert server.cert("remove", main["Thumbprint"][:12], "--force").returncode == 0
    assert not (server.root / "certs" / f"{main['Thumbprint']}.pem").exists()


def test_config_certificate_read_in_place(make_server, pki):
    root, issuing, leaves = pki
    cert, key = issuing.issue(leaves, "mx1.contoso.test")
    fullchain = leaves / "fullchain.pem"
    fullchain.write_text(cert.read_text() + issuing.cert.read_text())
    server = make_server(extra=f'[[certificate]]\npath = "{fullchain}"\nkey = "{key}"\nfriendly_name = "certbot"\nservices = ["smtp"]\n')
    trust(server, root)
    server.restart()
    presented, _ = presented_fingerprint(server.smtp, True)
    assert presented == fingerprint(cert)
    listed = {e["Thumbprint"]: e for e in json.loads(server.cert("list", "--format", "json").stdout)}
    assert listed[fingerprint(cert)]["Source"] == f"config: {fullchain}"
    assert not (server.root / "certs" / f"{fingerprint(cert)}.pem").exists()  # read in place, not copied
    # A damaged file is reported with its path and does not hide the others.
    key.write_text("-----BEGIN PRIVATE KEY-----\ngarbage\n-----END PRIVATE KEY-----\n")
    result = server.cert("list", check=False)
    assert result.returncode == 0 and str(key) in result.stderr
    assert len(result.stdout.strip().splitlines()) == 2 + 3


def test_wizard_warns_when_a_wildcard_would_need_two_levels(tmp_path):
    config = tmp_path / "mailedge.toml"
    config.write_text("""
[store]
accepted_domains = ["contoso.com"]
[[connector]]
name = "Submission"
protocol = "submission"
bind = ["127.0.0.1:2587"]
fqdn = "mail.contoso.com"
[[connector]]
name = "Europe"
protocol = "submission"
bind = ["127.0.0.1:2588"]
fqdn = "mail.eu.contoso.com"
""")
    result = subprocess.run([BIN, "cert", "request", "--config", str(config)], cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert re.findall(r"^  (\S+)$", result.stdout, re.M) == ["mail.contoso.com", "mail.eu.contoso.com", "autodiscover.contoso.com"]
    assert "wildcard certificate would be needed at two levels" in result.stderr
