"""Settings of the Sirius marketplace.

Everything that differs between a laptop, CI and production is read from environment
variables; every default is the safe, zero-setup one (SQLite in ``var/``, no real keys,
mail printed to the console, localstripe on loopback for payments).
"""

from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

from config.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
# Everything the running site writes (SQLite file, uploaded files, localstripe's state)
# lives in this ignored folder, never in the web root.
VAR_DIR = Path(env_str("SIRIUS_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", False)
# The development key is public: `manage.py check --deploy` refuses it (see marketplace.checks).
INSECURE_DEV_SECRET_KEY = "django-insecure-sirius-development-key-do-not-use-in-production"
SECRET_KEY = env_str("SECRET_KEY", "") or INSECURE_DEV_SECRET_KEY
# The address of the site as users reach it, for links in e-mails sent outside a request.
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "marketplace.admin_config.SiriusAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular_sidecar",
    "drf_spectacular",
    "django_filters",
    "django_htmx",
    "template_partials",
    "django_tasks",
    "django_tasks_db",
    "marketplace",
    "matching",
    "payments",
    "governance",
]

MIDDLEWARE = [
    "config.request_log.RequestIdMiddleware",
    # Early: load balancers probe /health/ by IP address, before any host check, session or locale.
    "config.health.HealthCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "config.csp.SiriusCSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Anonymous hits of the cached job pages, before sessions, CSRF, locale and the rest (it
    # re-applies what they add; see marketplace/page_cache.py).
    "marketplace.page_cache.AnonymousPageCacheMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "marketplace.middleware.AccountLocaleMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "allauth.account.middleware.AccountMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "marketplace.context_processors.site_context",
            ],
        },
    }
]

# --- Database -------------------------------------------------------------------------------
VAR_DIR.mkdir(parents=True, exist_ok=True)
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'sirius.sqlite3'}"),
        conn_max_age=env_int("DB_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Persistent connections bring nothing to SQLite and keep the file locked in tests.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Covering (INCLUDE) columns of the matching indexes are a PostgreSQL optimisation; SQLite
# simply builds the index without them.
SILENCED_SYSTEM_CHECKS = ["models.W040"]

# --- Accounts -------------------------------------------------------------------------------
AUTH_USER_MODEL = "marketplace.User"
AUTHENTICATION_BACKENDS = [
    # Django's and allauth's, loading the session's user with their profiles and unread count
    # in one query (marketplace/auth_backends.py).
    "marketplace.auth_backends.SiriusModelBackend",
    "marketplace.auth_backends.SiriusAuthenticationBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "home"

ACCOUNT_ADAPTER = "marketplace.adapters.AccountAdapter"
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_SIGNUP_FORM_CLASS = "marketplace.forms.SignupExtraForm"
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = False
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Sirius] "
# Failed log-ins are throttled per address and per account; these are allauth's own
# counters (kept in the cache), stated here so that nobody loosens them by accident.
ACCOUNT_RATE_LIMITS = {
    "login_failed": env_str("RATE_LIMIT_LOGIN_FAILED", "10/m/ip,5/5m/key"),
    "signup": "20/m/ip",
    "reset_password": "20/m/ip,5/m/key",
    "confirm_email": "1/3m/key",
}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Sirius"
# Staff must have a second factor, and must have used it in this session, to reach the admin.
SIRIUS_STAFF_REQUIRE_MFA = env_bool("SIRIUS_STAFF_REQUIRE_MFA", True)

# --- Languages ------------------------------------------------------------------------------
LANGUAGE_CODE = "fr"
LANGUAGES = [
    ("fr", _("French")),
    ("en", _("English")),
    ("nl", _("Dutch")),
    ("ar", _("Arabic")),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
LANGUAGE_COOKIE_NAME = "sirius_language"
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
LANGUAGE_COOKIE_SAMESITE = "Lax"
TIME_ZONE = "Europe/Brussels"
USE_I18N = True
USE_TZ = True

# --- Static and uploaded files --------------------------------------------------------------
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
# Uploaded evidence and attachments are private: kept outside the web root and only ever
# served through a view that checks who is asking.
PRIVATE_MEDIA_ROOT = Path(env_str("PRIVATE_MEDIA_ROOT", str(VAR_DIR / "private")))
STORAGES = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": PRIVATE_MEDIA_ROOT},
    },
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG or env_bool("SIRIUS_PLAIN_STATIC", False)
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# --- E-mail ---------------------------------------------------------------------------------
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Sirius <bonjour@sirius.coop>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Cache ----------------------------------------------------------------------------------
# With REDIS_URL every app server shares one cache, and with it allauth's log-in rate limits,
# DRF's throttles and the cached sessions: two app servers behave as one. The local memory
# cache is per process, so it is only fit for a single development server.
REDIS_URL = env_str("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            # Django's RedisCache, reusing its client object (see config/cache.py).
            "BACKEND": "config.cache.SiriusRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "sirius"),
            # Fail fast (and let /health/ say so) rather than hang a worker on a lost Redis.
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }
    # Sessions are written to the database and read through Redis: no session query on a
    # warm cache, and nothing lost if Redis is flushed.
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Template fragments made only of links and translations (the logged-in navigation, the
# dashboard's lists of links), cached by role and language with {% cache ... using="fragments" %}.
# They change only with the code, which a deploy restarts: each process keeps its own copy, and
# no data is in them that another app server could see differently.
CACHES["fragments"] = {
    "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
    "LOCATION": "sirius-fragments",
    "TIMEOUT": None,
    "OPTIONS": {"MAX_ENTRIES": 2000},
}

# --- Background tasks -----------------------------------------------------------------------
TASKS = {
    "default": {
        "BACKEND": env_str("TASKS_BACKEND", "django_tasks.backends.immediate.ImmediateBackend")
    }
}
# A task RUNNING for longer than this lost its worker (killed): run_periodic puts it back in
# the queue (marketplace/services/task_queue.py). Far above what any of our tasks takes.
TASKS_STALE_AFTER_MINUTES = env_int("TASKS_STALE_AFTER_MINUTES", 60)

# --- Contracts ------------------------------------------------------------------------------
# A delivered milestone the client neither approves nor questions is approved after this delay.
MILESTONE_AUTO_APPROVE_DAYS = env_int("MILESTONE_AUTO_APPROVE_DAYS", 14)
# Disputes: the other side answers within DISPUTE_ANSWER_DAYS; both sides add evidence until
# DISPUTE_EVIDENCE_DAYS after opening. Then admins are prompted; nothing is decided automatically.
DISPUTE_ANSWER_DAYS = env_int("DISPUTE_ANSWER_DAYS", 7)
DISPUTE_EVIDENCE_DAYS = env_int("DISPUTE_EVIDENCE_DAYS", 14)

# --- Governance (statutes) ------------------------------------------------------------------
# Nominal value of one cooperative share (cents); bounds of a solidarity rate put to the vote
# (basis points, 1000 = 10 %; the database caps rates at 5000); default quorum (% of the
# members eligible at the opening); signatures of other members a member's draft needs to open.
GOVERNANCE = {
    "SHARE_VALUE_CENTS": env_int("GOVERNANCE_SHARE_VALUE_CENTS", 2500),
    "RATE_MIN_BP": env_int("GOVERNANCE_RATE_MIN_BP", 0),
    "RATE_MAX_BP": min(env_int("GOVERNANCE_RATE_MAX_BP", 2000), 5000),
    "DEFAULT_QUORUM_PERCENT": env_int("GOVERNANCE_DEFAULT_QUORUM_PERCENT", 25),
    "INITIATIVE_SIGNATURES": env_int("GOVERNANCE_INITIATIVE_SIGNATURES", 5),
}

# --- Payments -------------------------------------------------------------------------------
# Without a real key the app talks to localstripe, the fake Stripe API that the run
# command starts on loopback: the whole payment flow works offline.
STRIPE_SECRET_KEY = env_str("STRIPE_SECRET_KEY", "")
STRIPE_PUBLISHABLE_KEY = env_str("STRIPE_PUBLISHABLE_KEY", "")
STRIPE_WEBHOOK_SECRET = env_str("STRIPE_WEBHOOK_SECRET", "whsec_sirius_localstripe")
LOCALSTRIPE_URL = env_str("LOCALSTRIPE_URL", "http://127.0.0.1:8420")
STRIPE_MAX_NETWORK_RETRIES = env_int("STRIPE_MAX_NETWORK_RETRIES", 2 if STRIPE_SECRET_KEY else 0)
# Seconds a webhook signature stays valid (Stripe's own default tolerance).
STRIPE_WEBHOOK_TOLERANCE = env_int("STRIPE_WEBHOOK_TOLERANCE", 300)

# The cooperative as seller of record: printed on invoices, in Peppol files, in payment
# instructions and in SEPA payout files. The defaults are the demo's (a valid-looking IBAN
# and enterprise number, not the real cooperative's): set them in production.
COOPERATIVE = {
    "name": env_str("COOPERATIVE_NAME", "Sirius SCRL"),
    "street": env_str("COOPERATIVE_STREET", "Rue Saint-Gilles 1"),
    "postal_code": env_str("COOPERATIVE_POSTAL_CODE", "4000"),
    "city": env_str("COOPERATIVE_CITY", "Liège"),
    "country": env_str("COOPERATIVE_COUNTRY", "BE"),
    "vat_number": env_str("COOPERATIVE_VAT_NUMBER", "BE0403170701"),
    "iban": env_str("COOPERATIVE_IBAN", "BE71096123456769"),
    "bic": env_str("COOPERATIVE_BIC", "GKCCBEBB"),
    "email": env_str("COOPERATIVE_EMAIL", "factures@sirius.example"),
}
# Days a client has to pay an invoice by bank transfer.
INVOICE_PAYMENT_TERM_DAYS = env_int("INVOICE_PAYMENT_TERM_DAYS", 14)

# --- API ------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first, so that a request without valid credentials gets 401 with
        # WWW-Authenticate: Token (the session class would answer 403).
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    # drf-spectacular's, plus the error responses DRF gives around every view (401, 403...).
    "DEFAULT_SCHEMA_CLASS": "marketplace.apis_schema.SiriusAutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.CursorPagination",
    "PAGE_SIZE": 20,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Sirius marketplace API",
    "DESCRIPTION": "Jobs, members and skills of the Sirius digital cooperative (Liège).",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The interactive documentation is served from our own static files, never a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Swagger UI would otherwise send our schema's address to validator.swagger.io.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    "ENUM_NAME_OVERRIDES": {
        "CEFRLevelEnum": "matching.models.CEFRLevel",
        "SkillLevelEnum": "matching.models.SkillLevel",
        "StatusEnum": "marketplace.models.JobStatus",
        "BidStatusEnum": "marketplace.models.BidStatus",
        "ContractStatusEnum": "marketplace.models.ContractStatus",
        "MilestoneStatusEnum": "marketplace.models.MilestoneStatus",
    },
}

# --- Security -------------------------------------------------------------------------------
# Behind TLS (SIRIUS_HTTPS=true, i.e. production) the cookies are Secure and take the
# `__Host-` prefix: the browser then refuses them unless they are Secure, Path=/ and carry no
# Domain, so neither a subdomain nor a plain-HTTP page can plant or read them.
SIRIUS_HTTPS = env_bool("SIRIUS_HTTPS", False) and not DEBUG
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
# Stricter than strict-origin-when-cross-origin: other sites (Stripe included) get no referrer.
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if SIRIUS_HTTPS:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    LANGUAGE_COOKIE_SECURE = True
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"
    SESSION_COOKIE_PATH = CSRF_COOKIE_PATH = "/"
    SESSION_COOKIE_DOMAIN = CSRF_COOKIE_DOMAIN = None
    SECURE_SSL_REDIRECT = True
    # Load balancers probe the app servers over plain HTTP: answer them, do not redirect them.
    SECURE_REDIRECT_EXEMPT = [r"^health/"]
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
    if not SECURE_HSTS_PRELOAD:
        # security.W021 asks for HSTS preload. Preloading is the domain owner's decision, hard
        # to undo (browsers ship the list) and binding on every subdomain: opt in with
        # SECURE_HSTS_PRELOAD=true after submitting the domain, not by default.
        SILENCED_SYSTEM_CHECKS = [*SILENCED_SYSTEM_CHECKS, "security.W021"]
    # The header the TLS-terminating proxy sets; empty when nothing sits in front of gunicorn.
    _proxy_ssl_header = env_str("SECURE_PROXY_SSL_HEADER", "X-Forwarded-Proto")
    if _proxy_ssl_header:
        SECURE_PROXY_SSL_HEADER = (
            "HTTP_" + _proxy_ssl_header.upper().replace("-", "_"),
            "https",
        )

# Content-Security-Policy (django-csp). Scripts and styles come only from our own static files:
# no inline <script>, no inline style attribute, no eval (htmx's is switched off in base.html).
# Stripe.js's origin (localstripe's stand-in offline) is added per request by
# config.csp.SiriusCSPMiddleware, so that it follows STRIPE_SECRET_KEY and LOCALSTRIPE_URL.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "frame-src": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    }
}
if SIRIUS_HTTPS:
    CONTENT_SECURITY_POLICY["DIRECTIVES"]["upgrade-insecure-requests"] = True
if env_str("CSP_REPORT_URI", ""):
    CONTENT_SECURITY_POLICY["DIRECTIVES"]["report-uri"] = [env_str("CSP_REPORT_URI")]

# --- Logging --------------------------------------------------------------------------------
# One line per record on stdout (systemd's journal or the container runtime keeps it), as
# key=value pairs with the request id that gunicorn's access log also prints: greppable.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "config.request_log.RequestIdFilter"}},
    "formatters": {
        "keyvalue": {
            "format": (
                "%(asctime)s level=%(levelname)s logger=%(name)s request_id=%(request_id)s "
                "msg=%(message)r"
            ),
        }
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "filters": ["request_id"],
            "formatter": "keyvalue",
        }
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "WARNING")},
}
