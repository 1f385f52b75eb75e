from django import template

register = template.Library()


@register.filter
def minutes_seconds(seconds) -> str:
    """541 -> '9:01': the time left in sudo mode, as the header shows it."""
    seconds = max(0, int(seconds or 0))
    return f"{seconds // 60}:{seconds % 60:02d}"
