"""The app's users, as any app has its own; Flask-Login needs only `UserMixin` and a loader.
Two demo accounts with their passwords in the open: a real app keeps hashes in its database."""

from dataclasses import dataclass

from flask_login import UserMixin
from werkzeug.security import check_password_hash, generate_password_hash


@dataclass(eq=False)
class User(UserMixin):
    id: str
    password_hash: str

    def password_matches(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)


USERS = {name: User(name, generate_password_hash(password))
         for name, password in (("ann", "ann-demo-password"), ("bob", "bob-demo-password"))}
