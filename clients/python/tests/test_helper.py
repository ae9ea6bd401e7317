"""The entra_emulator fixture itself: what it yields, its flags, its clock and its stop."""

import os
import ssl

import pytest

from entra_emulator_pytest import EmulatorError, start_emulator


def test_fixture_yields_the_connection_details(entra_emulator):
    assert entra_emulator.base_url.startswith("https://127.0.0.1:")
    assert entra_emulator.tenant_id == "e17a0000-0000-4000-8000-000000000001"
    assert entra_emulator.subscription_id == "e17a0000-0000-4000-8000-000000000002"
    assert entra_emulator.admin_client_id == "e17a0000-0000-4000-8000-000000000003"
    assert entra_emulator.admin_object_id == "e17a0000-0000-4000-8000-000000000004"
    assert entra_emulator.connection["base_url"] == entra_emulator.base_url
    # The bundle is the system's roots plus the emulator's CA, and the fixture exports it.
    assert os.environ["REQUESTS_CA_BUNDLE"] == entra_emulator.ca_bundle_path
    context = ssl.create_default_context(cafile=entra_emulator.ca_bundle_path)
    assert len(context.get_ca_certs()) > 1
    assert entra_emulator.env["NODE_EXTRA_CA_CERTS"] == entra_emulator.ca_cert_path


def test_advance_clock_moves_the_emulator_clock(entra_emulator):
    before = entra_emulator.now()
    after = entra_emulator.advance_clock(3600)
    assert after > before
    assert entra_emulator.now() == after or entra_emulator.now() > after


@pytest.mark.entra_emulator(args=["--rbac-propagation", "0s"])
def test_marker_passes_flags(entra_emulator):
    delays = entra_emulator.control("GET", "rbac/pending")["delaysSeconds"]
    assert set(delays.values()) == {0.0}, delays


def test_stop_ends_the_process_and_removes_its_files():
    emulator = start_emulator()
    workdir = emulator._workdir
    assert (workdir / "connection.json").exists()
    emulator.stop()
    assert emulator._process.poll() is not None
    assert not workdir.exists()
    with pytest.raises(EmulatorError):
        emulator.now()


def test_a_binary_that_cannot_start_is_reported_with_its_output():
    with pytest.raises(EmulatorError) as failed:
        start_emulator(["--no-such-flag"])
    assert "--no-such-flag" in str(failed.value)
