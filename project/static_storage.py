"""Static file URLs computed once per process, not on every ``{% static %}``.

A signed-in page renders three ``{% static %}`` tags; each asks the manifest storage to split,
unquote and look up the name again (about 100 µs apiece on a loaded 2-core machine: see
docs/performance.md). The manifest is read once at start-up, so the answer for a name cannot
change until ``collectstatic`` runs again, which clears the cache.
"""

from whitenoise.storage import CompressedManifestStaticFilesStorage


class CachedURLManifestStaticFilesStorage(CompressedManifestStaticFilesStorage):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._urls: dict[str, str] = {}

    def url(self, name, force=False):
        if force:
            return super().url(name, force)
        try:
            return self._urls[name]
        except KeyError:
            url = self._urls[name] = super().url(name)
            return url

    def post_process(self, *args, **kwargs):
        self._urls.clear()
        yield from super().post_process(*args, **kwargs)
