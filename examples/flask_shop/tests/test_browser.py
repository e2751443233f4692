"""The Flask shop's page in headless Chromium (Debian's ``chromium`` package driven by
Playwright through its executable path): a Chinese and an English search show results and
facets, and clicking a facet filters the results. Skipped when chromium or playwright is
not installed, or when this shoprec has no search."""

import os
import shutil
import threading

import pytest

pytest.importorskip("flask")
pytest.importorskip("prometheus_client")

CHROMIUM = os.environ.get("SHOPREC_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def server(shop_dir, tmp_path_factory):
    import shoprec

    if not shoprec.Shop.load(shop_dir).has_search:
        pytest.skip("this build of shoprec has no search extension")
    from werkzeug.serving import make_server

    from flask_shop import create_app

    app = create_app({"SHOP_DIR": shop_dir, "EVENTS_FILE": tmp_path_factory.mktemp("b") / "e.csv"})
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    thread.join(10)


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install playwright)")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                    args=["--no-sandbox", "--disable-dev-shm-usage"])
        yield browser
        browser.close()


def search(page, query):
    page.fill("#q", query)
    with page.expect_response(lambda r: "/search?" in r.url) as response:
        page.press("#q", "Enter")
    assert response.value.status == 200
    page.wait_for_selector("#results li.result")
    return [li.get_attribute("data-id") for li in page.query_selector_all("#results li.result")]


def test_page_search_facets_and_filter(server, browser, demo_data):
    page = browser.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(server + "/?user=u00001")
    page.wait_for_selector("#recommended li.result")  # "recommended for you"
    assert "itemknn" in page.inner_text("#rec-source")

    products = demo_data.products.set_index("id")
    found = search(page, "耳机")
    assert found and all(products.loc[i, "category"] == "headphones" for i in found[:3])
    assert page.query_selector_all("#facets a.facet[data-field='brand']")

    found = search(page, "running shoes")
    assert found and products.loc[found[0], "category"] == "running-shoes"
    facet = page.query_selector("#facets a.facet[data-field='brand']")
    brand = facet.get_attribute("data-value")
    with page.expect_response(lambda r: "brand=" in r.url) as response:
        facet.click()
    assert response.value.status == 200
    page.wait_for_selector("#facets a.facet.active")
    filtered = [li.get_attribute("data-id") for li in page.query_selector_all("#results li.result")]
    assert filtered and all(products.loc[i, "brand"] == brand for i in filtered)
    assert page.get_attribute("#facets a.facet.active", "data-value") == brand
    assert not errors
    page.close()
