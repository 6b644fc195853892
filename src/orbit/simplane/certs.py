"""The TLS certificate of the simulated clusters' Kubernetes endpoints.

kubectl sends bearer tokens over TLS only, so the endpoints are HTTPS. The certificate is
self-signed (it is its own authority, written into every kubeconfig as
``certificate-authority-data``), made once with ``cryptography`` and kept next to the plane's
database so kubeconfigs stay valid across restarts.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def ensure_certificate(
    directory: Path,
    *,
    hosts: tuple[str, ...] = (),
    common_name: str = "orbit-simulated-clusters",
) -> tuple[Path, Path, str]:
    """(certificate path, key path, certificate PEM), made on first use (Orbit's own HTTPS
    listener uses it too, under another ``common_name``)."""
    cert_path, key_path = directory / "endpoint.crt", directory / "endpoint.key"
    if cert_path.exists() and key_path.exists():
        return cert_path, key_path, cert_path.read_text()
    directory.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = [
        x509.DNSName("localhost"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
    ]
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key_pem)
    cert_path.write_text(pem)
    return cert_path, key_path, pem
