"""Password hashing (bcrypt) and the password policy.

bcrypt only reads the first 72 bytes of a password; rather than silently ignoring the rest,
a longer password is refused by the policy (422) and never matches at login. Hashing and
checking run in a worker thread: at cost 12 each takes a quarter of a second of CPU.
"""

from __future__ import annotations

from collections.abc import Sequence

import anyio
import bcrypt

from admin_module.users.errors import PasswordPolicyViolation

BCRYPT_MAX_BYTES = 72


class PasswordHasher:
    def __init__(self, rounds: int) -> None:
        self.rounds = rounds
        # A real hash of nothing anyone knows: checked when there is no user, so that an
        # unknown username costs the same bcrypt work as a wrong password.
        self._dummy = bcrypt.hashpw(b"no user has this password", bcrypt.gensalt(rounds))

    async def hash(self, password: str) -> str:
        raw = password.encode()
        if len(raw) > BCRYPT_MAX_BYTES:
            raise PasswordPolicyViolation(too_long_message())
        hashed = await anyio.to_thread.run_sync(bcrypt.hashpw, raw, bcrypt.gensalt(self.rounds))
        return hashed.decode()

    async def verify(self, password: str, hashed: str | None) -> bool:
        """True when ``password`` matches ``hashed``; always does one bcrypt check."""
        raw = password.encode()
        if hashed is None or len(raw) > BCRYPT_MAX_BYTES:
            await anyio.to_thread.run_sync(bcrypt.checkpw, raw[:BCRYPT_MAX_BYTES], self._dummy)
            return False
        try:
            return await anyio.to_thread.run_sync(bcrypt.checkpw, raw, hashed.encode())
        except ValueError:  # a malformed stored hash never verifies
            return False


def too_long_message() -> str:
    return (
        f"password is longer than {BCRYPT_MAX_BYTES} bytes in UTF-8; bcrypt would ignore the rest, "
        "so choose a shorter one"
    )


async def check_policy(
    hasher: PasswordHasher,
    *,
    password: str,
    username: str,
    min_length: int,
    previous_hashes: Sequence[str] = (),
) -> None:
    """Raise :class:`PasswordPolicyViolation` (422) naming the first rule ``password`` breaks."""
    if len(password.encode()) > BCRYPT_MAX_BYTES:
        raise PasswordPolicyViolation(too_long_message())
    if len(password) < min_length:
        raise PasswordPolicyViolation(f"password must be at least {min_length} characters long")
    if password.strip().casefold() == username.casefold():
        raise PasswordPolicyViolation("password must not be the username")
    for previous in previous_hashes:
        if await hasher.verify(password, previous):
            raise PasswordPolicyViolation(
                f"password must differ from the last {len(previous_hashes)} passwords"
            )
