"""Django's Redis cache, keeping one client per connection pool.

Django's ``RedisCacheClient.get_client()`` builds a new ``redis.Redis`` on every cache call;
its constructor fills a table of several hundred response callbacks, which profiling showed as
about a tenth of the CPU of a page-cache hit. A ``redis.Redis`` is safe to share between
threads (each command borrows a connection from the pool), so one per pool is kept and reused.
Everything else (pools, serializer, options) is Django's own.
"""

from django.core.cache.backends.redis import RedisCache, RedisCacheClient


class ReusingRedisCacheClient(RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients.setdefault(id(pool), self._client(connection_pool=pool))
        return client


class SiriusRedisCache(RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = ReusingRedisCacheClient
