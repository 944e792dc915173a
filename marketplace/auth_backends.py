"""Authentication backends: Django's and allauth's, loading the signed-in user as every page
needs them, in one query compiled once.

Every logged-in page reads the user (session), their profiles (the navigation, the dashboard,
the access checks) and their count of unread notices (the bell in the header). Django's
ModelBackend.get_user loads the user alone, and each of the others then costs one more query
per page. Here the user comes with both profiles joined and the unread count as a subquery:
one round trip. The count is the one at the start of the request; a request that marks notices
read answers with a redirect, and the page it leads to counts again.

That query runs on every logged-in request, and building its SQL is most of its cost (the ORM
compiles the joins and the subquery each time, more CPU than the database spends on it). So
it is compiled once per database connection and run with the user's id; the rows are turned
into instances by the same compiler, converters and related populators as a QuerySet would
use. What it returns is what `session_user_queryset().get(pk=...)` returns
(tests/test_session_user.py compares them).
"""

import weakref

from allauth.account.auth_backends import AuthenticationBackend
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import ValidationError
from django.db import connections
from django.db.models import Count, IntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.db.models.query import get_related_populators

UNREAD_ATTRIBUTE = "unread_notifications"
_SENTINEL_PK = -271828  # compiled with this id, which must appear once among the parameters


def session_user_queryset():
    from marketplace.models import Notification, User

    unread = (
        Notification.objects.filter(user=OuterRef("pk"), read_at__isnull=True)
        .order_by()
        .values("user")
        .annotate(count=Count("pk"))
        .values("count")
    )
    return User._default_manager.select_related("member_profile", "client_profile").annotate(
        **{UNREAD_ATTRIBUTE: Coalesce(Subquery(unread, output_field=IntegerField()), 0)}
    )


class _CompiledQuery:
    def __init__(self, connection) -> None:
        queryset = session_user_queryset().filter(pk=_SENTINEL_PK)
        self.compiler = queryset.query.get_compiler(connection=connection)
        self.sql, params = self.compiler.as_sql()
        self.params = list(params)
        positions = [i for i, value in enumerate(self.params) if value == _SENTINEL_PK]
        if len(positions) != 1:  # pragma: no cover - a change of the query above
            raise RuntimeError(f"the session user query takes {params!r}: where is the id?")
        self.id_position = positions[0]
        select, klass_info = self.compiler.select, self.compiler.klass_info
        self.model = klass_info["model"]
        first, last = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
        self.model_slice = slice(first, last)
        self.init_list = [column[0].target.attname for column in select[first:last]]
        self.annotations = dict(self.compiler.annotation_col_map or {})
        self.select = select
        self.klass_info = klass_info

    def get(self, connection, user_id):
        with connection.cursor() as cursor:
            params = self.params.copy()
            params[self.id_position] = user_id
            cursor.execute(self.sql, params)
            row = cursor.fetchone()
        if row is None:
            return None
        (row,) = self.compiler.results_iter([[row]])
        db = connection.alias
        user = self.model.from_db(db, self.init_list, row[self.model_slice])
        for populator in get_related_populators(self.klass_info, self.select, db):
            populator.populate(row, user)
        for name, position in self.annotations.items():
            setattr(user, name, row[position])
        return user


_compiled: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def load_session_user(user_id, using: str = "default"):
    """The user with this id, their profiles and unread count, or None."""
    from marketplace.models import User

    connection = connections[using]
    try:
        user_id = User._meta.pk.to_python(user_id)
    except (ValidationError, TypeError, ValueError):
        return None  # a session holding a malformed id is simply not signed in
    if user_id is None:
        return None
    compiled = _compiled.get(connection)
    if compiled is None:
        compiled = _compiled[connection] = _CompiledQuery(connection)
    return compiled.get(connection, user_id)


class SessionUserMixin:
    def get_user(self, user_id):
        user = load_session_user(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None


class SiriusModelBackend(SessionUserMixin, ModelBackend):
    """Django's password backend (the admin's log-in form)."""


class SiriusAuthenticationBackend(SessionUserMixin, AuthenticationBackend):
    """allauth's backend (log-in by e-mail address)."""
