pytest_plugins = ["fake_kaggle", "competition"]

import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _plots_only_where_asked(request, monkeypatch):
    """Drawing a run's PNGs takes seconds; only the tests that ask for `with_plots` make them, the others
    take the path of an install without matplotlib."""
    if "with_plots" not in request.fixturenames:
        monkeypatch.setattr("kagglekit.plots.available", lambda: False)


@pytest.fixture
def with_plots():
    pytest.importorskip("matplotlib")
