"""Staff users. A custom model from day one, so adding fields later never needs a user-table migration dance."""

from django.contrib.auth.models import AbstractUser


class User(AbstractUser):
    """A member of staff. Roles are Django groups (`Admin`, `Staff`, see `roles.py`); permissions come with them."""
