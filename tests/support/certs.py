"""A throwaway certificate authority and a server certificate for 127.0.0.1, made with openssl."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class TestPki:
    ca: Path
    server_cert: Path
    server_key: Path


def make_pki(folder: Path, name: str = "ca") -> TestPki:
    if shutil.which("openssl") is None:
        raise RuntimeError("openssl not found: apt-get install openssl")
    ca_key, ca = folder / f"{name}.key", folder / f"{name}.pem"
    key, csr, cert = folder / "server.key", folder / "server.csr", folder / "server.pem"
    ext = folder / "server.ext"
    ext.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    run = _runner()
    run(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        f"/CN={name}",
        "-keyout",
        ca_key,
        "-out",
        ca,
    )
    run(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=127.0.0.1",
        "-keyout",
        key,
        "-out",
        csr,
    )
    run(
        "x509",
        "-req",
        "-in",
        csr,
        "-CA",
        ca,
        "-CAkey",
        ca_key,
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        ext,
        "-out",
        cert,
    )
    for path in (ca_key, key):
        path.chmod(0o644)  # mosquitto may drop to another user before reading its key
    return TestPki(ca=ca, server_cert=cert, server_key=key)


def _runner():  # type: ignore[no-untyped-def]
    def run(*args: object) -> None:
        subprocess.run(["openssl", *map(str, args)], check=True, capture_output=True)

    return run
