"""TLS session resumption by tickets: on by default, rotating in-memory keys, or a
key file shared by a farm of servers (a ticket from one resumes on the other)."""
import subprocess

import pytest


def s_client(port, *args, starttls=False):
    cmd = ["openssl", "s_client", "-ign_eof", "-connect", f"127.0.0.1:{port}", *args]
    if starttls:
        cmd += ["-starttls", "smtp"]
    return subprocess.run(cmd, input="QUIT\r\n", capture_output=True, text=True, timeout=30)


@pytest.mark.parametrize("version", ["-tls1_2", "-tls1_3"])
@pytest.mark.parametrize("starttls", [False, True])
def test_ticket_resumption(make_server, tmp_path, version, starttls):
    server = make_server(tls={"protocols": ["TLSv1.2", "TLSv1.3"]})
    port = server.smtp if starttls else server.smtps
    session = tmp_path / "session.pem"
    first = s_client(port, version, "-sess_out", str(session), starttls=starttls)
    assert first.returncode == 0 and "New, TLSv1." in first.stdout
    assert "TLS session ticket:" in first.stdout or "TLS session ticket lifetime hint" in first.stdout
    second = s_client(port, version, "-sess_in", str(session), starttls=starttls)
    assert "Reused, TLSv1." in second.stdout, second.stdout
    # The resumed session carries SMTP: the QUIT sent over it is answered. (STARTTLS:
    # s_client reads the plaintext 220/250 itself, so only the 221 reaches stdout.)
    if not starttls:
        assert "220 mx1.contoso.test" in second.stdout, second.stdout
    assert "221 2.0.0" in second.stdout, second.stdout


def test_farm_shares_ticket_keys(make_server, tmp_path):
    keys = tmp_path / "ticket.keys"
    keys.write_bytes(subprocess.run(["openssl", "rand", "160"], capture_output=True, check=True).stdout)
    a = make_server(tls={"session_ticket_keys": str(keys)})
    b = make_server(tls={"session_ticket_keys": str(keys)})
    # Same certificate on both, as a farm behind one name would have.
    import shutil
    for item in (b.root / "certs").iterdir():
        item.unlink()
    for item in (a.root / "certs").iterdir():
        shutil.copy(item, b.root / "certs" / item.name)
    b.restart()
    session = tmp_path / "session.pem"
    assert "New, TLSv1.2" in s_client(a.smtps, "-sess_out", str(session)).stdout
    assert "Reused, TLSv1.2" in s_client(b.smtps, "-sess_in", str(session)).stdout
    # A server with its own in-memory keys cannot read the farm's tickets.
    c = make_server()
    assert "Reused" not in s_client(c.smtps, "-sess_in", str(session)).stdout


def test_bad_ticket_key_file_is_a_startup_error(make_server, tmp_path):
    keys = tmp_path / "ticket.keys"
    keys.write_bytes(b"too short")
    with pytest.raises(AssertionError) as error:
        make_server(tls={"session_ticket_keys": str(keys)})
    assert "tls.session_ticket_keys" in str(error.value) and "80-byte" in str(error.value)
