"""URLs for the test suite; tests that need views set ROOT_URLCONF themselves."""

urlpatterns: list[object] = []
