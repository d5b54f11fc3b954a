"""The residents' page in headless Chromium (Debian's ``/usr/bin/chromium`` driven by
Playwright) on a phone-sized viewport, against the real app served by uvicorn on loopback: a
migrated SQLite registry and the embedded store holding what the residents' jobs write for the
demo scenario's waste centre and loop station (:func:`seed_residents`).

It sees the centre's level and minute range, the traffic levels, sends a report located by the
browser's geolocation whose description holds markup (it must come back as text, never run), sees
the confirmation and the report in the nearby list, and saves a screenshot as a test artefact
(``build/test-artifacts/residents-page.png``, also under the test's ``tmp_path``).
"""

from __future__ import annotations

import asyncio
import shutil
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import uvicorn
from prometheus_client import CollectorRegistry

from cloud.api import ApiDeps, ApiSettings, create_app
from cloud.api.routes.page import site
from cloud.registry import make_engine, make_session_factory, sqlite_url, upgrade
from cloud.store import SqliteSettings, SqliteStore
from eclor.clock import WallClock
from tests.integration.test_public_api import seed_residents
from tests.services.ports import free_port

playwright = pytest.importorskip("playwright.sync_api")

pytestmark = pytest.mark.integration

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "build" / "test-artifacts"
PHONE = {"width": 390, "height": 844}
HERE = {"latitude": 49.4615, "longitude": 5.9201}
MARKUP = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2"> sacs'


class ServedApp:
    """The app under uvicorn in a thread with its own event loop, seeded at the wall clock's now."""

    def __init__(self, folder: Path, seeded_ago: timedelta = timedelta(0)) -> None:
        self.folder = folder
        self.seeded_ago = seeded_ago
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._started = threading.Event()
        self._server: uvicorn.Server | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> ServedApp:
        self._thread.start()
        if not self._started.wait(30) or self._error is not None:
            raise RuntimeError(f"the app did not start: {self._error!r}")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.should_exit = True
        self._thread.join(15)

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as error:  # noqa: BLE001 - reported to the test thread
            self._error = error
            self._started.set()

    async def _serve(self) -> None:
        engine = make_engine(sqlite_url(self.folder / "registry.sqlite"))
        upgrade(engine)
        clock = WallClock()
        store = await SqliteStore.open(
            SqliteSettings(path=self.folder / "timeseries.sqlite", retention_days=None), clock
        )
        sessions = make_session_factory(engine)
        seeded_at = clock.now().replace(microsecond=0) - self.seeded_ago
        await seed_residents(sessions, store, seeded_at)
        settings = ApiSettings(report_photo_dir=self.folder / "photos")
        deps = ApiDeps(sessions, store, clock, CollectorRegistry(), settings)
        config = uvicorn.Config(
            create_app(deps), host="127.0.0.1", port=self.port, log_level="warning"
        )
        self._server = uvicorn.Server(config)
        serving = asyncio.create_task(self._server.serve())
        while not self._server.started:  # noqa: ASYNC110 - uvicorn has no started event
            await asyncio.sleep(0.05)
        self._started.set()
        await serving
        await store.close()
        engine.dispose()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[ServedApp]:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed at /usr/bin/chromium")
    with ServedApp(tmp_path) as app:
        yield app


def test_a_resident_sees_the_levels_and_reports_dumping_on_a_phone(
    served: ServedApp, tmp_path: Path
) -> None:
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        context = browser.new_context(
            viewport=PHONE,
            device_scale_factor=2,
            is_mobile=True,
            has_touch=True,
            locale="fr-FR",
            timezone_id="Europe/Paris",
            geolocation=HERE,
            permissions=["geolocation"],
        )
        page = context.new_page()
        requested: list[str] = []
        page.on("request", lambda request: requested.append(request.url))
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

        response = page.goto(served.url + "/")
        assert response is not None
        assert response.status == 200
        assert "default-src 'self'" in response.headers["content-security-policy"]
        assert page.locator("html").get_attribute("lang") == "fr"

        # The demo's waste centre with its level, minute range and freshness.
        card = page.locator('[data-centre="vil-dech"]')
        card.wait_for()
        assert "Déchetterie de Villerupt (Villerupt)" in card.locator("h3").inner_text()
        assert card.locator(".badge").inner_text() == "modéré"
        assert "10 à 18 min" in card.inner_text()
        assert "Mesuré il y a 1 min" in card.inner_text()
        card.get_by_role("button", name="Prévision et meilleur moment").click()
        card.get_by_text("Meilleur moment :").wait_for()
        assert card.locator(".slots li").count() >= 5

        # Traffic per lane, with the DATEX II level in French.
        lanes = page.locator("#traffic-list li")
        lanes.first.wait_for()
        text = page.locator("#traffic-list").inner_text()
        assert "D16 sud" in text
        assert "saturé" in text
        assert "960 véh./h" in text

        # A report located by the browser, with markup in its description.
        page.get_by_role("button", name="Utiliser ma position").click()
        page.wait_for_function("document.getElementById('latitude').value !== ''")
        page.get_by_label("Type de dépôt").select_option("encombrants")
        page.get_by_label("Description").fill(MARKUP)
        page.get_by_role("button", name="Envoyer le signalement").click()
        result = page.locator("#report-result")
        result.locator(".ok").wait_for()
        assert "est enregistré" in result.inner_text()
        nearby = page.locator("#nearby-list li")
        nearby.first.wait_for()
        assert MARKUP in nearby.first.inner_text()
        assert page.evaluate("window.__pwned") is None
        assert page.locator("#nearby-list script, #nearby-list img").count() == 0

        shot = tmp_path / "residents-page.png"
        page.screenshot(path=str(shot), full_page=True)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, ARTIFACTS / "residents-page.png")

        assert errors == []
        foreign = [url for url in requested if not url.startswith(served.url)]
        assert foreign == []
        browser.close()


def test_the_page_is_usable_with_the_keyboard_alone(served: ServedApp) -> None:
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        page = browser.new_page(viewport=PHONE, locale="fr-FR")
        page.goto(served.url + "/")
        page.keyboard.press("Tab")
        skip = page.locator(":focus")
        assert skip.inner_text() == "Aller au contenu"
        page.keyboard.press("Enter")
        assert page.evaluate("location.hash") == "#contenu"
        # Every control of the form is reached with Tab, each with its label.
        reached = set()
        for _ in range(40):
            page.keyboard.press("Tab")
            reached.add(page.evaluate("document.activeElement.id"))
        assert {"locate", "latitude", "longitude", "category", "description", "send"} <= reached
        labelled = page.evaluate(
            "[...document.querySelectorAll('input, select, textarea')]"
            ".every(e => e.labels && e.labels.length === 1)"
        )
        assert labelled
        browser.close()


def test_the_page_is_light_and_its_assets_are_cached_for_a_year(served: ServedApp) -> None:
    built = site()
    assert built.total_bytes < 50_000
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        page = browser.new_page()
        seen: dict[str, str] = {}
        page.on(
            "response",
            lambda r: seen.__setitem__(r.url, r.headers.get("cache-control", "")),
        )
        page.goto(served.url + "/")
        page.wait_for_load_state("networkidle")
        browser.close()
    assets = {url: policy for url, policy in seen.items() if "/assets/" in url}
    assert len(assets) == 2
    assert all(f"/assets/{built.version}/" in url for url in assets)
    assert set(assets.values()) == {"public, max-age=31536000, immutable"}
    assert seen[served.url + "/"] == "no-cache"


def test_old_data_is_shown_as_old_not_as_current(tmp_path: Path) -> None:
    """The jobs stopped ten minutes ago: the page says the data is old and the levels unknown."""
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed at /usr/bin/chromium")
    with (
        ServedApp(tmp_path, seeded_ago=timedelta(minutes=10)) as served,
        playwright.sync_playwright() as p,
    ):
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        page = browser.new_page(viewport=PHONE, locale="fr-FR", timezone_id="Europe/Paris")
        page.goto(served.url + "/")
        card = page.locator('[data-centre="vil-dech"]')
        card.wait_for()
        assert card.locator(".badge").inner_text() == "inconnu"
        assert "Attente inconnue" in card.inner_text()
        assert "Données anciennes (il y a 11 min)" in card.locator(".stale").inner_text()
        page.locator("#traffic-list li").first.wait_for()
        lanes = page.locator("#traffic-list").inner_text()
        assert "inconnu" in lanes
        assert "Station muette" in lanes
        browser.close()
