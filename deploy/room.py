#!/usr/bin/env python3
"""Serve the demo to a room over HTTPS: nginx (TLS, a local CA) in front of gunicorn on loopback.

    python deploy/room.py          what `make demo-room` runs; Ctrl-C stops nginx and gunicorn
    python deploy/room.py where    the address `make demo` serves on (GUNICORN_BIND / PORT)

On start it
1. makes (once) a local certificate authority under ``$ROOM_DIR/ca/``, name-constrained to
   private addresses and this machine's names, and (on every start) a server certificate for
   this machine's LAN addresses and names, signed by it;
2. migrates, seeds the demo users (demo mode) and collects static files, like ``make demo``;
3. starts gunicorn on ``127.0.0.1:$PORT`` only, with ``TRUSTED_PROXY_COUNT=1``,
   ``DEMO_SANDBOXES=1`` and ``ALLOWED_HOSTS`` covering the LAN addresses and host names;
4. writes ``$ROOM_DIR/nginx.conf`` from ``deploy/nginx-room.conf.template`` and starts nginx on
   ``$ROOM_HOST:$ROOM_PORT`` (HTTPS), plus ``$ROOM_HTTP_PORT`` (plain HTTP: the CA certificate at
   ``/room-ca.crt`` and a redirect to HTTPS);
5. prints the URLs attendees open and how they trust the CA, and waits. If either server dies,
   or on Ctrl-C / SIGTERM, both are stopped.

Variables (a variable set explicitly wins): ROOM_PORT (8443), ROOM_HTTP_PORT (8080; 0: none),
ROOM_HOST (0.0.0.0), ROOM_DIR (var/room), ROOM_HOSTNAMES (extra names, comma-separated), PORT
(gunicorn's loopback port, 8000), NGINX (the nginx binary), and for the app ALLOWED_HOSTS,
DEMO_MODE (1), DEMO_SANDBOXES (1), SECURE_HSTS_SECONDS (300), VAR_DIR ($ROOM_DIR/app),
GUNICORN_ACCESS_LOG ($ROOM_DIR/gunicorn-access.log). Forced: TRUSTED_PROXY_COUNT=1,
FORWARDED_ALLOW_IPS (the proxy's own loopback address), GUNICORN_BIND, no GUNICORN_CERTFILE.
"""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = Path(__file__).resolve().parent / "nginx-room.conf.template"
# nginx reaches gunicorn from this address (Linux routes all of 127.0.0.0/8 to loopback), so the
# app can tell the proxy from any other local process (ForwardedHeadersMiddleware).
PROXY_SOURCE = "127.0.0.2"
CA_DAYS = 90  # attendees trust the CA for a workshop, not for years
CA_RENEW_BEFORE = datetime.timedelta(days=7)
LEAF_DAYS = 30
# What the CA may ever sign for (RFC 5280 name constraints): private and loopback addresses,
# link-local and shared (CGNAT) ranges, plus this machine's own names and public addresses. A
# trusted copy of it cannot vouch for anyone else's site.
PRIVATE_NETWORKS = (
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "100.64.0.0/10",
    "169.254.0.0/16",
    "127.0.0.0/8",
)
DNS_SUFFIXES = ("localhost", "local", "lan", "home.arpa", "internal")


# --- Where this machine can be reached -------------------------------------------------------


def lan_addresses() -> list[ipaddress.IPv4Address]:
    """This machine's IPv4 addresses other than loopback and link-local, primary first."""
    found: list[ipaddress.IPv4Address] = []
    try:
        out = subprocess.run(
            ["ip", "-j", "-4", "addr", "show", "up"],  # noqa: S607 - iproute2, from PATH
            capture_output=True,
            text=True,
            check=True,
            timeout=5,
        ).stdout
        for link in json.loads(out or "[]"):
            for info in link.get("addr_info", []):
                address = ipaddress.ip_address(info.get("local", ""))
                if not (address.is_loopback or address.is_link_local):
                    found.append(address)
    except (OSError, ValueError, subprocess.SubprocessError):
        pass
    # The address of the default route (no packet is sent by connecting a UDP socket).
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("192.0.2.1", 9))
            primary = ipaddress.ip_address(s.getsockname()[0])
        if not primary.is_loopback:
            found.insert(0, primary)
    except OSError:
        pass
    return list(dict.fromkeys(found))


def host_names() -> list[str]:
    """This machine's names: the host name, its mDNS ``.local`` form, the FQDN, extras."""
    names = ["localhost"]
    hostname = socket.gethostname().strip().lower()
    if hostname and hostname != "localhost":
        names += [hostname]
        if "." not in hostname:
            names.append(f"{hostname}.local")
    fqdn = socket.getfqdn().strip().lower()
    if "." in fqdn and not fqdn.startswith("localhost"):
        names.append(fqdn)
    extra = os.environ.get("ROOM_HOSTNAMES", "")
    names += [n.strip().lower() for n in extra.split(",") if n.strip()]
    return list(dict.fromkeys(names))


def _is_unspecified(host: str) -> bool:
    return host in ("", "0.0.0.0", "::", "[::]", "*")  # noqa: S104 - recognising, not binding


def _is_loopback(host: str) -> bool:
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def urls_for(host: str, port: int, scheme: str, lan: list) -> list[str]:
    """The addresses a browser opens for a server listening on ``host:port``."""
    if _is_unspecified(host):
        return [f"{scheme}://{address}:{port}/" for address in lan] or [
            f"{scheme}://127.0.0.1:{port}/"
        ]
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return [f"{scheme}://{host}:{port}/"]


def where() -> int:
    """What `make demo` prints: the address gunicorn actually binds (GUNICORN_BIND / PORT)."""
    from gunicorn.util import parse_address  # gunicorn's own reading of the bind

    bind = os.environ.get("GUNICORN_BIND") or f"127.0.0.1:{os.environ.get('PORT') or '8000'}"
    scheme = "https" if os.environ.get("GUNICORN_CERTFILE") else "http"
    address = parse_address(bind)
    if not isinstance(address, tuple):  # a unix socket or a file descriptor
        print(f"Serving on {bind} (Ctrl-C stops everything)")
        return 0
    host, port = address
    urls = urls_for(host, port, scheme, lan_addresses())
    if _is_unspecified(host):
        urls.insert(0, f"{scheme}://127.0.0.1:{port}/")
    print(f"Serving on {', '.join(urls)} (Ctrl-C stops everything)")
    if scheme == "http" and not (_is_loopback(host) or host == "localhost"):
        print(
            "  Over plain HTTP only a loopback address (127.0.0.1, localhost) can sign in:\n"
            "  browsers drop the Secure session cookie anywhere else. To serve other devices use\n"
            "  `make demo-room` (HTTPS behind nginx)."
        )
    return 0


# --- The room's certificate authority --------------------------------------------------------


class RoomCA:
    """A long-lived local CA (attendees trust it once) and a fresh server certificate per start."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.cert_path = directory / "ca" / "room-ca.crt"
        self.key_path = directory / "ca" / "private" / "room-ca.key"
        self.server_cert = directory / "tls" / "server.pem"
        self.server_key = directory / "tls" / "server.key"
        self.created = False

    # Imported lazily so `room.py where` runs without cryptography.
    @staticmethod
    def _x509():
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

        return x509, hashes, serialization, ec, ExtendedKeyUsageOID, NameOID

    def permitted(self, names: list[str], addresses: list) -> list:
        x509, *_ = self._x509()
        subtrees: list = [x509.IPAddress(ipaddress.ip_network(n)) for n in PRIVATE_NETWORKS]
        for address in addresses:
            if not any(address in ipaddress.ip_network(n) for n in PRIVATE_NETWORKS):
                subtrees.append(x509.IPAddress(ipaddress.ip_network(f"{address}/32")))
        dns = list(DNS_SUFFIXES)
        for name in names:
            if not any(name == s or name.endswith("." + s) for s in dns):
                dns.append(name)
        subtrees += [x509.DNSName(d) for d in dns]
        return subtrees

    def ensure(self, names: list[str], addresses: list, *, renew: bool = False) -> None:
        x509, hashes, serialization, ec, eku, NameOID = self._x509()
        # Certificate validity is wall-clock time, not the app's (movable) clock.
        now = datetime.datetime.now(datetime.UTC)  # noqa: TID251
        wanted = self.permitted(names, addresses)
        ca_cert = ca_key = None
        if not renew and self.cert_path.exists() and self.key_path.exists():
            ca_cert = x509.load_pem_x509_certificate(self.cert_path.read_bytes())
            ca_key = serialization.load_pem_private_key(self.key_path.read_bytes(), None)
            constraints = ca_cert.extensions.get_extension_for_class(x509.NameConstraints).value
            covered = set(constraints.permitted_subtrees or ())
            if ca_cert.not_valid_after_utc - now < CA_RENEW_BEFORE or not set(wanted) <= covered:
                ca_cert = ca_key = None  # expiring, or this machine has new names: a new CA
        if ca_cert is None:
            ca_key = ec.generate_private_key(ec.SECP256R1())
            name = x509.Name(
                [
                    x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Secure Sessions demo"),
                    x509.NameAttribute(
                        NameOID.COMMON_NAME,
                        f"Secure Sessions room CA ({socket.gethostname()}, {now:%Y-%m-%d})",
                    ),
                ]
            )
            ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
            ca_cert = (
                x509.CertificateBuilder()
                .subject_name(name)
                .issuer_name(name)
                .public_key(ca_key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(hours=1))
                .not_valid_after(now + datetime.timedelta(days=CA_DAYS))
                .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                .add_extension(
                    x509.KeyUsage(
                        digital_signature=False,
                        content_commitment=False,
                        key_encipherment=False,
                        data_encipherment=False,
                        key_agreement=False,
                        key_cert_sign=True,
                        crl_sign=True,
                        encipher_only=False,
                        decipher_only=False,
                    ),
                    critical=True,
                )
                .add_extension(x509.NameConstraints(wanted, None), critical=True)
                .add_extension(ski, critical=False)
                .sign(ca_key, hashes.SHA256())
            )
            self.key_path.parent.mkdir(parents=True, exist_ok=True)
            self.key_path.parent.chmod(0o700)
            _write(
                self.key_path,
                ca_key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                ),
                0o600,
            )
            _write(self.cert_path, ca_cert.public_bytes(serialization.Encoding.PEM), 0o644)
            self.created = True

        leaf_key = ec.generate_private_key(ec.SECP256R1())
        sans = [x509.DNSName(n) for n in names] + [x509.IPAddress(a) for a in addresses]
        leaf = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
            .issuer_name(ca_cert.subject)
            .public_key(leaf_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=LEAF_DAYS))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.ExtendedKeyUsage([eku.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(leaf_key.public_key()), critical=False
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                critical=False,
            )
            .sign(ca_key, hashes.SHA256())
        )
        self.server_key.parent.mkdir(parents=True, exist_ok=True)
        _write(
            self.server_key,
            leaf_key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ),
            0o600,
        )
        _write(self.server_cert, leaf.public_bytes(serialization.Encoding.PEM), 0o644)

    def fingerprint(self, algorithm: str = "sha256") -> str:
        from cryptography import x509
        from cryptography.hazmat.primitives import serialization

        der = x509.load_pem_x509_certificate(self.cert_path.read_bytes()).public_bytes(
            serialization.Encoding.DER
        )
        digest = hashlib.new(algorithm, der).hexdigest().upper()
        return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def _write(path: Path, data: bytes, mode: int) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


# --- Processes -------------------------------------------------------------------------------


def _die_with_parent() -> None:
    """In the child: be killed if the launcher itself dies without cleaning up (Linux)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _spawn(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    # Own session: Ctrl-C reaches the launcher only, which stops the two in order.
    return subprocess.Popen(  # noqa: S603 - fixed argument lists
        args,
        cwd=ROOT,
        env=env,
        start_new_session=True,
        preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
    )


def _stop(process: subprocess.Popen | None, sig: int = signal.SIGTERM, timeout: float = 10) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(sig)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _wait_answering(url: str, process: subprocess.Popen, what: str, context=None) -> None:
    """Until ``url`` gives any HTTP answer (a 400 for a host outside ALLOWED_HOSTS counts)."""
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            raise SystemExit(f"room: {what} exited with status {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2, context=context):  # noqa: S310
                return
        except urllib.error.HTTPError:
            return
        except (OSError, ssl.SSLError):
            pass
        if time.monotonic() > deadline:
            raise SystemExit(f"room: {what} did not answer {url} within 60 s")
        time.sleep(0.2)


def _can_bind(address: str) -> bool:
    try:
        with socket.socket() as s:
            s.bind((address, 0))
        return True
    except OSError:
        return False


def find_nginx() -> str | None:
    explicit = os.environ.get("NGINX")
    if explicit:
        return explicit
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None
    )


def render_config(directory: Path, *, listen: str, room_port: int, http_port: int,
                  app_port: int, proxy_source: str | None) -> str:  # fmt: skip
    http_server = ""
    if http_port:
        pem = (directory / "ca" / "room-ca.crt").read_text().replace("\n", "\\n")
        http_server = f"""# Plain HTTP: the CA certificate to install; the rest goes to https.
    server {{
        listen {listen}:{http_port};
        location = /room-ca.crt {{
            # Inline: nginx's workers may not be able to read $ROOM_DIR (started as root).
            default_type application/x-x509-ca-cert;
            add_header Cache-Control no-store;
            return 200 "{pem}";
        }}
        location / {{
            return 302 https://$host:{room_port}$request_uri;
        }}
    }}"""
    values = {
        "@DIR@": str(directory),
        "@LISTEN@": listen,
        "@ROOM_PORT@": str(room_port),
        "@APP_PORT@": str(app_port),
        "@PROXY_BIND@": f"proxy_bind {proxy_source};" if proxy_source else "",
        "@HTTP_SERVER@": http_server,
    }
    text = TEMPLATE.read_text()
    for key, value in values.items():
        text = text.replace(key, value)
    return text


def main(argv: list[str]) -> int:
    if argv[:1] == ["where"]:
        return where()
    renew = "--new-ca" in argv

    directory = Path(os.environ.get("ROOM_DIR") or ROOT / "var" / "room").resolve()
    room_port = int(os.environ.get("ROOM_PORT") or 8443)
    http_port = int(os.environ.get("ROOM_HTTP_PORT") or 8080)
    listen = os.environ.get("ROOM_HOST") or "0.0.0.0"  # noqa: S104 - the room is the LAN
    app_port = int(os.environ.get("PORT") or 8000)
    nginx = find_nginx()
    if not nginx:
        raise SystemExit(
            "room: nginx not found. `make demo-room` installs it where apt exists "
            "(apt-get install nginx); or set NGINX=/path/to/nginx."
        )

    # Names and addresses the certificate and ALLOWED_HOSTS cover.
    lan = lan_addresses()
    served = lan if _is_unspecified(listen) else [ipaddress.ip_address(listen.strip("[]"))]
    addresses = list(dict.fromkeys([ipaddress.ip_address("127.0.0.1"), *lan, *served]))
    names = host_names()
    for d in ("ca/private", "tls", "nginx-tmp"):
        (directory / d).mkdir(parents=True, exist_ok=True)
    ca = RoomCA(directory)
    ca.ensure(names, addresses, renew=renew)

    proxy_source = PROXY_SOURCE if _can_bind(PROXY_SOURCE) else None
    env = dict(os.environ)
    for key, default in {
        "DEMO_MODE": "1",
        "DEMO_SANDBOXES": "1",
        "SECURE_HSTS_SECONDS": "300",  # attendees' browsers do not pin this host for a year
        "VAR_DIR": str(directory / "app"),
        "GUNICORN_ACCESS_LOG": str(directory / "gunicorn-access.log"),
        "ALLOWED_HOSTS": ",".join([*names, *map(str, addresses)]),
    }.items():
        if not env.get(key):
            env[key] = default
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "project.settings",
            "TRUSTED_PROXY_COUNT": "1",
            "FORWARDED_ALLOW_IPS": proxy_source or "127.0.0.1",
            "GUNICORN_BIND": f"127.0.0.1:{app_port}",
            "GUNICORN_CERTFILE": "",
            "GUNICORN_KEYFILE": "",
        }
    )
    Path(env["VAR_DIR"]).mkdir(parents=True, exist_ok=True)

    python = sys.executable
    manage = [python, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)  # noqa: S603
    if env["DEMO_MODE"] != "0":
        subprocess.run([*manage, "seed_demo"], cwd=ROOT, env=env, check=True)  # noqa: S603
    subprocess.run([*manage, "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)  # noqa: S603

    config = directory / "nginx.conf"
    config.write_text(
        render_config(
            directory,
            listen=listen,
            room_port=room_port,
            http_port=http_port,
            app_port=app_port,
            proxy_source=proxy_source,
        )
    )
    nginx_args = [nginx, "-p", str(directory), "-c", str(config), "-e", "stderr"]
    check = subprocess.run([*nginx_args, "-t", "-q"], capture_output=True, text=True)  # noqa: S603
    if check.returncode != 0:
        raise SystemExit(f"room: nginx rejects {config}:\n{check.stderr}")

    gunicorn = str(Path(python).with_name("gunicorn"))
    app = proxy = None
    stopping = False

    def stop_on_signal(signum, frame):
        nonlocal stopping
        stopping = True
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop_on_signal)
    try:
        app = _spawn(
            [
                gunicorn,
                "-c",
                str(ROOT / "project" / "gunicorn.conf.py"),
            ],
            env,
        )
        _wait_answering(f"http://127.0.0.1:{app_port}/healthz/", app, "gunicorn")
        proxy = _spawn(nginx_args, env)
        context = ssl.create_default_context(cafile=str(ca.cert_path))
        local = "127.0.0.1" if _is_unspecified(listen) else listen
        _wait_answering(f"https://{local}:{room_port}/healthz/", proxy, "nginx", context)
        _banner(ca, listen, room_port, http_port, app_port, lan, names, proxy_source)
        while app.poll() is None and proxy.poll() is None:
            time.sleep(0.5)
        which = "gunicorn" if app.poll() is not None else "nginx"
        print(f"room: {which} stopped; stopping the other", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nroom: stopping nginx and gunicorn", file=sys.stderr)
        return 0
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        _stop(proxy, signal.SIGQUIT, timeout=5)  # nginx: graceful; killed after 5 s
        _stop(app)


# One line per platform (README.md, "Serving a room", says the same).
TRUST_STEPS = (
    "  Windows: open room-ca.crt > Install Certificate > Current User >",
    "           Place in: Trusted Root Certification Authorities",
    "  macOS:   open room-ca.crt (Keychain Access, login) > Trust > Always Trust",
    "  Linux:   certutil -d sql:$HOME/.pki/nssdb -A -t C,, -n room-ca -i room-ca.crt (Chrome);",
    "           Firefox: Settings > Privacy & Security > View Certificates > Authorities > Import",
    "  Android: Settings > Security > More > Install a certificate > CA certificate > room-ca.crt",
    "  iOS:     open the download link in Safari, install the profile (Settings > Profile",
    "           Downloaded), then General > About > Certificate Trust Settings: turn it on",
    "  Compare the SHA-256 fingerprint above with the one the device shows before trusting it.",
    "  The CA can only vouch for private addresses and this machine's names (name constraints).",
)


def _banner(ca, listen, room_port, http_port, app_port, lan, names, proxy_source) -> None:
    urls = urls_for(listen, room_port, "https", lan)
    local_names = [n for n in names if n != "localhost"]
    if _is_unspecified(listen):
        urls += [f"https://{n}:{room_port}/" for n in local_names if "." in n]
    ca_urls = urls_for(listen, http_port, "http", lan) if http_port else []
    lines = [
        "",
        "=" * 78,
        "Serving the demo to the room over HTTPS (Ctrl-C stops nginx and gunicorn).",
        "",
        "Attendees open:",
        *[f"    {u}" for u in urls],
        "",
        "First they trust the room's certificate authority (once; remove it after the workshop):",
        *(
            ["    (a NEW CA was made just now: whoever trusted an older one must trust this one)"]
            if ca.created
            else []
        ),
        *[f"    download  {u}room-ca.crt" for u in ca_urls],
        f"    file      {ca.cert_path}",
        f"    SHA-256   {ca.fingerprint('sha256')}",
        f"    SHA-1     {ca.fingerprint('sha1')}",
        *TRUST_STEPS,
        "",
        f"gunicorn: http://127.0.0.1:{app_port} (loopback only); TRUSTED_PROXY_COUNT=1; "
        f"proxy source {proxy_source or '127.0.0.1'}",
        f"logs and config: {ca.directory}",
    ]
    if not _is_unspecified(listen) and _is_loopback(listen):
        lines.append(f"(ROOM_HOST={listen}: reachable from this machine only)")
    if not proxy_source:
        lines.append(
            f"Warning: cannot bind {PROXY_SOURCE}; local processes can forge X-Forwarded-For."
        )
    lines.append("=" * 78)
    print("\n".join(lines), flush=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
