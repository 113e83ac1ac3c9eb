"""How reader ids are stored (QUERY_LOG_USERS): hashed with a key, raw, or not at all.

Reader ids (and private chat ids, which equal them) are stored as a keyed hash, as given
or not at all; admin ids in `reloads`/`admin_actions` are stored raw. The key is
QUERY_LOG_SALT, or one generated once and kept in the database's `meta` table. The hash is
applied when a row is written, so rows waiting in memory hold the raw id and `forget` can
still find them there.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field

import aiosqlite

USER_MODES = ("hash", "raw", "off")
# 16 hex characters (64 bits) of HMAC-SHA256: collisions are negligible for a bot's readers.
REF_LENGTH = 16
# Reader ids whose hash is remembered (readers come back; HMAC costs more than the insert).
REF_CACHE_SIZE = 50_000


def hash_ref(salt: str, value: int | str) -> str:
    """The keyed hash of an id: HMAC-SHA256 with the salt, truncated to REF_LENGTH hex chars."""
    digest = hmac.new(salt.encode("utf-8"), str(value).encode("ascii"), hashlib.sha256)
    return digest.hexdigest()[:REF_LENGTH]


@dataclass
class Privacy:
    """One log's privacy setting, its hash key and the refs it has computed."""

    users: str = "hash"
    salt: str | None = field(default=None, repr=False)  # a secret: never in a log line
    # The hash key in use: the salt, else the one generated and stored in the database.
    key: str | None = field(default=None, init=False, repr=False)
    _refs: dict[int | str, str] = field(default_factory=dict, init=False, repr=False)
    # With users "off": a random token per (answer, voter), in memory only, so a second
    # press on the same answer still replaces the vote without any reader id stored.
    _vote_tokens: dict[tuple[str, int], str] = field(default_factory=dict, init=False, repr=False)

    def check(self) -> None:
        """Raise ValueError for a mode that is not one of USER_MODES."""
        if self.users not in USER_MODES:
            raise ValueError(f"users must be one of {USER_MODES}, not {self.users!r}")

    async def load_key(self, db: aiosqlite.Connection) -> None:
        """Use the salt, or the key stored in this database (generating it on first use)."""
        key = self.salt or await stored_salt(db)
        if key != self.key:  # a new file brings a new generated key
            self.key, self._refs = key, {}

    def user_ref(self, user_id: int | str | None) -> str | None:
        """How a reader id is stored under the privacy setting (None when unknown or off)."""
        if user_id is None or self.users == "off":
            return None
        if self.users == "raw":
            return str(user_id)
        ref = self._refs.get(user_id)
        if ref is None:
            assert self.key is not None, "the hash key is loaded with the connection"
            if len(self._refs) >= REF_CACHE_SIZE:
                self._refs.clear()
            ref = self._refs[user_id] = hash_ref(self.key, user_id)
        return ref

    def voter_ref(self, query_id: str, user_id: int | None) -> str | None:
        """How a vote's reader is stored: as user_ref, or with users "off" a vote token."""
        if self.users != "off" or user_id is None:
            return self.user_ref(user_id)
        key = (str(query_id), user_id)
        token = self._vote_tokens.get(key)
        if token is None:
            if len(self._vote_tokens) >= REF_CACHE_SIZE:
                self._vote_tokens.clear()
            # Random, not derived from the id: the file cannot link a token to a reader.
            token = self._vote_tokens[key] = "vote:" + secrets.token_hex(8)
        return token

    async def stored_refs(self, db: aiosqlite.Connection, user_id: int) -> list[str]:
        """Every form the reader's id may be stored in: raw, and hashed with each key.

        Rows may have been written in raw mode, with the configured salt, or with the key
        generated in this database before a salt was configured.
        """
        keys = [self.key] if self.key else []
        async with db.execute("SELECT value FROM meta WHERE key = 'salt'") as cursor:
            row = await cursor.fetchone()
        if row is not None:
            keys.append(row[0])
        return sorted({str(user_id), *[hash_ref(key, user_id) for key in keys]})


async def stored_salt(db: aiosqlite.Connection) -> str:
    """The hash key generated once and kept in the database (made on first use)."""
    await db.execute(
        "INSERT OR IGNORE INTO meta (key, value) VALUES ('salt', ?)", (secrets.token_hex(32),)
    )
    async with db.execute("SELECT value FROM meta WHERE key = 'salt'") as cursor:
        row = await cursor.fetchone()
    assert row is not None
    return str(row[0])
