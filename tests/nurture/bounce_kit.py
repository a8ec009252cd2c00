"""Shared by the bounce tests: a real IMAP server (Debian's dovecot-imapd, run by the test
on free ports with a throwaway configuration, plain IMAP and IMAPS with a certificate made
here), and the report emails of tests/nurture/bounce_reports/ filled in for a delivery."""

import getpass
import grp
import imaplib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from leadflow.core.secrets import secret_name_base
from leadflow.nurture.models import MAILBOX_PASSWORD_ENV_PREFIX
from tests.capture.test_notifications import free_port

REPORTS = Path(__file__).parent / "bounce_reports"
USER = "bounces@acme-widgets.com"
PASSWORD = "imap-test-password"


def imap_env(workspace, suffix: str = "ACME") -> str:
    """The name of a variable holding the workspace's mailbox password: its own
    (core.secrets)."""
    return secret_name_base(workspace.pk, MAILBOX_PASSWORD_ENV_PREFIX) + "_" + suffix


CONFIG = """
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
instance_name = leadflow-test-{port}
protocols = imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <{root}/cert.pem
ssl_key = <{root}/key.pem
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = {user}
default_internal_group = {group}
default_login_user = {user}
first_valid_uid = {uid}
first_valid_gid = {gid}
mail_location = maildir:{root}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {ssl_port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
"""


@dataclass
class ImapServer:
    port: int
    ssl_port: int
    ca_file: str
    user: str = USER
    password: str = PASSWORD

    def session(self) -> imaplib.IMAP4:
        imap = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        imap.login(self.user, self.password)
        return imap

    def deliver(self, raw: bytes, folder: str = "INBOX") -> None:
        """Put an email into the mailbox, as the mail server does with a bounce."""
        imap = self.session()
        try:
            status, answer = imap.append(folder, None, None, raw)
            assert status == "OK", answer
        finally:
            imap.logout()

    def flags(self, folder: str = "INBOX") -> list[bytes]:
        imap = self.session()
        try:
            imap.select(folder)
            _, answer = imap.fetch("1:*", "(FLAGS)")
            return [line for line in answer if line]
        finally:
            imap.logout()

    def empty(self) -> None:
        imap = self.session()
        try:
            _, (count,) = imap.select("INBOX")
            if int(count or 0):
                imap.store("1:*", "+FLAGS", "(\\Deleted)")
                imap.expunge()
        finally:
            imap.logout()


def _listening(port: int, server: subprocess.Popen) -> bool:
    deadline = time.monotonic() + 10
    while server.poll() is None and time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as probe:
                return probe.recv(100).startswith(b"* OK")
        except OSError:
            time.sleep(0.05)
    return False


@pytest.fixture(scope="session")
def imap_server():
    """A throwaway dovecot for this test run. Dovecot refuses to run its login processes as
    root, so under root (CI) it runs as the package's own ``dovecot`` user; otherwise as
    whoever runs the tests. A missing dovecot fails the tests that need it (never a skip):
    ``.ci/system-packages`` installs it."""
    binary = shutil.which("dovecot") or (
        "/usr/sbin/dovecot" if Path("/usr/sbin/dovecot").exists() else None
    )
    if binary is None:
        pytest.fail("dovecot is not installed (apt-get install dovecot-imapd).")
    if os.getuid() == 0:
        account = pwd.getpwnam("dovecot")
        user, group = account.pw_name, grp.getgrgid(account.pw_gid).gr_name
    else:
        account = pwd.getpwnam(getpass.getuser())
        user, group = account.pw_name, grp.getgrgid(account.pw_gid).gr_name
    root = Path(tempfile.mkdtemp(prefix="leadflow-dovecot-"))
    root.chmod(0o755)
    for name in ("run", "state", "mail", "home"):
        (root / name).mkdir()
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-keyout", str(root / "key.pem"), "-out", str(root / "cert.pem"),
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    (root / "users").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
    if os.getuid() == 0:
        for path in [root, *root.rglob("*")]:
            os.chown(path, account.pw_uid, account.pw_gid)
    for _ in range(5):  # another process may take a free port before dovecot binds it
        port, ssl_port = free_port(), free_port()
        (root / "dovecot.conf").write_text(
            CONFIG.format(root=root, port=port, ssl_port=ssl_port, user=user, group=group,
                          uid=account.pw_uid, gid=account.pw_gid)
        )  # fmt: skip
        server = subprocess.Popen(
            [binary, "-F", "-c", str(root / "dovecot.conf")],
            user=account.pw_uid if os.getuid() == 0 else None,
            group=account.pw_gid if os.getuid() == 0 else None,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        if _listening(port, server):
            break
        server.kill()
        server.wait()
    else:
        pytest.fail("dovecot did not start on a free port.")
    try:
        yield ImapServer(port=port, ssl_port=ssl_port, ca_file=str(root / "cert.pem"))
    finally:
        server.terminate()
        server.wait(timeout=10)
        shutil.rmtree(root, ignore_errors=True)


def report(name: str, **values: str) -> bytes:
    """A report email of bounce_reports/ with ``{placeholders}`` filled in, CRLF lines."""
    text = (REPORTS / name).read_text()
    for key, value in values.items():
        text = text.replace("{" + key + "}", value)
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode()
