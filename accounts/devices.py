"""Device names for the accounts pages: ``describe_device(ua)`` and ``device_kind(ua)``.

The one implementation lives in ``sessions_admin/devices.py`` (the sessions page uses it too);
this module re-exports it so accounts code and templates have a stable import.
"""

from sessions_admin.devices import describe_device, device_kind

__all__ = ["describe_device", "device_kind"]
