"""Gunicorn's configuration for the app servers, every value from the environment.

    gunicorn -c python:config.gunicorn config.wsgi

Sync workers, one per core by default: on this kind of machine (2 cores, PostgreSQL on the
same host) one sync worker per core served the most requests per second; more workers only
queued on the CPU (see README, "Running in production"). Raise GUNICORN_WORKERS on an app
server whose database is on another machine, where workers wait on the network.
"""

import os

from config.env import env_int, env_list, env_str

# Where to listen: a port for the reverse proxy / load balancer (or a unix socket:
# GUNICORN_BIND=unix:/run/sirius/gunicorn.sock).
bind = env_list("GUNICORN_BIND", ["127.0.0.1:8000"])
workers = env_int("GUNICORN_WORKERS", os.cpu_count() or 1)
worker_class = "sync"
threads = env_int("GUNICORN_THREADS", 1)

# A worker is restarted after about this many requests (the jitter keeps them from restarting
# together), which bounds the damage of any slow memory leak.
max_requests = env_int("GUNICORN_MAX_REQUESTS", 2000)
max_requests_jitter = env_int("GUNICORN_MAX_REQUESTS_JITTER", 200)
# A request taking longer than this kills its worker; a restart (SIGHUP/SIGTERM) lets running
# requests finish within graceful_timeout.
timeout = env_int("GUNICORN_TIMEOUT", 30)
graceful_timeout = env_int("GUNICORN_GRACEFUL_TIMEOUT", 30)
keepalive = env_int("GUNICORN_KEEPALIVE", 5)

# Only the reverse proxy may say which scheme and client address a request came with
# (X-Forwarded-Proto, X-Forwarded-For). Its address, comma-separated; "*" only when nothing
# but the proxy can reach the app port.
forwarded_allow_ips = env_str("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# Logs on stdout/stderr, one line per request, key=value like the application's own lines:
# the request id (the response's X-Request-ID, set by config.request_log), the time taken in
# microseconds (%(D)s) and the client address the proxy reported.
accesslog = env_str("GUNICORN_ACCESS_LOG", "-") or None
errorlog = "-"
loglevel = env_str("GUNICORN_LOG_LEVEL", "info")
access_log_format = (
    'request_id=%({x-request-id}o)s remote=%({x-forwarded-for}i)s method=%(m)s path="%(U)s" '
    'status=%(s)s bytes=%(B)s duration_us=%(D)s agent="%(a)s"'
)

# Gunicorn >= 25 opens a control socket in $HOME by default: one fixed path per user, which a
# second gunicorn on the same host (two app servers, the benchmark) would fight over. systemd's
# signals already reload and stop; give GUNICORN_CONTROL_SOCKET a path to have one anyway.
_control_socket = env_str("GUNICORN_CONTROL_SOCKET", "")
if _control_socket:
    control_socket = _control_socket
control_socket_disable = not _control_socket

# Workers load the application after forking: each opens its own database connection, and a
# SIGHUP reload picks up new code without dropping the listening socket.
preload_app = False
