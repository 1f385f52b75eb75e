from django.contrib.auth.models import AbstractUser


class User(AbstractUser):
    """The project's user from the first migration, so fields can be added without pain.

    ``is_staff`` is the role that may elevate into sudo mode and open the staff console.
    """
