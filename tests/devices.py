"""Request headers of the devices the integration tests play: a phone and a Windows laptop."""

PHONE = {
    "HTTP_USER_AGENT": (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
    ),
    "REMOTE_ADDR": "198.51.100.7",
}
WINDOWS = {
    "HTTP_USER_AGENT": (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
    ),
    "REMOTE_ADDR": "192.0.2.44",
}
