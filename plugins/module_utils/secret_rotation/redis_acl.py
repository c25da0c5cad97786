"""Redis side of a rotation: the ACL user the agents log in as gets a second password,
then loses the old one. Every error message is redacted before it leaves this module."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from .common import RotationError, redact

try:
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry
except ImportError:  # pragma: no cover - reported by the module as a missing requirement
    redis = None


@dataclass
class RedisEndpoint:
    host: str
    port: int = 6379
    admin_user: str = "admin"
    admin_password: str | None = None
    user: str = "agent"
    tls: bool = False
    ca_cert: str | None = None
    tls_verify: bool = True
    timeout: float = 5.0

    def describe(self) -> str:
        return f"{self.host}:{self.port}{' (TLS)' if self.tls else ''}"


class RedisAcl:
    def __init__(self, endpoint: RedisEndpoint):
        if redis is None:
            raise RotationError("the redis Python package is required for kind=redis")
        self.ep = endpoint

    def _connect(self, username: str, password: str | None):
        kwargs = {"host": self.ep.host, "port": self.ep.port, "username": username, "password": password,
                  "socket_timeout": self.ep.timeout, "socket_connect_timeout": self.ep.timeout,
                  # a refused password must be reported at once, not retried with backoff
                  "retry": Retry(NoBackoff(), 0)}
        if self.ep.tls:
            kwargs.update(ssl=True, ssl_ca_certs=self.ep.ca_cert,
                          ssl_cert_reqs="required" if self.ep.tls_verify else "none")
        return redis.Redis(**kwargs)

    def _fail(self, what: str, exc: Exception, values) -> RotationError:
        kind = type(exc).__name__
        return RotationError(f"Redis at {self.ep.describe()}: {what} failed ({kind}: {redact(str(exc), values)})")

    def _admin(self, values):
        conn = self._connect(self.ep.admin_user, self.ep.admin_password)
        try:
            conn.ping()
        except redis.AuthenticationError as exc:
            raise self._fail(f"authenticating as admin user {self.ep.admin_user!r}", exc, values) from None
        except redis.RedisError as exc:
            raise self._fail("connecting (is it reachable?)", exc, values) from None
        return conn

    def authenticates(self, password: str) -> bool:
        """Does a fresh connection authenticate as the agents' user with this password?"""
        conn = self._connect(self.ep.user, password)
        try:
            conn.ping()
            return True
        except redis.AuthenticationError:
            return False
        except redis.ResponseError as exc:
            if "WRONGPASS" in str(exc) or "NOAUTH" in str(exc):
                return False
            raise self._fail("authenticating as the agents' user", exc, [password]) from None
        except redis.RedisError as exc:
            raise self._fail("connecting (is it reachable?)", exc, [password]) from None
        finally:
            conn.close()

    def refused_everywhere(self, password: str) -> bool:
        return not self.authenticates(password)

    def password_hashes(self, values) -> set[str]:
        conn = self._admin(values)
        try:
            info = conn.execute_command("ACL", "GETUSER", self.ep.user)
        except redis.RedisError as exc:
            raise self._fail(f"ACL GETUSER {self.ep.user}", exc, values) from None
        finally:
            conn.close()
        if info is None:
            raise RotationError(f"Redis at {self.ep.describe()}: ACL user {self.ep.user!r} does not exist")
        if isinstance(info, list):  # RESP2 flat list
            info = dict(zip(info[0::2], info[1::2], strict=False))
        info = {(k.decode() if isinstance(k, bytes) else k): v for k, v in info.items()}
        return {(h.decode() if isinstance(h, bytes) else h) for h in info.get("passwords", [])}

    def has_password(self, password: str) -> bool:
        return hashlib.sha256(password.encode()).hexdigest() in self.password_hashes([password])

    def _setuser(self, modifier: str, values) -> None:
        conn = self._admin(values)
        try:
            conn.execute_command("ACL", "SETUSER", self.ep.user, modifier)
            self._save(conn)
        except redis.RedisError as exc:
            raise self._fail(f"ACL SETUSER {self.ep.user}", exc, values) from None
        finally:
            conn.close()

    @staticmethod
    def _save(conn) -> None:
        """Persist the ACL when Redis runs with an aclfile, so a restart keeps both passwords."""
        try:
            conn.execute_command("ACL", "SAVE")
        except redis.ResponseError as exc:
            if "not configured to use an ACL file" not in str(exc):
                raise

    def add_password(self, password: str) -> None:
        """ACL SETUSER <user> >new (adding a password twice is a no-op)."""
        self._setuser(">" + password, [password, self.ep.admin_password])

    def remove_password(self, password: str) -> bool:
        """ACL SETUSER <user> <old, only if it is still there. True when removed now."""
        if not self.has_password(password):
            return False
        self._setuser("<" + password, [password, self.ep.admin_password])
        return True

    def ping_admin(self) -> None:
        self._admin([self.ep.admin_password]).close()


class RedisAclSet:
    """The agents' ACL user on every node of a sentinel-mode Redis (data nodes and Sentinels), with
    RedisAcl's interface: a password is added and removed on every node, and counts as accepted
    only when every node accepts it. A node restarted mid-rotation builds its ACL from the Secret
    (both passwords while one is pending or previous), so adding again is a no-op there."""

    def __init__(self, endpoints: list[RedisEndpoint]):
        if not endpoints:
            raise RotationError("no Redis node to rotate the password on")
        self.nodes = [RedisAcl(ep) for ep in endpoints]
        self.ep = _Described(endpoints)

    def authenticates(self, password: str) -> bool:
        return all(node.authenticates(password) for node in self.nodes)

    def refused_everywhere(self, password: str) -> bool:
        return not any(node.authenticates(password) for node in self.nodes)

    def password_hashes(self, values) -> set[str]:
        return set().union(*(node.password_hashes(values) for node in self.nodes))

    def has_password(self, password: str) -> bool:
        return any(node.has_password(password) for node in self.nodes)

    def add_password(self, password: str) -> None:
        for node in self.nodes:
            node.add_password(password)

    def remove_password(self, password: str) -> bool:
        removed = False
        for node in self.nodes:
            removed = node.remove_password(password) or removed
        return removed

    def ping_admin(self) -> None:
        for node in self.nodes:
            node.ping_admin()


@dataclass
class _Described:
    """What messages say about the set: the agents' user and every node."""

    endpoints: list[RedisEndpoint]

    @property
    def user(self) -> str:
        return self.endpoints[0].user

    def describe(self) -> str:
        return f"{len(self.endpoints)} nodes ({', '.join(ep.describe() for ep in self.endpoints)})"
