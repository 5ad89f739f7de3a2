"""Fixtures for the transport tests: a self-signed certificate and real SMTP servers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.mail.servers import Certificate, Servers, make_certificate


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    """Make a self-signed certificate for 127.0.0.1, once per test run."""
    return make_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def servers(certificate: Certificate) -> Iterator[Servers]:
    """Start real SMTP servers on loopback for one test."""
    started = Servers(certificate)
    yield started
    started.stop_all()
