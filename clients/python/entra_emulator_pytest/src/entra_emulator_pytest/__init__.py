"""Run the Entra emulator binary for a test and hand the test its connection details.

    from entra_emulator_pytest import start_emulator

    with start_emulator() as emulator:          # HTTPS on 127.0.0.1, a free port
        emulator.credential.get_token("https://management.azure.com/.default")
        emulator.advance_clock(601)             # past ARM's role propagation delay

The binary is ``ENTRA_EMULATOR_BIN`` if set, else ``entra-emulator`` on ``PATH``
(``cargo install --path emulator`` in a clone of the emulator's repository).
The pytest fixture ``entra_emulator`` (see :mod:`entra_emulator_pytest.plugin`) does the same
for one test.
"""

from __future__ import annotations

import json
import os
import shutil
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional

__all__ = ["Emulator", "EmulatorError", "find_binary", "start_emulator"]


class EmulatorError(RuntimeError):
    """The emulator could not be found, did not start, or refused a control call."""


def find_binary() -> str:
    """The emulator binary: ``ENTRA_EMULATOR_BIN``, else ``entra-emulator`` on ``PATH``."""
    configured = os.environ.get("ENTRA_EMULATOR_BIN")
    if configured:
        return configured
    found = shutil.which("entra-emulator")
    if found:
        return found
    raise EmulatorError(
        "no entra-emulator binary: set ENTRA_EMULATOR_BIN, or put it on PATH "
        "(cargo install --path emulator in a clone of the emulator's repository)")


class Emulator:
    """A running emulator process and what its connection file says.

    Attributes: ``base_url``, ``tenant_id``, ``subscription_id``, ``admin_client_id``,
    ``admin_client_secret``, ``admin_object_id``, ``ca_cert_path`` (the emulator's CA alone),
    ``ca_bundle_path`` (the system's roots plus that CA: what ``REQUESTS_CA_BUNDLE`` should
    name), ``connection`` (the whole connection file) and ``credential`` (a ready
    azure-identity ``ClientSecretCredential`` for the bootstrap admin, or ``None`` when
    azure-identity is not installed).
    """

    def __init__(self, process: subprocess.Popen, workdir: Path, connection: Mapping[str, Any]):
        self._process = process
        self._workdir = workdir
        self.connection = dict(connection)
        self.base_url: str = connection["base_url"]
        self.tenant_id: str = connection["tenant_id"]
        self.subscription_id: str = connection["subscription_id"]
        admin = connection["admin"]
        self.admin_client_id: str = admin["client_id"]
        self.admin_client_secret: str = admin["client_secret"]
        self.admin_object_id: str = admin["object_id"]
        self.ca_cert_path: Optional[str] = connection.get("ca_cert_path")
        self.ca_bundle_path: Optional[str] = connection.get("ca_bundle_path") or self.ca_cert_path
        self.credential = self.credential_for(self.admin_client_id, self.admin_client_secret)

    @property
    def env(self) -> dict:
        """The variables the emulator's banner exports: azure-identity's
        ``EnvironmentCredential`` settings as the bootstrap admin, and the CA bundle."""
        env = {
            "AZURE_AUTHORITY_HOST": self.base_url,
            "AZURE_TENANT_ID": self.tenant_id,
            "AZURE_CLIENT_ID": self.admin_client_id,
            "AZURE_CLIENT_SECRET": self.admin_client_secret,
        }
        if self.ca_bundle_path:
            env.update(REQUESTS_CA_BUNDLE=self.ca_bundle_path, SSL_CERT_FILE=self.ca_bundle_path,
                       CURL_CA_BUNDLE=self.ca_bundle_path)
        if self.ca_cert_path:
            env["NODE_EXTRA_CA_CERTS"] = self.ca_cert_path
        return env

    def credential_for(self, client_id: str, client_secret: str):
        """An azure-identity ``ClientSecretCredential`` against this emulator (``None``
        without azure-identity)."""
        try:
            from azure.identity import ClientSecretCredential
        except ImportError:
            return None
        extra = {"connection_verify": self.ca_bundle_path} if self.ca_bundle_path else {}
        # The emulator is not a well-known Microsoft host: no instance discovery.
        return ClientSecretCredential(self.tenant_id, client_id, client_secret,
                                      authority=self.base_url, disable_instance_discovery=True,
                                      **extra)

    def control(self, method: str, path: str, body: Any = None) -> Any:
        """Calls the control API (``/_emulator/...``) and returns the decoded JSON answer
        (``None`` for an empty one)."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.base_url}/_emulator/{path.lstrip('/')}", data=data, method=method,
            headers={"Content-Type": "application/json"})
        try:
            context = (ssl.create_default_context(cafile=self.ca_cert_path)
                       if self.ca_cert_path else None)
            with urllib.request.urlopen(request, context=context, timeout=30) as answer:
                text = answer.read()
        except urllib.error.HTTPError as e:
            raise EmulatorError(f"{method} /_emulator/{path}: {e.code} {e.read()!r}") from e
        except OSError as e:  # URLError, a refused connection, a removed CA file
            raise EmulatorError(f"{method} /_emulator/{path}: {e}") from e
        return json.loads(text) if text else None

    def advance_clock(self, seconds: float) -> str:
        """Moves the emulator's clock forward; returns its new time (RFC 3339)."""
        return self.control("POST", "clock/advance", {"seconds": seconds})["now"]

    def now(self) -> str:
        """The emulator's current time (RFC 3339)."""
        return self.control("GET", "clock")["now"]

    def reset(self) -> None:
        """Empties the tenant again (the bootstrap admin, clock and keys are kept)."""
        self.control("POST", "reset")

    def stop(self) -> None:
        """Stops the process (SIGTERM, then SIGKILL after 10 s) and removes its files."""
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        shutil.rmtree(self._workdir, ignore_errors=True)

    def __enter__(self) -> "Emulator":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def start_emulator(args: Iterable[str] = (), binary: Optional[str] = None,
                   env: Optional[Mapping[str, str]] = None, timeout: float = 30) -> Emulator:
    """Starts the binary on 127.0.0.1 (a free port) with extra ``args`` (say
    ``["--rbac-propagation", "0s"]``) and waits for its connection file. Use it as a context
    manager, or call ``stop()``."""
    binary = binary or find_binary()
    workdir = Path(tempfile.mkdtemp(prefix="entra-emulator-"))
    conn = workdir / "connection.json"
    log = open(workdir / "emulator.log", "wb")
    child_env = dict(os.environ if env is None else env)
    # The generated CA goes under the temporary directory, removed on stop.
    child_env["TMPDIR"] = str(workdir)
    try:
        process = subprocess.Popen(
            [binary, "--bind", "127.0.0.1:0", "--connection-file", str(conn), *args],
            stdout=log, stderr=subprocess.STDOUT, env=child_env)
    except OSError as e:
        shutil.rmtree(workdir, ignore_errors=True)
        raise EmulatorError(f"cannot run {binary}: {e}") from e
    finally:
        log.close()
    deadline = time.monotonic() + timeout
    while not conn.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            if process.poll() is None:
                process.kill()
                process.wait()
            output = (workdir / "emulator.log").read_text(errors="replace")
            shutil.rmtree(workdir, ignore_errors=True)
            raise EmulatorError(f"{binary} did not start (exit {process.returncode}):\n{output}")
        time.sleep(0.02)
    with open(conn, encoding="utf-8") as f:
        connection = json.load(f)
    return Emulator(process, workdir, connection)
