"""The localstripe launcher (127.0.0.1 only, state in our own file) and the Stripe client factory.

The launcher runs as a real subprocess: what is tested is what a developer starts.
"""

import ipaddress
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import pytest
import stripe

from payments.stripe_gateway import get_stripe_client, idempotency_key, using_localstripe

PROJECT_DIR = Path(__file__).resolve().parent.parent
LAUNCHER = [sys.executable, "-m", "payments.localstripe_server"]
UPSTREAM_STATE_FILE = Path("/tmp/localstripe.pickle")
START_TIMEOUT = 10.0
CUSTOMER_JSON = json.dumps({"id": "cus_1", "object": "customer"})


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"localstripe exited with {process.returncode}:\n{log.read_text()}")
        with socket.socket() as probe:
            probe.settimeout(0.2)
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    pytest.fail(f"localstripe did not listen on 127.0.0.1:{port} within {START_TIMEOUT}s")


@contextmanager
def serving(argv: list[str], *, port: int, log: Path, env: dict | None = None) -> Iterator[int]:
    """Run ``argv`` until the block ends; yields once ``port`` accepts connections."""
    with log.open("ab") as log_file:
        process = subprocess.Popen(
            argv, cwd=PROJECT_DIR, stdout=log_file, stderr=subprocess.STDOUT, env=env
        )
    try:
        wait_for_port(port, process, log)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def localstripe(state_file: Path, *extra_args: str) -> Iterator[int]:
    port = free_port()
    argv = [*LAUNCHER, "--port", str(port), "--state-file", str(state_file), *extra_args]
    state_file.parent.mkdir(parents=True, exist_ok=True)
    with serving(argv, port=port, log=state_file.parent / "localstripe.log"):
        yield port


@pytest.fixture
def state_file(tmp_path) -> Path:
    return tmp_path / "state" / "localstripe.pickle"


@pytest.fixture
def localstripe_port(state_file, settings) -> Iterator[int]:
    with localstripe(state_file) as port:
        point_settings_at(settings, port)
        yield port


def point_settings_at(settings, port: int) -> None:
    settings.STRIPE_SECRET_KEY = ""
    settings.LOCALSTRIPE_URL = f"http://127.0.0.1:{port}"
    settings.STRIPE_MAX_NETWORK_RETRIES = 0


def listening_addresses(port: int) -> set[str]:
    """Local addresses with a TCP socket in LISTEN state on ``port``, read from /proc/net."""
    found = set()
    for table, family in (("/proc/net/tcp", socket.AF_INET), ("/proc/net/tcp6", socket.AF_INET6)):
        path = Path(table)
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address_hex, port_hex = local.split(":")
            if state != "0A" or int(port_hex, 16) != port:  # 0A is TCP_LISTEN
                continue
            raw = bytes.fromhex(address_hex)
            # The kernel prints the address as 32-bit words in host byte order.
            words = [raw[i : i + 4] for i in range(0, len(raw), 4)]
            if sys.byteorder == "little":
                words = [word[::-1] for word in words]
            found.add(socket.inet_ntop(family, b"".join(words)))
    return found


def non_loopback_addresses() -> list[str]:
    candidates = {socket.gethostbyname(socket.gethostname())}
    with suppress(FileNotFoundError):  # no `hostname` command: the host name's address only
        candidates |= set(
            subprocess.run(
                ["hostname", "-I"], capture_output=True, text=True, timeout=5, check=False
            ).stdout.split()
        )
    addresses = []
    for candidate in sorted(candidates):
        address = ipaddress.ip_address(candidate)
        if not (address.is_loopback or address.is_link_local or address.is_unspecified):
            addresses.append(candidate)
    return addresses


def connect_errno(address: str, port: int) -> int:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.settimeout(2)
        return probe.connect_ex((address, port))


@dataclass
class SentRequest:
    method: str
    url: str
    headers: dict


class RecordingHTTPClient(stripe.RequestsClient):
    """Records every request; forwards it to the network, or answers ``canned`` instead."""

    def __init__(self, canned: tuple[str, int, dict] | None = None) -> None:
        super().__init__()
        self.sent: list[SentRequest] = []
        self.canned = canned

    def request(self, method, url, headers, post_data=None):
        self.sent.append(SentRequest(method, url, dict(headers or {})))
        if self.canned is not None:
            return self.canned
        return super().request(method, url, headers, post_data)

    def _sleep_time_seconds(self, num_retries: int) -> float:
        return 0  # no back-off between retries in tests


# --- The launcher -------------------------------------------------------------------------------


def test_launcher_listens_on_loopback_only(localstripe_port):
    assert listening_addresses(localstripe_port) == {"127.0.0.1"}


def test_launcher_refuses_connections_on_other_addresses(localstripe_port):
    addresses = non_loopback_addresses()
    if not addresses:
        pytest.skip("this machine has no non-loopback address to try to reach localstripe on")
    for address in addresses:
        # Control: the address is local and connectable when something listens on it...
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as listener:
            listener.bind((address, 0))
            listener.listen()
            assert connect_errno(address, listener.getsockname()[1]) == 0
        # ... but localstripe does not listen there.
        errno = connect_errno(address, localstripe_port)
        assert errno != 0, f"localstripe is reachable on {address}:{localstripe_port}"


def test_payment_intent_round_trip_persists_to_our_state_file_only(state_file, settings):
    upstream_before = (
        UPSTREAM_STATE_FILE.stat().st_mtime_ns if UPSTREAM_STATE_FILE.exists() else None
    )

    with localstripe(state_file) as port:
        point_settings_at(settings, port)
        client = get_stripe_client()
        customer = client.v1.customers.create(params={"email": "ada@example.be"})
        intent = client.v1.payment_intents.create(
            params={
                "amount": 12345,
                "currency": "eur",
                "customer": customer.id,
                "payment_method": "pm_card_visa",
                "capture_method": "manual",
                "confirm": True,
            }
        )
        retrieved = client.v1.payment_intents.retrieve(intent.id)

    assert intent.status == "requires_capture"
    assert (retrieved.id, retrieved.amount, retrieved.currency) == (intent.id, 12345, "eur")
    # localstripe has no `amount_capturable`: the status says the authorisation is held.
    assert (retrieved.status, retrieved.capture_method) == ("requires_capture", "manual")
    assert retrieved.customer == customer.id
    state = state_file.read_bytes()
    assert customer.id.encode() in state
    assert intent.id.encode() in state
    assert [p.name for p in state_file.parent.iterdir() if p.name.endswith(".tmp")] == []
    if upstream_before is None:
        assert not UPSTREAM_STATE_FILE.exists()
    else:
        assert UPSTREAM_STATE_FILE.stat().st_mtime_ns == upstream_before


def test_restart_keeps_state_unless_from_scratch(state_file, settings):
    with localstripe(state_file) as port:
        point_settings_at(settings, port)
        customer = get_stripe_client().v1.customers.create(params={"email": "ada@example.be"})

    with localstripe(state_file) as port:
        point_settings_at(settings, port)
        assert get_stripe_client().v1.customers.retrieve(customer.id).email == "ada@example.be"

    with localstripe(state_file, "--from-scratch") as port:
        point_settings_at(settings, port)
        with pytest.raises(stripe.InvalidRequestError):
            get_stripe_client().v1.customers.retrieve(customer.id)

    # --from-scratch discarded the saved state: it does not come back at the next start.
    with localstripe(state_file) as port:
        point_settings_at(settings, port)
        with pytest.raises(stripe.InvalidRequestError):
            get_stripe_client().v1.customers.retrieve(customer.id)


def test_manage_py_localstripe_uses_var_dir_and_port_of_localstripe_url(tmp_path, settings):
    port = free_port()
    env = {
        **os.environ,
        "SIRIUS_VAR_DIR": str(tmp_path),
        "LOCALSTRIPE_URL": f"http://127.0.0.1:{port}",
    }
    argv = [sys.executable, "manage.py", "localstripe"]
    with serving(argv, port=port, log=tmp_path / "manage.log", env=env):
        point_settings_at(settings, port)
        customer = get_stripe_client().v1.customers.create(params={"email": "ada@example.be"})
        assert listening_addresses(port) == {"127.0.0.1"}

    assert customer.id.encode() in (tmp_path / "localstripe.pickle").read_bytes()


# --- The client factory -------------------------------------------------------------------------


def test_idempotency_key_is_derived_from_our_row():
    assert idempotency_key("payment_intent", 42) == "sirius-payment_intent-42-0"
    assert idempotency_key("payment_intent", 42) == idempotency_key("payment_intent", "42")
    assert idempotency_key("payment_intent", 42, attempt=1) == "sirius-payment_intent-42-1"
    assert idempotency_key("refund", 42) != idempotency_key("payment_intent", 42)
    with pytest.raises(ValueError):
        idempotency_key("payment-intent", 42)  # a dash would make keys ambiguous
    with pytest.raises(ValueError):
        idempotency_key("refund", 42, attempt=-1)


def test_our_idempotency_key_is_sent_to_stripe(localstripe_port):
    # localstripe ignores Idempotency-Key (two creates give two customers), so what we can
    # check offline is that our key, not stripe-python's random one, goes out on the wire.
    recorder = RecordingHTTPClient()
    client = get_stripe_client(http_client=recorder)
    key = idempotency_key("customer", 7)

    customer = client.v1.customers.create(
        params={"email": "ada@example.be"}, options={"idempotency_key": key}
    )

    assert customer.id.startswith("cus_")
    [sent] = recorder.sent
    assert sent.method == "post"
    assert sent.url == f"http://127.0.0.1:{localstripe_port}/v1/customers"
    assert sent.headers["Idempotency-Key"] == "sirius-customer-7-0"


def test_without_secret_key_the_client_targets_localstripe(settings):
    settings.STRIPE_SECRET_KEY = ""
    settings.LOCALSTRIPE_URL = "http://127.0.0.1:1"
    recorder = RecordingHTTPClient(canned=(CUSTOMER_JSON, 200, {}))

    get_stripe_client(http_client=recorder).v1.customers.retrieve("cus_1")

    assert using_localstripe()
    assert recorder.sent[0].url == "http://127.0.0.1:1/v1/customers/cus_1"
    assert recorder.sent[0].headers["Authorization"] == "Bearer sk_test_localstripe"


def test_with_a_secret_key_the_client_targets_real_stripe(settings):
    settings.STRIPE_SECRET_KEY = "sk_test_x"
    recorder = RecordingHTTPClient(canned=(CUSTOMER_JSON, 200, {}))

    get_stripe_client(http_client=recorder).v1.customers.retrieve("cus_1")

    assert not using_localstripe()
    [sent] = recorder.sent
    assert sent.url == "https://api.stripe.com/v1/customers/cus_1"
    assert sent.headers["Authorization"] == "Bearer sk_test_x"


@pytest.mark.parametrize("retries", [0, 2])
def test_network_retries_follow_the_setting(settings, retries):
    settings.STRIPE_SECRET_KEY = ""
    settings.STRIPE_MAX_NETWORK_RETRIES = retries
    server_error = json.dumps({"error": {"type": "api_error", "message": "boom"}})
    recorder = RecordingHTTPClient(canned=(server_error, 500, {}))

    with pytest.raises(stripe.APIError):
        get_stripe_client(http_client=recorder).v1.customers.retrieve("cus_1")

    assert len(recorder.sent) == 1 + retries
