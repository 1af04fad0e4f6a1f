"""Default certificates (DESIGN.md's table) checked with the openssl CLI, config
errors and the user commands, through the real `mailedge` binary."""
import glob
import json
import os
import stat
import subprocess
from datetime import datetime

import pytest

from conftest import BIN, PASSWORD


def x509_text(pem):
    return subprocess.run(["openssl", "x509", "-in", str(pem), "-noout", "-text"],
                          capture_output=True, text=True, check=True).stdout


def x509_dates(pem):
    out = subprocess.run(["openssl", "x509", "-in", str(pem), "-noout", "-startdate", "-enddate"],
                         capture_output=True, text=True, check=True).stdout
    values = dict(line.split("=", 1) for line in out.strip().splitlines())
    parse = lambda v: datetime.strptime(v.replace("  ", " "), "%b %d %H:%M:%S %Y GMT")
    return parse(values["notBefore"]), parse(values["notAfter"])


def certificates_by_name(server):
    found = {}
    for meta in (server.root / "certs").glob("*.json"):
        data = json.loads(meta.read_text())
        found[data["friendlyName"]] = (meta.with_suffix(".pem"), meta.with_suffix(".key"), data)
    return found


def test_three_default_certificates_match_the_design_table(server):
    certs = certificates_by_name(server)
    assert set(certs) == {"MailEdge", "MailEdge Server Auth Certificate", "Management"}
    expected = {
        "MailEdge": dict(subject="CN = mx1", san="DNS:mx1, DNS:mx1.contoso.test", years=5,
                         ku="Digital Signature, Key Encipherment", bc="CA:FALSE",
                         services=["IMAP", "POP", "SMTP", "HTTPS"], exportable=False),
        "MailEdge Server Auth Certificate": dict(subject="CN = MailEdge Server Auth Certificate", san=None, years=5,
                                                 ku="Digital Signature, Key Encipherment", bc="CA:FALSE",
                                                 services=["SMTP"], exportable=True),
        "Management": dict(subject="CN = WMSvc-mx1", san="DNS:WMSvc-mx1", years=10,
                           ku="Digital Signature, Key Encipherment, Data Encipherment", bc=None,
                           services=["Management"], exportable=True),
    }
    for name, want in expected.items():
        pem, key, meta = certs[name]
        text = x509_text(pem)
        assert f"Subject: {want['subject']}\n" in text, (name, text)
        assert f"Issuer: {want['subject']}\n" in text  # self-signed
        assert "Public-Key: (2048 bit)" in text and "rsaEncryption" in text
        assert "Signature Algorithm: sha256WithRSAEncryption" in text
        assert "TLS Web Server Authentication" in text
        assert want["ku"] + "\n" in text
        if want["san"]:
            assert want["san"] + "\n" in text
        else:
            assert "Subject Alternative Name" not in text
        if want["bc"]:
            assert "X509v3 Basic Constraints: critical\n                CA:FALSE" in text
        else:
            assert "Basic Constraints" not in text
        not_before, not_after = x509_dates(pem)
        assert not_after.year - not_before.year == want["years"]
        assert (not_after.month, not_after.day) == (not_before.month, not_before.day)
        assert meta["services"] == want["services"] and meta["exportable"] == want["exportable"]
        assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
        # The key belongs to the certificate.
        pub_cert = subprocess.run(["openssl", "x509", "-in", str(pem), "-noout", "-pubkey"], capture_output=True, text=True).stdout
        pub_key = subprocess.run(["openssl", "pkey", "-in", str(key), "-pubout"], capture_output=True, text=True).stdout
        assert pub_cert == pub_key
    assert "PRIVATE KEY" not in server.log_text()


def test_certificates_are_kept_across_restarts(make_server):
    server = make_server()
    before = sorted(p.name for p in (server.root / "certs").iterdir())
    server.stop()
    server.start()
    assert sorted(p.name for p in (server.root / "certs").iterdir()) == before


def run_serve(tmp_path, config):
    path = tmp_path / "bad.toml"
    path.write_text(config)
    return subprocess.run([BIN, "serve", "--config", str(path)], cwd=tmp_path,
                          capture_output=True, text=True, timeout=30)


@pytest.mark.parametrize("config, key, words", [
    ('[[connector]]\nname="a"\nprotocol="smtps"\nbind=["127.0.0.1:2525"]\n', "connector[0].protocol", "smtps"),
    ('[[connector]]\nname="a"\nprotocol="smtp"\nbind=["127.0.0.1:99999"]\n', "connector[0].bind[0]", "99999"),
    ('[[connector]]\nname="a"\nprotocol="smtp"\nbind=["127.0.0.1:2525"]\n[[connector]]\nname="b"\nprotocol="smtp"\nbind=["127.0.0.1:2525"]\n',
     "connector[1].bind[0]", "127.0.0.1:2525"),
    ('[tls]\nprotocols=["TLSv1.1","TLSv1.2"]\n[[connector]]\nname="a"\nprotocol="smtp"\nbind=["127.0.0.1:2525"]\n', "tls.protocols", "1.1"),
    ('[tls]\nciphers="ECDHE-RSA-AES128-GCM-SHA256:RC4-SHA"\n[[connector]]\nname="a"\nprotocol="smtp"\nbind=["127.0.0.1:2525"]\n', "tls.ciphers", "RC4-SHA"),
    ('[[connector]]\nname="a"\nprotocol="smtp"\nbind=["127.0.0.1:2525"]\nrequre_tls=true\n', "connector[0].requre_tls", "unknown"),
])
def test_bad_config_names_the_key_and_does_not_start(tmp_path, config, key, words):
    result = run_serve(tmp_path, config)
    assert result.returncode == 2
    assert key in result.stderr and words in result.stderr, result.stderr
    assert not (tmp_path / "certs").exists()  # nothing was started or created


def test_check_reports_all_errors_at_once(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('[tls]\nprotocols=["TLSv1.0"]\n[[connector]]\nname="a"\nprotocol="smtps"\nbind=["nowhere"]\n')
    result = subprocess.run([BIN, "check", "--config", str(path)], capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    for key in ("tls.protocols", "connector[0].protocol", "connector[0].bind[0]"):
        assert key in result.stdout


def test_user_commands(tmp_path):
    def cli(*args, stdin=None):
        return subprocess.run([BIN, *args], cwd=tmp_path, input=stdin, capture_output=True, text=True, timeout=60)
    assert cli("user", "add", "bob", "--password-stdin", stdin="s3cret-pass\n").returncode == 0
    users = tmp_path / "var" / "users"
    assert stat.S_IMODE(os.stat(users).st_mode) == 0o600
    text = users.read_text()
    assert text.startswith("bob:scrypt$") and "s3cret-pass" not in text
    assert (tmp_path / "var/mail/bob/new").is_dir()
    duplicate = cli("user", "add", "bob", "--password-stdin", stdin="x\n")
    assert duplicate.returncode == 1 and "already exists" in duplicate.stderr
    assert cli("user", "add", "Bad/Name", "--password-stdin", stdin="x\n").returncode == 1
    assert cli("user", "passwd", "bob", "--password-stdin", stdin="another-pass\n").returncode == 0
    assert users.read_text() != text
    assert cli("user", "list").stdout.split() == ["bob"]
    assert cli("user", "remove", "bob").returncode == 0
    assert cli("user", "list").stdout.split() == []
    assert cli("user", "remove", "bob").returncode == 1


def _environ(pid):
    with open(f"/proc/{pid}/environ", "rb") as f:
        return dict(entry.split("=", 1) for entry in f.read().decode().split("\0") if "=" in entry)


@pytest.mark.parametrize("given", [None, "glibc.malloc.perturb=0", "glibc.malloc.tcache_count=7"])
def test_serve_sets_its_malloc_tunable_by_reexecuting_itself(make_server, given):
    # glibc reads GLIBC_TUNABLES only at process start: `serve` re-executes itself once
    # with glibc.malloc.tcache_count=100 added, keeping its PID (what systemd and the
    # tests track), its arguments and any other tunable; an administrator's own
    # tcache_count is left alone (no re-execution). The server then serves:
    # make_server waits for every listener and a connection on each.
    inherited = os.environ.get("GLIBC_TUNABLES", "")
    server = make_server(env=None if given is None else {"GLIBC_TUNABLES": given})
    pid = server.proc.pid
    environ = _environ(pid)
    assert os.path.realpath(f"/proc/{pid}/exe") == os.path.realpath(BIN)
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        assert f.read().split(b"\0")[1:4] == [b"serve", b"--config", str(server.root / "mailedge.toml").encode()]
    assert server.log_text().count("configuration loaded") == 1
    own = given if given is not None else inherited
    if "tcache_count" in own:
        assert "MAILEDGE_MALLOC_TUNED" not in environ
        assert environ.get("GLIBC_TUNABLES") == own
    else:
        assert environ.get("MAILEDGE_MALLOC_TUNED") == "1"
        combined = f"{own}:glibc.malloc.tcache_count=100" if own else "glibc.malloc.tcache_count=100"
        # Some glibc versions (2.36 here) end the string after the first tunable's
        # value in place while they parse it, so /proc may show only that part.
        assert environ.get("GLIBC_TUNABLES") in (combined, combined.split(":")[0])
        # The dynamic loader reads the combined string as intended.
        loaders = sorted(glob.glob("/lib64/ld-linux-*.so.*") + glob.glob("/lib/ld-linux-*.so.*"))
        if loaders:
            listed = subprocess.run([loaders[0], "--list-tunables"], capture_output=True, text=True,
                                    env={"GLIBC_TUNABLES": combined}).stdout
            assert "glibc.malloc.tcache_count: 0x64" in listed
