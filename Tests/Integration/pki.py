"""A throwaway PKI made with the openssl CLI: root and intermediate CAs, leaves
with chosen dates, revocation and CRLs. Everything lives in one temp folder."""
import subprocess
from pathlib import Path

CA_CONFIG = """
[ ca ]
default_ca = this_ca
[ this_ca ]
dir = {dir}
database = $dir/index.txt
new_certs_dir = $dir/newcerts
serial = $dir/serial
crlnumber = $dir/crlnumber
default_md = sha256
default_days = 365
default_crl_days = 30
policy = anything
copy_extensions = copy
unique_subject = no
[ anything ]
commonName = supplied
organizationName = optional
countryName = optional
[ leaf ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth,clientAuth
[ sub_ca ]
basicConstraints = critical,CA:TRUE,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
"""


def run(*args, cwd=None, input=None):
    result = subprocess.run(list(args), cwd=cwd, input=input, capture_output=True, text=True)
    if result.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed:\n{result.stdout}{result.stderr}")
    return result.stdout


class CA:
    """A CA that signs with `openssl ca`, so it can revoke and publish CRLs."""

    def __init__(self, folder: Path, name: str, parent: "CA" = None):
        self.dir = folder / name.replace(" ", "_")
        (self.dir / "newcerts").mkdir(parents=True)
        (self.dir / "index.txt").write_text("")
        (self.dir / "serial").write_text("1000\n")
        (self.dir / "crlnumber").write_text("1000\n")
        self.config = self.dir / "ca.cnf"
        self.config.write_text(CA_CONFIG.format(dir=self.dir))
        self.key = self.dir / "ca.key"
        self.cert = self.dir / "ca.pem"
        self.name = name
        self.parent = parent
        if parent is None:
            run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(self.key),
                "-out", str(self.cert), "-days", "3650", "-subj", f"/CN={name}",
                "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        else:
            csr = self.dir / "ca.csr"
            run("openssl", "req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", str(self.key),
                "-out", str(csr), "-subj", f"/CN={name}")
            parent.sign(csr, self.cert, extensions="sub_ca", days=1825)

    def sign(self, csr, out, extensions="leaf", days=365, start=None, end=None, md="sha256"):
        args = ["openssl", "ca", "-batch", "-config", str(self.config), "-cert", str(self.cert),
                "-keyfile", str(self.key), "-in", str(csr), "-out", str(out), "-extensions", extensions,
                "-notext", "-md", md]
        if start:
            args += ["-startdate", start, "-enddate", end]
        else:
            args += ["-days", str(days)]
        run(*args)
        return Path(out)

    def issue(self, folder: Path, name: str, dns=None, key="rsa:2048", **kwargs):
        """Key + certificate for `name`; returns (cert path, key path)."""
        folder.mkdir(parents=True, exist_ok=True)
        base = folder / name.replace("*", "star")
        key_path, csr, cert = base.with_suffix(".key"), base.with_suffix(".csr"), base.with_suffix(".pem")
        san = ",".join(f"DNS:{d}" for d in (dns or [name]))
        newkey = ["-newkey", key] if not key.startswith("ec") else ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]
        run("openssl", "req", "-new", *newkey, "-nodes", "-keyout", str(key_path), "-out", str(csr),
            "-subj", f"/CN={name}", "-addext", f"subjectAltName={san}")
        self.sign(csr, cert, **kwargs)
        return cert, key_path

    def revoke(self, cert):
        run("openssl", "ca", "-config", str(self.config), "-cert", str(self.cert), "-keyfile", str(self.key),
            "-revoke", str(cert))

    def crl(self, out):
        run("openssl", "ca", "-config", str(self.config), "-cert", str(self.cert), "-keyfile", str(self.key),
            "-gencrl", "-out", str(out))
        return Path(out)


def x509_field(pem, *flags):
    return run("openssl", "x509", "-in", str(pem), "-noout", *flags)
