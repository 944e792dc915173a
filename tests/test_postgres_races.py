import threading

import pytest
from django.db import IntegrityError, connection

from marketplace.models import User

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_concurrent_signups_with_one_address_in_different_cases_make_one_account():
    # Given eight requests racing to create the same address, spelled differently
    variants = ["amina@example.be", "Amina@example.be", "AMINA@EXAMPLE.BE", "amina@Example.be"] * 2
    barrier = threading.Barrier(len(variants))
    outcomes: list[str] = []
    lock = threading.Lock()

    def sign_up(email: str) -> None:
        try:
            barrier.wait(timeout=10)
            # Bypass save()'s lower-casing to prove the database itself refuses the duplicate.
            User.objects.bulk_create([User(email=email, password="!")])
            result = "created"
        except IntegrityError:
            result = "refused"
        finally:
            connection.close()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=sign_up, args=(email,)) for email in variants]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    # Then exactly one account exists and every other attempt was refused by the constraint
    assert sorted(outcomes) == ["created"] + ["refused"] * (len(variants) - 1)
    assert User.objects.filter(email__iexact="amina@example.be").count() == 1
