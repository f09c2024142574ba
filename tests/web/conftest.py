"""The web tests run against a real ``avd run`` (the runtime's fixtures)."""

from tests.runtime.conftest import platform_factory  # noqa: F401  (a fixture)
