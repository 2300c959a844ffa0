"""Offline guarantees: sockets beyond loopback are blocked in tests; telemetry is off."""

import os
import socket

import pytest
from pytest_socket import SocketBlockedError, SocketConnectBlockedError

import qa  # noqa: F401  (importing qa sets the offline environment)


@pytest.mark.filterwarnings("ignore:A test tried to use socket")
def test_outside_network_is_blocked_for_the_whole_suite():
    with pytest.raises((SocketBlockedError, SocketConnectBlockedError)):
        socket.create_connection(("192.0.2.1", 80), timeout=1)


def test_telemetry_and_hub_are_off():
    assert os.environ["ANONYMIZED_TELEMETRY"] == "False"
    assert os.environ["GRADIO_ANALYTICS_ENABLED"] == "False"
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    assert os.environ["TIKTOKEN_CACHE_DIR"].endswith("_static/tiktoken_cache")


def test_tokenizer_loads_without_network():
    from qa.index.chunking import cl100k

    assert len(cl100k().encode("Lei Jun founded Xiaomi in 2010.")) > 5
