"""Who a request speaks for. Jobs belong to an owner; only that owner and admins see them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Owner:
    """An owner's name and whether it may see every job (an admin)."""

    name: str
    admin: bool = False

    def may_see(self, job_owner: str) -> bool:
        return self.admin or job_owner == self.name


EVERYONE = Owner("anonymous", admin=True)
"""The owner of every job when access control is off: sees all jobs."""
