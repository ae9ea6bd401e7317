"""The pytest plugin: an ``entra_emulator`` fixture, one emulator process per test.

    def test_reads_a_group(entra_emulator):
        token = entra_emulator.credential.get_token("https://management.azure.com/.default")
        ...
        entra_emulator.advance_clock(601)

    @pytest.mark.entra_emulator(args=["--rbac-propagation", "0s"])
    def test_without_waits(entra_emulator): ...

While the fixture is active, ``REQUESTS_CA_BUNDLE`` and ``SSL_CERT_FILE`` name the emulator's
CA bundle (the system's roots plus its CA), so Azure SDK clients built in the test verify it.
"""

import pytest

from . import start_emulator


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "entra_emulator(args=[...]): extra command-line flags for the entra_emulator fixture")


@pytest.fixture
def entra_emulator(request, monkeypatch):
    """A freshly started emulator (see :class:`entra_emulator_pytest.Emulator`), stopped after
    the test."""
    marker = request.node.get_closest_marker("entra_emulator")
    args = list(marker.kwargs.get("args", ())) if marker else []
    with start_emulator(args) as emulator:
        if emulator.ca_bundle_path:
            for name in ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE"):
                monkeypatch.setenv(name, emulator.ca_bundle_path)
        yield emulator
