"""The web console (`GET /` on the control listener) in a real headless Chromium.

Debian's `chromium` is driven by Playwright's Python API with its executable path set (no
`playwright install`, no browser download). A missing browser fails these tests, never skips them.
Each test opens the console of a simulator started with `--admin-token`, enters the token in the
page, and checks what a user would see; state is changed by the console (through the control API)
or by another client (ZAPI, the control API) and the page must follow. Screenshots at 1280x720 go
to tests/python/.output/console/.
"""

import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
from netapp_lib.api.zapi import zapi
from playwright.sync_api import expect, sync_playwright

from simproc import SimProcess

TOPOLOGY = Path(__file__).resolve().with_name("topology.toml")
OUTPUT = Path(__file__).resolve().parent / ".output" / "console"
TOKEN = "console-test-token-5b1e"
# How long the page may take to show a change: it polls every second.
SEEN = 5_000
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]


def chromium_path():
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        pytest.fail(
            "Chromium is not installed: the console's browser tests need Debian's `chromium` "
            "(scripts/test.sh installs it with apt-get)",
            pytrace=False,
        )
    return path


class ConsoleSim:
    def __init__(self, proc, state_dir):
        self.proc = proc
        self.state_dir = state_dir
        self.admin = next(l.split()[1] for l in proc.banner if l.split()[:1] == ["admin"])

    def control(self, method, path, body=None, token=TOKEN, timeout=10):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.admin + path, data=data, method=method)
        if token:
            req.add_header("Authorization", f"Bearer {token}")
        with urllib.request.urlopen(req, timeout=timeout) as r:
            text = r.read().decode()
            return json.loads(text) if "json" in r.headers.get("content-type", "") else text

    def zapi(self, vserver=None, timeout=10):
        s = zapi.NaServer(self.proc.host, server_type="filer", transport_type="https",
                          style="basic_auth", username="admin", password="netapp1!",
                          port=self.proc.port)
        s.set_api_version(major=1, minor=21)
        if vserver:
            s.set_vserver(vserver)
        s.set_timeout(timeout)
        return s

    def invoke(self, name, args=None, vserver="svm1", timeout=10):
        el = zapi.NaElement(name)
        if args:
            el.translate_struct(args)
        return self.zapi(vserver, timeout).invoke_successfully(el, enable_tunneling=vserver is not None)


@pytest.fixture(scope="module")
def csim():
    import ssl

    state_dir = Path(tempfile.mkdtemp(prefix="ontap-sim-console-"))
    proc = SimProcess(
        ["--listen", "127.0.0.1:0", "--nfs-listen", "127.0.0.1:0", "--ephemeral",
         "--config", TOPOLOGY, "--admin-token", TOKEN],
        log_path=state_dir / "ontap-sim.stderr.log",
    )
    saved = ssl._create_default_https_context
    ssl._create_default_https_context = ssl._create_unverified_context
    try:
        yield ConsoleSim(proc, state_dir)
    finally:
        ssl._create_default_https_context = saved
        code = proc.stop()
        shutil.rmtree(state_dir, ignore_errors=True)
        assert code == 0, f"ontap-sim exited with {code}:\n{proc.stderr()}"


@pytest.fixture(autouse=True)
def _clean(csim):
    """Each test starts from the seed topology, and leaves it so even when it fails."""
    csim.control("POST", "/reset", timeout=120)
    yield
    csim.control("POST", "/reset", timeout=120)


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium with a fresh profile (--user-data-dir): nothing cached from an earlier
    run. Each test opens its own tab, so sessionStorage (where the token lives) starts empty."""
    exe = chromium_path()
    OUTPUT.mkdir(parents=True, exist_ok=True)
    profile = tempfile.mkdtemp(prefix="ontap-sim-chromium-")
    try:
        with sync_playwright() as p:
            ctx = p.chromium.launch_persistent_context(
                profile, executable_path=exe, headless=True, args=CHROMIUM_FLAGS,
                viewport={"width": 1280, "height": 720})
            try:
                yield ctx
            finally:
                ctx.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def sign_in(pg, admin):
    pg.goto(admin + "/")
    dialog = pg.locator("#token-dialog")
    expect(dialog).to_be_visible(timeout=SEEN)
    pg.fill("#token-input", TOKEN)
    pg.press("#token-input", "Enter")
    expect(dialog).to_be_hidden(timeout=SEEN)


@pytest.fixture
def page(browser, csim):
    """A console tab, signed in with the token (entered in the page's dialog)."""
    pg = browser.new_page()
    errors = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    try:
        sign_in(pg, csim.admin)
        yield pg
    finally:
        pg.close()
    assert not errors, f"script errors in the page: {errors}"


def shot(pg, name):
    pg.wait_for_timeout(300)  # let a bar or chart finish drawing
    pg.screenshot(path=str(OUTPUT / f"{name}.png"))
    width = pg.evaluate("document.documentElement.scrollWidth")
    assert width <= 1280, f"{name}: the page is {width}px wide at 1280x720"


def goto(pg, route):
    pg.evaluate(f"location.hash = {json.dumps(route)}")


# -------------------------------------------------------------------------------------------------


def test_the_browser_is_the_system_chromium(browser):
    assert browser.browser is not None and browser.browser.version, "Chromium answered no version"


def test_page_and_assets_load_without_the_token_but_data_needs_it(csim):
    assert "<title>ontap-sim console</title>" in csim.control("GET", "/", token=None)
    assert ":root" in csim.control("GET", "/console/style.css", token=None)
    for path in ["/cluster", "/volumes", "/faults", "/journal"]:
        with pytest.raises(urllib.error.HTTPError) as e:
            csim.control("GET", path, token=None)
        assert e.value.code == 401, path
        with pytest.raises(urllib.error.HTTPError) as e:
            csim.control("GET", path, token="wrong")
        assert e.value.code == 401, path


def test_volume_views_refuse_bad_parameters_and_name_them(csim):
    before = csim.control("GET", "/volumes?limit=1000")
    for query, word in [("sort=colour", "colour"), ("limit=0", "limit"), ("limit=1001", "1000"),
                        ("offset=-3", "offset"), ("order=up", "asc"), ("page=2", "page")]:
        with pytest.raises(urllib.error.HTTPError) as e:
            csim.control("GET", "/volumes?" + query)
        assert e.value.code == 400, query
        assert word in json.loads(e.value.read())["error"], query
    with pytest.raises(urllib.error.HTTPError) as e:
        csim.control("GET", "/volumes/svm1/no_such_volume")
    assert e.value.code == 404
    assert csim.control("GET", "/volumes?limit=1000") == before


def test_token_is_asked_once_kept_for_the_tab_and_never_put_in_a_url(browser, csim):
    pg = browser.new_page()
    requests = []
    pg.on("request", lambda r: requests.append((r.url, r.headers.get("authorization"))))
    try:
        pg.goto(csim.admin + "/")
        expect(pg.locator("#token-dialog")).to_be_visible(timeout=SEEN)
        expect(pg.locator("#conn")).to_have_text("token needed")
        shot(pg, "token")
        # A wrong token is refused and asked again; nothing is shown meanwhile.
        pg.fill("#token-input", "not-the-token")
        pg.press("#token-input", "Enter")
        expect(pg.locator("#token-error")).to_contain_text("refused", timeout=SEEN)
        expect(pg.locator("#token-dialog")).to_be_visible()
        pg.fill("#token-input", TOKEN)
        pg.click("#token-dialog button[type=submit]")
        expect(pg.locator("#token-dialog")).to_be_hidden(timeout=SEEN)
        expect(pg.locator("main")).to_contain_text("aggr1", timeout=SEEN)
        # Kept for the tab: other pages and a reload do not ask again.
        for route in ["#/volumes", "#/journal", "#/faults", "#/metrics"]:
            goto(pg, route)
            pg.wait_for_timeout(200)
        pg.reload()
        expect(pg.locator("main")).to_contain_text("aggr1", timeout=SEEN)
        expect(pg.locator("#token-dialog")).to_be_hidden()
        assert pg.evaluate("sessionStorage.length") == 1
        assert pg.evaluate("localStorage.length") == 0
        assert not any(TOKEN in url for url, _ in requests), "the token went into a URL"
        data = [(u, a) for u, a in requests if "/console/" not in u and not u.endswith("/")]
        assert data and all(a in (None, f"Bearer {TOKEN}", "Bearer not-the-token") for _, a in data)
        assert any(a == f"Bearer {TOKEN}" and "/journal?" in u for u, a in data), \
            "the journal stream carried no token"
    finally:
        pg.close()


def test_cluster_page_shows_nodes_aggregates_svms_lifs_and_users(page, csim):
    main = page.locator("main")
    expect(main).to_contain_text("cluster1-01", timeout=SEEN)
    for text in ["aggr1", "svm1", "svm2", "svm1_data1", "127.0.0.2", "vsadmin", "running"]:
        expect(main).to_contain_text(text)
    expect(page.locator("[role=meter][aria-label='aggregate aggr1 used']")).to_be_visible()
    expect(page.locator("#cluster-name")).to_contain_text("cluster1")
    # Another client stops an SVM: the open page follows.
    csim.control("POST", "/svm/svm2/stop")
    expect(page.locator("tr", has_text="svm2").first).to_contain_text("stopped", timeout=SEEN)
    csim.control("POST", "/aggregate/aggr1", {"fill_percent": 60})
    expect(page.locator("[role=meter][aria-label='aggregate aggr1 used']")).to_have_attribute(
        "aria-valuenow", "60", timeout=SEEN)
    shot(page, "cluster")


def test_volume_created_over_zapi_appears_and_its_page_has_the_mount_command(page, csim):
    goto(page, "#/volumes")
    table = page.locator("#volumes")
    expect(table).to_contain_text("svm1_root", timeout=SEEN)
    csim.invoke("volume-create", {"volume": "console_vol1", "containing-aggr-name": "aggr1",
                                  "size": "1g", "junction-path": "/console_vol1"})
    csim.invoke("snapshot-create", {"volume": "console_vol1", "snapshot": "snap_a"})
    csim.invoke("volume-clone-create", {"volume": "console_clone1", "parent-volume": "console_vol1",
                                        "parent-snapshot": "snap_a", "junction-path": "/console_clone1"})
    row = table.locator("tr").filter(has=page.get_by_role("link", name="console_vol1", exact=True))
    expect(row).to_contain_text("/console_vol1", timeout=SEEN)
    expect(row).to_contain_text("1.00 GiB")
    clone = table.locator("tr").filter(has=page.get_by_role("link", name="console_clone1", exact=True))
    expect(clone).to_contain_text("console_vol1 @ snap_a")
    shot(page, "volumes")
    # Filter, then sort by size descending: the 1 GiB volumes lead.
    page.fill("#vol-filter", "console_")
    expect(page.locator(".pager .count")).to_contain_text("1–2 of 2", timeout=SEEN)
    page.click("button[data-sort=name]")  # name is sorted already: this turns it around
    expect(table.locator("tbody tr").first).to_contain_text("console_vol1", timeout=SEEN)
    page.fill("#vol-filter", "")
    # The volume's page.
    page.fill("#vol-filter", "console_vol1")
    expect(page.locator(".pager .count")).to_contain_text("1–1 of 1", timeout=SEEN)
    table.get_by_role("link", name="console_vol1", exact=True).click()
    main = page.locator("main")
    expect(main).to_contain_text("snap_a", timeout=SEEN)
    expect(main).to_contain_text("console_clone1")
    nfs_port = next(int(l.split()[1].rsplit(":", 1)[1]) for l in csim.proc.banner if l.split()[:1] == ["NFS"])
    expect(page.locator("pre.cmd").first).to_have_text(
        f"mount -t nfs -o vers=3,proto=tcp,nolock,port={nfs_port},mountport={nfs_port} "
        "127.0.0.1:/console_vol1 /mnt/console_vol1")
    # The topology's default policy has no rules; one added over ZAPI shows up.
    expect(main).to_contain_text("has no rules")
    csim.invoke("export-rule-create", {"policy-name": "default", "client-match": "127.0.0.0/8",
                                       "ro-rule": {"security-flavor": "sys"},
                                       "rw-rule": {"security-flavor": "sys"},
                                       "super-user-security": {"security-flavor": "sys"}})
    expect(main).to_contain_text("127.0.0.0/8", timeout=SEEN)
    # Used comes from the data: 5 MiB written over NFS (libnfs's nfs-cp) shows on the page.
    assert shutil.which("nfs-cp"), "nfs-cp (libnfs-utils) is missing: scripts/test.sh installs it"
    with tempfile.NamedTemporaryFile() as f:
        f.write(os.urandom(5 << 20))
        f.flush()
        url = f"nfs://127.0.0.1/console_vol1/data.bin?nfsport={nfs_port}&mountport={nfs_port}"
        r = subprocess.run(["nfs-cp", f.name, url], capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
    expect(main).to_contain_text("Used5.00 MiB of", timeout=SEEN)
    csim.invoke("qtree-create", {"volume": "console_vol1", "qtree": "q1"})
    expect(main).to_contain_text("q1", timeout=SEEN)
    shot(page, "volume")


def test_volume_paging_and_sorting(page, csim):
    for i in range(30):
        csim.invoke("volume-create", {"volume": f"page_vol_{i:02d}", "containing-aggr-name": "aggr1",
                                      "size": f"{100 + i}m"})
    goto(page, "#/volumes")
    page.select_option("#vol-svm", "svm1")
    page.select_option("#vol-limit", "25")
    count = page.locator(".pager .count")
    expect(count).to_contain_text("1–25 of 31", timeout=SEEN)
    page.click("#vol-next")
    expect(count).to_contain_text("26–31 of 31", timeout=SEEN)
    expect(page.locator("#vol-next")).to_be_disabled()
    page.click("#vol-first")
    page.click("button[data-sort=size]")
    page.click("button[data-sort=size]")  # descending: svm1_root (1 GiB) first, then page_vol_29
    rows = page.locator("#volumes tbody tr")
    expect(rows.nth(0)).to_contain_text("svm1_root", timeout=SEEN)
    expect(rows.nth(1)).to_contain_text("page_vol_29")
    expect(page.locator("th[aria-sort=descending]")).to_contain_text("Size")


def test_hang_preset_hangs_a_zapi_call_the_journal_shows_the_fault_and_removal_heals(page, csim):
    goto(page, "#/faults")
    page.fill("#preset-api", "vserver-get")
    page.click("button[data-preset=hang]")
    rules = page.locator("#rules")
    expect(rules).to_contain_text("api=vserver-get", timeout=SEEN)
    expect(rules).to_contain_text("hang")
    # A ZAPI call now hangs: netapp-lib gives up after its timeout.
    with pytest.raises(Exception) as e:
        csim.invoke("vserver-get", timeout=2)
    assert isinstance(e.value, (socket.timeout, TimeoutError)) or "timed out" in str(e.value), e.value
    expect(rules.locator("tbody tr").first.locator("td").nth(5)).to_have_text("1", timeout=SEEN)
    shot(page, "faults")
    # The journal shows the call as a fault, highlighted, and its detail names the rule.
    goto(page, "#/journal")
    row = page.locator("#journal tr.fault", has_text="vserver-get").first
    expect(row).to_be_visible(timeout=SEEN)
    row.locator("button").click()
    detail = page.locator("#j-detail")
    expect(detail).to_contain_text("fault", timeout=SEEN)
    expect(detail).to_contain_text("hang")
    shot(page, "journal")
    # Removed from the page: the call answers again.
    goto(page, "#/faults")
    page.locator("#rules button", has_text="Remove").first.click()
    expect(rules).to_contain_text("no rules", timeout=SEEN)
    assert csim.control("GET", "/faults") == []
    r = csim.invoke("vserver-get", timeout=10)
    assert r.get_child_by_name("attributes") is not None


def test_lif_down_and_up_from_the_page(page, csim):
    goto(page, "#/faults")
    down = page.locator("button[data-lif=svm1_data1][data-to=down]")
    down.click()
    expect(page.locator("button[data-lif=svm1_data1][data-to=up]")).to_be_visible(timeout=SEEN)
    lif = csim.invoke("net-interface-get-iter", {"query": {"net-interface-info": {"interface-name": "svm1_data1"}}},
                      vserver=None)
    info = lif.get_child_by_name("attributes-list").get_child_by_name("net-interface-info")
    assert info.get_child_content("operational-status") == "down"
    goto(page, "#/cluster")
    expect(page.locator("tr", has_text="svm1_data1")).to_contain_text("down", timeout=SEEN)
    goto(page, "#/faults")
    page.locator("button[data-lif=svm1_data1][data-to=up]").click()
    expect(page.locator("button[data-lif=svm1_data1][data-to=down]")).to_be_visible(timeout=SEEN)
    lif = csim.invoke("net-interface-get-iter", {"query": {"net-interface-info": {"interface-name": "svm1_data1"}}},
                      vserver=None)
    info = lif.get_child_by_name("attributes-list").get_child_by_name("net-interface-info")
    assert info.get_child_content("operational-status") == "up"


def test_presets_and_switches_act_through_the_control_api(page, csim):
    goto(page, "#/faults")
    expect(page.locator("button[data-preset=errno]")).to_be_visible(timeout=SEEN)
    page.click("button[data-preset=errno]")
    expect(page.locator("#rules")).to_contain_text("13001", timeout=SEEN)
    with pytest.raises(zapi.NaApiError) as e:
        csim.invoke("volume-create", {"volume": "nope", "containing-aggr-name": "aggr1", "size": "1g"})
    assert e.value.code == "13001"
    page.click("button[data-preset=aggr-full]")
    expect(page.locator(".status-line").first).to_contain_text("Aggregate aggr1 full", timeout=SEEN)
    aggr = csim.control("GET", "/cluster")["aggregates"][0]
    assert aggr["available"] == 0
    page.click("button[data-preset=blackhole]")
    expect(page.locator("button[data-listener=management][data-mode=blackhole]")).to_have_attribute(
        "aria-pressed", "true", timeout=SEEN)
    assert csim.control("GET", "/listeners")["management"] == "blackhole"
    page.click("button[data-preset=svm-stop]")
    expect(page.locator("button[data-svm=svm1][data-to=start]")).to_be_visible(timeout=SEEN)
    # Heal all puts every switch back and removes the rules.
    page.click("#heal")
    expect(page.locator(".status-line").first).to_contain_text("back to normal", timeout=SEEN)
    state = csim.control("GET", "/cluster")
    assert csim.control("GET", "/faults") == []
    assert csim.control("GET", "/listeners") == {"management": "normal", "nfs": "normal"}
    assert all(s["state"] == "running" for s in state["svms"])
    assert state["aggregates"][0]["filled"] == 0


def test_new_rule_form_and_bad_input_changes_nothing(page, csim):
    goto(page, "#/faults")
    expect(page.locator("#rule-form")).to_be_visible(timeout=SEEN)
    page.fill("#api", "volume-size")
    page.select_option("#action", "zapi")
    page.fill("#errno", "13115")
    page.fill("#reason", "Invalid value specified")
    page.select_option("#fire", "times")
    page.fill("#fire_n", "2")
    page.click("#rule-form button[type=submit]")
    expect(page.locator("#rules")).to_contain_text("13115", timeout=SEEN)
    rules = csim.control("GET", "/faults")
    assert rules[0]["spec"]["fire"] == {"times": 2}
    assert rules[0]["spec"]["action"] == {"type": "zapi", "errno": 13115, "reason": "Invalid value specified"}
    # A probability above 1 is refused by the control API; the page says so and nothing changes.
    page.select_option("#action", "hang")
    page.select_option("#fire", "probability")
    page.fill("#fire_n", "3")
    page.click("#rule-form button[type=submit]")
    expect(page.locator(".status-line").first).to_contain_text("failed", timeout=SEEN)
    expect(page.locator(".status-line").first).to_contain_text("probability")
    assert len(csim.control("GET", "/faults")) == 1


def test_journal_is_live_filters_and_shows_failures(page, csim):
    goto(page, "#/journal")
    expect(page.locator("#j-live")).to_contain_text("live", timeout=SEEN)
    csim.invoke("system-get-version", vserver=None)
    with pytest.raises(zapi.NaApiError):
        csim.invoke("volume-offline", {"name": "no_such_volume"})
    journal = page.locator("#journal")
    expect(journal.locator("tr.bad", has_text="volume-offline")).to_be_visible(timeout=SEEN)
    # Newest first.
    expect(journal.locator("tbody tr").first).to_contain_text("volume-offline")
    page.fill("#j-api", "system-*")
    expect(journal.locator("tbody tr", has_text="volume-offline")).to_have_count(0, timeout=SEEN)
    expect(journal.locator("tbody tr", has_text="system-get-version").first).to_be_visible()
    page.fill("#j-api", "")
    page.select_option("#j-result", "failed")
    expect(journal.locator("tbody tr", has_text="system-get-version")).to_have_count(0, timeout=SEEN)
    expect(journal.locator("tbody tr", has_text="volume-offline").first).to_be_visible()
    journal.locator("tbody tr", has_text="volume-offline").first.locator("button").click()
    expect(page.locator("#j-detail")).to_contain_text("svm1", timeout=SEEN)


def test_metrics_page_draws_charts_from_prometheus_text(page, csim):
    goto(page, "#/metrics")
    for _ in range(5):
        csim.invoke("system-get-version", vserver=None)
    # Two samples make a rate: a line appears in the request chart.
    expect(page.locator("#chart-requests polyline").first).to_be_attached(timeout=SEEN)
    expect(page.locator("#chart-volumes .legend")).to_contain_text("svm1", timeout=SEEN)
    expect(page.locator("#chart-aggr .legend")).to_contain_text("aggr1")
    shot(page, "metrics")


def test_keyboard_reaches_every_page_and_a_poll_keeps_the_focus(page, csim):
    # The skip link comes first, then the pages in the header.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "skip"
    nav = page.locator("nav a")
    for i, name in enumerate(["cluster", "volumes", "journal", "faults", "metrics"]):
        nav.nth(i).focus()
        page.keyboard.press("Enter")
        expect(page).to_have_url(f"{csim.admin}/#/{name}", timeout=SEEN)
        expect(nav.nth(i)).to_have_attribute("aria-current", "page")
    goto(page, "#/faults")
    csim.control("POST", "/faults", {"match": {"api": "x-y"}, "action": {"type": "hang"}})
    remove = page.locator("#rules button", has_text="Remove")
    expect(remove).to_have_count(1, timeout=SEEN)
    remove.focus()
    label = remove.get_attribute("aria-label")
    # Another client adds a rule: the rules table is redrawn, the focus stays where it was.
    csim.control("POST", "/faults", {"match": {"api": "z-w"}, "action": {"type": "hang"}})
    expect(page.locator("#rules")).to_contain_text("api=z-w", timeout=SEEN)
    assert page.evaluate("document.activeElement.getAttribute('aria-label')") == label
    page.keyboard.press("Enter")
    expect(page.locator("#rules")).not_to_contain_text("api=x-y", timeout=SEEN)
    assert [r["spec"]["match"]["api"] for r in csim.control("GET", "/faults")] == ["z-w"]


def test_volumes_page_pages_filters_and_sorts_thousands_of_volumes(browser):
    """5,000 volumes loaded through PUT /state (copies of one made over ZAPI, thin so they fit
    the aggregate): the table shows its count, goes to the last page, filters and sorts. A
    simulator of its own whose data this test removes, so no other test pays for thousands of data
    directories (each volume has one; the listing's cost at 100k is printed by `cargo run
    --release --example console_views`)."""
    import ssl

    n = 5_000
    state_dir = Path(tempfile.mkdtemp(prefix="ontap-sim-console-scale-"))
    # Ephemeral (no fsync per change), with its temporary data dir inside ours (TMPDIR).
    proc = SimProcess(
        ["--listen", "127.0.0.1:0", "--nfs-listen", "127.0.0.1:0", "--ephemeral",
         "--config", TOPOLOGY, "--admin-token", TOKEN],
        log_path=state_dir / "ontap-sim.stderr.log",
        env={**os.environ, "TMPDIR": str(state_dir)},
    )
    big = ConsoleSim(proc, state_dir)
    saved = ssl._create_default_https_context
    ssl._create_default_https_context = ssl._create_unverified_context
    pg = browser.new_page()
    try:
        big.invoke("volume-create", {"volume": "scale_template", "containing-aggr-name": "aggr1",
                                     "size": "1g", "space-reserve": "none"})
        doc = big.control("GET", "/state")
        template = next(r for r in doc["records"]
                        if r["kind"] == "volume" and r["value"]["name"] == "scale_template")["value"]
        start = doc["counters"]["next_dsid"]
        for i in range(n):
            v = dict(template)
            v.update(name=f"scale_{i:06d}", uuid=str(uuid.uuid5(uuid.NAMESPACE_URL, f"scale/{i}")),
                     dsid=start + i, size=(1 << 30) + (i % 1000) * (1 << 20), junction_path=None)
            doc["records"].append({"kind": "volume", "value": v})
        doc["counters"]["next_dsid"] = start + n
        req = urllib.request.Request(big.admin + "/state", data=json.dumps(doc).encode(), method="PUT",
                                     headers={"Authorization": f"Bearer {TOKEN}"})
        try:
            with urllib.request.urlopen(req, timeout=300) as r:
                assert r.status == 200
        except urllib.error.HTTPError as e:
            pytest.fail(f"PUT /state refused: {e.read()[:2000]!r}")
        total = n + 3  # the copies, the template and the two SVM roots
        sign_in(pg, big.admin)
        goto(pg, "#/volumes")
        count = pg.locator(".pager .count")
        expect(count).to_have_text(f"1–50 of {total:,}", timeout=SEEN)
        pg.click("#vol-last")
        last = total - total % 50 + 1
        expect(count).to_have_text(f"{last:,}–{total:,} of {total:,}", timeout=SEEN)
        expect(pg.locator("#volumes tbody tr").last).to_contain_text("svm2_root")
        pg.click("button[data-sort=size]")
        pg.click("button[data-sort=size]")
        rows = pg.locator("#volumes tbody tr")
        # The largest are 1 GiB + 999 MiB; equal sizes are in name order, reversed with the order.
        expect(rows.first).to_contain_text("scale_004999", timeout=SEEN)
        expect(rows.nth(1)).to_contain_text("scale_003999")
        pg.fill("#vol-filter", "SCALE_00499")
        expect(count).to_have_text(f"1–10 of 10 ({total:,} in all)", timeout=SEEN)
        shot(pg, "volumes-5k")
    finally:
        pg.close()
        ssl._create_default_https_context = saved
        code = proc.stop(timeout=60)  # its temporary data dir goes at exit
        shutil.rmtree(state_dir, ignore_errors=True)
    assert code == 0, f"ontap-sim exited with {code}:\n{proc.stderr()}"
