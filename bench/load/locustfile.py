"""The load test's users: visitors browse, members bid and deliver, clients accept, pay and approve.

Started by bench/load/run.py (which seeds the world and starts the site); the settings come from
environment variables:

    LOAD_WORLD            the world file written by world.py seed (accounts, password, jobs)
    LOAD_RESULTS          where to write what was done (every status, every bid, every webhook)
    LOAD_WEBHOOK_SECRET   the site's STRIPE_WEBHOOK_SECRET, to sign payment_intent.succeeded
    LOAD_LOCALSTRIPE_URL  localstripe, to read the PaymentIntent the site created
    LOAD_USERS, LOAD_DURATION, LOAD_SPIKE_USERS, LOAD_SPIKE_DURATION, LOAD_SPAWN_RATE

Every request's status is counted; every bid carries a unique marker in its message, recorded
with what the site answered; every webhook event sent is recorded with its id. run.py checks
all of it against the database afterwards.
"""

import hashlib
import hmac
import itertools
import json
import os
import random
import re
import string
import threading
import time
from collections import Counter
from datetime import date, timedelta

import gevent
import requests
from locust import HttpUser, LoadTestShape, between, events, task

WORLD = json.loads(open(os.environ["LOAD_WORLD"]).read())  # noqa: SIM115
RESULTS_PATH = os.environ["LOAD_RESULTS"]
WEBHOOK_SECRET = os.environ["LOAD_WEBHOOK_SECRET"]
LOCALSTRIPE_URL = os.environ["LOAD_LOCALSTRIPE_URL"]
LOCALSTRIPE_KEY = "sk_test_localstripe"
PASSWORD = WORLD["password"]

STATUSES: Counter = Counter()  # (request name, status) -> count
BIDS: list[dict] = []
WEBHOOKS: list[dict] = []
_record_lock = threading.Lock()
_next_client = itertools.count()
_next_member = itertools.count()

BID_ACCEPT = re.compile(r'action="/bids/(\d+)/accept/"')
CONTRACT_LINK = re.compile(r'href="/contracts/(\d+)/"')
PAY_LINK = re.compile(r'href="/contracts/(\d+)/milestones/(\d+)/pay/"')
START_FORM = re.compile(r'action="/contracts/(\d+)/milestones/(\d+)/start/"')
DELIVER_FORM = re.compile(r'action="/contracts/(\d+)/milestones/(\d+)/deliver/"')
APPROVE_FORM = re.compile(r'action="/contracts/(\d+)/milestones/(\d+)/approve/"')
CLIENT_SECRET = re.compile(r'data-client-secret="(pi_[A-Za-z0-9]+)_secret_')
BID_PAGE = re.compile(r"/bids/(\d+)/$")


@events.request.add_listener
def _count_status(request_type, name, response, exception, **kwargs):
    status = getattr(response, "status_code", 0) or 0
    with _record_lock:
        STATUSES[f"{request_type} {name} {status}"] += 1


@events.quitting.add_listener
def _write_results(environment, **kwargs):
    stats = environment.stats.total
    summary = {
        "statuses": dict(STATUSES),
        "bids": BIDS,
        "webhooks": WEBHOOKS,
        "requests": stats.num_requests,
        "failures": stats.num_failures,
        "requests_per_second": stats.total_rps,
        "median_ms": stats.median_response_time,
        "p95_ms": stats.get_response_time_percentile(0.95),
        "p99_ms": stats.get_response_time_percentile(0.99),
        "max_ms": stats.max_response_time,
    }
    with open(RESULTS_PATH, "w") as out:
        json.dump(summary, out)


def _marker() -> str:
    return "LOADMARK" + "".join(random.choices(string.ascii_uppercase, k=16))


class SiteUser(HttpUser):
    abstract = True
    wait_time = between(1, 3)

    def csrf(self) -> str:
        return self.client.cookies.get("csrftoken", "")

    def post(self, path: str, data: dict, *, name: str | None = None, expect=(302,)):
        """POST a form with the CSRF token; a status in ``expect`` (or any 2xx/3xx) is fine."""
        with self.client.post(
            path,
            data={**data, "csrfmiddlewaretoken": self.csrf()},
            name=name or path,
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if response.status_code in expect or response.status_code < 400:
                response.success()
            else:
                response.failure(f"status {response.status_code}")
            return response

    def get(self, path: str, *, name: str | None = None, ok=(200,)):
        with self.client.get(path, name=name or path, catch_response=True) as response:
            if response.status_code in ok:
                response.success()
            else:
                response.failure(f"status {response.status_code}")
            return response

    def log_in(self, email: str) -> None:
        self.get("/accounts/login/", name="/accounts/login/")
        # allauth limits log-ins per address: every simulated user comes from 127.0.0.1, so a
        # spike of new users meets that limit (429); such a user goes on browsing anonymously.
        response = self.post(
            "/accounts/login/",
            {"login": email, "password": PASSWORD},
            name="login",
            expect=(302, 429),
        )
        if response.status_code == 429:
            return
        if response.status_code != 302:
            raise RuntimeError(f"log-in of {email} answered {response.status_code}")

    def browse(self) -> None:
        self.get("/jobs/", name="/jobs/")
        job = random.choice(WORLD["jobs"])
        self.get(f"/jobs/{job}/", name="/jobs/[id]/", ok=(200, 404))


class Visitor(SiteUser):
    weight = 2

    @task
    def browse_board(self):
        self.browse()


class Member(SiteUser):
    weight = 4

    def on_start(self):
        account = WORLD["members"][next(_next_member) % len(WORLD["members"])]
        self.log_in(account["email"])

    @task(3)
    def bid(self):
        job = random.choice(WORLD["jobs"])
        self.get(f"/jobs/{job}/", name="/jobs/[id]/", ok=(200, 404))
        form = self.get(f"/jobs/{job}/bid/", name="/jobs/[id]/bid/ (form)", ok=(200, 302))
        if form.status_code != 200 or "/bid/" not in form.url:
            return  # already bid (sent to the edit page) or the job no longer takes bids
        start = date.today() + timedelta(days=3)
        marker = _marker()
        response = self.post(
            f"/jobs/{job}/bid/",
            {
                "price": "2000",
                "start_date": start.isoformat(),
                "cover_message": f"Bonjour, je peux faire ce site. Réf. {marker}",
                "milestones-TOTAL_FORMS": "2",
                "milestones-INITIAL_FORMS": "0",
                "milestones-MIN_NUM_FORMS": "0",
                "milestones-MAX_NUM_FORMS": "10",
                "milestones-0-title": "Maquettes",
                "milestones-0-amount": "800",
                "milestones-0-due_date": (start + timedelta(days=7)).isoformat(),
                "milestones-1-title": "Site en ligne",
                "milestones-1-amount": "1200",
                "milestones-1-due_date": (start + timedelta(days=14)).isoformat(),
            },
            name="/jobs/[id]/bid/ (submit)",
            expect=(200, 302),
        )
        record = {"marker": marker, "job": job, "status": response.status_code, "acked": False}
        found = BID_PAGE.search(response.headers.get("Location", ""))
        if response.status_code == 302 and found:
            record["bid_id"] = int(found.group(1))
            page = self.get(f"/bids/{record['bid_id']}/", name="/bids/[id]/")
            record["page_status"] = page.status_code
            record["acked"] = 200 <= page.status_code < 300
        with _record_lock:
            BIDS.append(record)

    @task(2)
    def work(self):
        """Start and deliver the funded milestones of one of my contracts."""
        contracts = CONTRACT_LINK.findall(self.get("/contracts/", name="/contracts/").text)
        if not contracts:
            return
        contract = random.choice(contracts)
        page = self.get(f"/contracts/{contract}/", name="/contracts/[id]/").text
        for contract_id, milestone_id in START_FORM.findall(page):
            self.post(
                f"/contracts/{contract_id}/milestones/{milestone_id}/start/",
                {},
                name="/contracts/[id]/milestones/[id]/start/",
            )
            page = self.get(f"/contracts/{contract}/", name="/contracts/[id]/").text
        for contract_id, milestone_id in DELIVER_FORM.findall(page):
            prefix = f"milestone-{milestone_id}"
            self.post(
                f"/contracts/{contract_id}/milestones/{milestone_id}/deliver/",
                {
                    f"{prefix}-message": "Voici le travail, en ligne sur le serveur de test.",
                    f"{prefix}-links": "https://example.be/recette",
                },
                name="/contracts/[id]/milestones/[id]/deliver/",
                expect=(200, 302),
            )

    @task(1)
    def browse_board(self):
        self.browse()


class Client(SiteUser):
    weight = 3

    def on_start(self):
        self.account = WORLD["clients"][next(_next_client) % len(WORLD["clients"])]
        self.log_in(self.account["email"])

    @task(3)
    def accept(self):
        """Accept an offer on one of my jobs; sometimes in two or three tabs at once."""
        job = random.choice(self.account["jobs"])
        page = self.get(f"/jobs/{job}/bids/", name="/jobs/[id]/bids/")
        offers = BID_ACCEPT.findall(page.text)
        if len(offers) < 3:
            return
        tabs = random.sample(offers, k=min(len(offers), random.choice((1, 1, 2, 3))))
        greenlets = [
            gevent.spawn(self.post, f"/bids/{bid}/accept/", {}, name="/bids/[id]/accept/")
            for bid in tabs
        ]
        gevent.joinall(greenlets)

    @task(3)
    def pay(self):
        """Pay a milestone by card: the site creates the PaymentIntent on localstripe; Stripe's
        signed ``payment_intent.succeeded`` is delivered by us, sometimes twice at once."""
        contract = self._a_contract()
        if contract is None:
            return
        page = self.get(f"/contracts/{contract}/", name="/contracts/[id]/").text
        links = PAY_LINK.findall(page)
        if not links:
            return
        contract_id, milestone_id = links[0]
        path = f"/contracts/{contract_id}/milestones/{milestone_id}/pay/"
        response = self.post(
            path, {"method": "card"}, name="/contracts/[id]/milestones/[id]/pay/", expect=(302, 400)
        )
        if response.status_code != 302 or "/payments/stripe/card/" not in response.headers.get(
            "Location", ""
        ):
            return
        card = self.get(
            response.headers["Location"], name="/payments/stripe/card/[id]/", ok=(200, 302)
        )
        found = CLIENT_SECRET.search(card.text)
        if not found:
            return
        intent = requests.get(
            f"{LOCALSTRIPE_URL}/v1/payment_intents/{found.group(1)}",
            auth=(LOCALSTRIPE_KEY, ""),
            timeout=30,
        ).json()
        self.deliver_succeeded(intent, copies=random.choice((1, 1, 2)))

    def deliver_succeeded(self, intent: dict, *, copies: int) -> None:
        event_id = "evt_load_" + "".join(random.choices(string.ascii_letters + string.digits, k=24))
        event = {
            "id": event_id,
            "object": "event",
            "type": "payment_intent.succeeded",
            "created": int(time.time()),
            "livemode": False,
            "data": {"object": {**intent, "status": "succeeded"}},
        }
        payload = json.dumps(event)
        timestamp = int(time.time())
        signature = hmac.new(
            WEBHOOK_SECRET.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256
        ).hexdigest()

        def deliver():
            response = self.client.post(
                "/payments/stripe/webhook/",
                data=payload,
                headers={
                    "Content-Type": "application/json",
                    "Stripe-Signature": f"t={timestamp},v1={signature}",
                },
                name="/payments/stripe/webhook/",
            )
            with _record_lock:
                WEBHOOKS.append({"event_id": event_id, "status": response.status_code})

        gevent.joinall([gevent.spawn(deliver) for _ in range(copies)])

    @task(2)
    def approve(self):
        contract = self._a_contract()
        if contract is None:
            return
        page = self.get(f"/contracts/{contract}/", name="/contracts/[id]/").text
        for contract_id, milestone_id in APPROVE_FORM.findall(page):
            self.post(
                f"/contracts/{contract_id}/milestones/{milestone_id}/approve/",
                {},
                name="/contracts/[id]/milestones/[id]/approve/",
            )

    @task(1)
    def browse_board(self):
        self.browse()

    def _a_contract(self) -> str | None:
        contracts = CONTRACT_LINK.findall(self.get("/contracts/", name="/contracts/").text)
        return random.choice(contracts) if contracts else None


class SteadyThenSpike(LoadTestShape):
    """LOAD_USERS users for LOAD_DURATION seconds, then LOAD_SPIKE_USERS for
    LOAD_SPIKE_DURATION seconds, then stop."""

    users = int(os.environ.get("LOAD_USERS", "50"))
    duration = int(os.environ.get("LOAD_DURATION", "300"))
    spike_users = int(os.environ.get("LOAD_SPIKE_USERS", "150"))
    spike_duration = int(os.environ.get("LOAD_SPIKE_DURATION", "60"))
    spawn_rate = float(os.environ.get("LOAD_SPAWN_RATE", "10"))

    def tick(self):
        elapsed = self.get_run_time()
        if elapsed < self.duration:
            return self.users, self.spawn_rate
        if elapsed < self.duration + self.spike_duration:
            return self.spike_users, max(self.spawn_rate, 50.0)
        return None
