"""Human names for the user agents recorded with each session ("Chrome 156 on Linux").

ua-parser does the parsing; this module only chooses the words. Names are a convenience for the
user, never a security decision: a user agent is whatever the client says it is.
"""

from functools import lru_cache

from ua_parser import parse

# ua-parser's family names, shortened to what people call their browser or system.
_BROWSERS = {
    "Mobile Safari": "Safari",
    "Mobile Safari UI/WKWebView": "Safari",
    "Chrome Mobile": "Chrome",
    "Chrome Mobile iOS": "Chrome",
    "Chrome Mobile WebView": "Chrome WebView",
    "Firefox Mobile": "Firefox",
    "Firefox iOS": "Firefox",
    "Edge Mobile": "Edge",
    "Samsung Internet": "Samsung Internet",
}
_SYSTEMS = {"Mac OS X": "macOS", "Chrome OS": "ChromeOS"}
_APPLE_DEVICES = ("iPhone", "iPad", "iPod")

UNKNOWN_DEVICE = "Unknown device"
KINDS = ("desktop", "phone", "tablet")


@lru_cache(maxsize=512)
def describe_device(ua: str | None) -> str:
    """'Firefox 128 on Windows', 'Safari 17 on iPhone', or 'Unknown device'."""
    result = parse(ua or "")
    agent, system, device = result.user_agent, result.os, result.device
    browser = ""
    if agent and agent.family != "Other":
        name = _BROWSERS.get(agent.family, agent.family)
        browser = f"{name} {agent.major}" if agent.major else name
    where = ""
    if device and device.family in _APPLE_DEVICES:
        where = device.family
    elif system and system.family != "Other":
        where = _SYSTEMS.get(system.family, system.family)
    if browser and where:
        return f"{browser} on {where}"
    return browser or where or UNKNOWN_DEVICE


@lru_cache(maxsize=512)
def device_kind(ua: str | None) -> str:
    """'phone', 'tablet' or 'desktop' (the default, also for anything unrecognised)."""
    ua = ua or ""
    result = parse(ua)
    device, system = result.device, result.os
    family = device.family if device else ""
    brand = (device.brand or "") if device else ""
    if family == "iPad" or "Tablet" in brand or "Tablet" in family or "Kindle" in family:
        return "tablet"
    if family in ("iPhone", "iPod"):
        return "phone"
    if system and system.family == "Android":
        # Android's convention: phones say "Mobile" in the user agent, tablets do not.
        return "phone" if "Mobile" in ua else "tablet"
    if "Mobi" in ua:
        return "phone"
    return "desktop"
