"""The built-in tracker catalog (``data/trackers.toml``): its form, what it matches, its cookie names, its docs page.

Each vendor's endpoints and loader snippets below are written as the vendors publish them; a test
fails when a host, path or pattern of the catalog stops matching them, when a content host starts
matching, or when the docs page no longer lists what the catalog holds.
"""

from __future__ import annotations

import re
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from cookieconsent.blocking.trackers import BUILTIN, VENDORS, Catalog, TrackerHost, Vendor, load_vendors
from cookieconsent.cli import main as cli_main
from scripts.catalog_cookies import (
    DOCS_PAGE,
    TABLE_END,
    TABLE_START,
    cookies_for,
    read_database,
    render_table,
    replace_cookies,
)
from scripts.catalog_cookies import main as script_main

ROOT = Path(__file__).resolve().parents[1]
TEXT = resources.files("cookieconsent.blocking").joinpath("data/trackers.toml").read_text(encoding="utf-8")
ENTRIES: list[dict[str, Any]] = tomllib.loads(TEXT)["tracker"]
BY_NAME = {v.name: v for v in VENDORS}
CATALOG = Catalog()
TELEXPRESS = ROOT / "examples" / "telexpress" / "policy.toml"

CATEGORIES = {"analytics", "marketing", "functional"}
KEYS = {"vendor", "category", "domains", "urls", "signatures", "cookies", "ocd", "ocd_skip"}
_LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
HOST = re.compile(rf"{_LABEL}(?:\.{_LABEL})+")
#: RFC 6265 token characters; a trailing "*" makes a prefix.
COOKIE = re.compile(r"[!#$%&'+\-.^_`|~0-9A-Za-z]+\*?")
#: Names a site's own cookies commonly bear: a catalog vendor claiming one would mislabel them.
GENERIC_COOKIES = [
    "session", "sessionid", "sid", "id", "uid", "uuid", "token", "csrftoken", "csrf", "lang", "locale",
    "language", "pref", "prefs", "consent", "cookie", "test", "user", "auth", "c", "s", "i",
]  # fmt: skip


# -- the file ---------------------------------------------------------------------------------------


def test_the_catalog_file_loads_into_the_vendors() -> None:
    assert load_vendors(TEXT) == VENDORS
    assert [v.name for v in VENDORS] == [e["vendor"] for e in ENTRIES]
    assert tuple(rule for v in VENDORS for rule in v.hosts()) == BUILTIN


def test_the_catalog_covers_at_least_forty_vendors() -> None:
    assert len(VENDORS) >= 40
    assert len({v.name for v in VENDORS}) == len(VENDORS), "a vendor is listed twice"


@pytest.mark.parametrize("entry", ENTRIES, ids=[e["vendor"] for e in ENTRIES])
def test_every_entry_is_well_formed(entry: dict[str, Any]) -> None:
    assert set(entry) <= KEYS, f"unknown keys {set(entry) - KEYS}"
    assert entry["category"] in CATEGORIES
    assert entry.get("domains") or entry.get("urls") or entry.get("signatures"), "it matches nothing"
    for domain in entry.get("domains", ()):
        assert HOST.fullmatch(domain), f"{domain!r} is not a lower-case host name"
    for url in entry.get("urls", ()):
        host, slash, path = url.partition("/")
        assert HOST.fullmatch(host), f"{url!r}: {host!r} is not a lower-case host name"
        assert slash, f"{url!r} needs a '/' between the host and the path"
        assert path, f"{url!r} needs a path after the host"
        assert not path.startswith("/"), f"{url!r} needs one '/' after the host"
        assert not set("?#") & set(path), f"{url!r}: a prefix is a path, without query or fragment"
    for pattern in entry.get("signatures", ()):
        re.compile(pattern)
    for cookie in entry.get("cookies", ()):
        assert COOKIE.fullmatch(cookie), f"{cookie!r} is not a cookie name (with an optional trailing '*')"
    assert len(set(entry.get("cookies", ()))) == len(entry.get("cookies", ())), "a cookie name is listed twice"


def test_every_url_rule_has_a_path_after_its_host() -> None:
    for rule in BUILTIN:
        assert rule.path == "" or (rule.path.startswith("/") and len(rule.path) > 1), rule


def test_no_host_rule_is_claimed_twice() -> None:
    seen: dict[tuple[str, str], str] = {}
    for rule in BUILTIN:
        key = (rule.host, rule.path)
        assert key not in seen, f"{rule.host}{rule.path} is in both {seen[key]} and {rule.vendor}"
        seen[key] = rule.vendor


def test_no_domain_lies_under_another_domain_rule() -> None:
    # A nested domain is either redundant (same vendor) or an override the catalog does not need.
    domains = [rule for rule in BUILTIN if not rule.path]
    for rule in domains:
        for other in domains:
            assert not rule.host.endswith("." + other.host), (
                f"{rule.host} ({rule.vendor}) lies under {other.host} ({other.vendor})"
            )


# -- hosts ------------------------------------------------------------------------------------------

#: Each vendor's tracking endpoints, as its tags request them: together they exercise every host rule.
ENDPOINTS: dict[str, list[str]] = {
    "Google Analytics": [
        "https://www.google-analytics.com/g/collect?v=2&tid=G-XXXXXXX&en=page_view",
        "https://region1.analytics.google.com/g/collect?v=2&tid=G-XXXXXXX",
    ],
    "Google Tag Manager": [
        "https://www.googletagmanager.com/gtm.js?id=GTM-ABC1234",
        "https://www.googletagmanager.com/gtag/js?id=G-XXXXXXX",
    ],
    "Google Ads": [
        "https://www.googleadservices.com/pagead/conversion.js",
        "https://www.google.com/pagead/1p-conversion/123456789/?random=1",
        "https://www.google.com/ads/ga-audiences?v=1&t=sr",
    ],
    "DoubleClick (Google Marketing Platform)": [
        "https://googleads.g.doubleclick.net/pagead/viewthroughconversion/123456789/?guid=ON&script=0",
        "https://ad.doubleclick.net/ddm/activity/src=1234567;type=invmedia;cat=abc;ord=1",
        "https://securepubads.g.doubleclick.net/tag/js/gpt.js",
        "https://s0.2mdn.net/ads/studio/Enabler.js",
        "https://www.googletagservices.com/tag/js/gpt.js",
        "https://adservice.google.com/adsid/integrator.js?domain=example.com",
    ],
    "Google AdSense": [
        "https://pagead2.googlesyndication.com/pagead/js/adsbygoogle.js?client=ca-pub-1234567890",
        "https://ep1.adtrafficquality.google/getconfig/sodar?sv=200",
    ],
    "Google Optimize": [
        "https://www.googleoptimize.com/optimize.js?id=OPT-ABC1234",
        "https://optimize.google.com/optimize/opt-launch.html",
    ],
    "Google Maps": [
        "https://www.google.com/maps/embed?pb=!1m18",
        "https://maps.google.com/maps?q=taipei&output=embed",
        "https://maps.googleapis.com/maps/api/js?key=KEY",
        "https://maps.gstatic.com/mapfiles/api-3/images/spotlight-poi2.png",
    ],
    "YouTube": [
        "https://www.youtube.com/embed/M7lc1UVf-VE",
        "https://www.youtube-nocookie.com/embed/M7lc1UVf-VE",
        "https://youtu.be/M7lc1UVf-VE",
        "https://i.ytimg.com/vi/M7lc1UVf-VE/hqdefault.jpg",
    ],
    "Meta Pixel": [
        "https://connect.facebook.net/en_US/fbevents.js",
        "https://www.facebook.com/tr?id=1234567890&ev=PageView&noscript=1",
    ],
    "Facebook social plugins": ["https://www.facebook.com/plugins/page.php?href=https%3A%2F%2Fwww.facebook.com%2Fx"],
    "Instagram embeds": ["https://www.instagram.com/embed.js"],
    "LinkedIn Insight": [
        "https://snap.licdn.com/li.lms-analytics/insight.min.js",
        "https://px.ads.linkedin.com/collect/?pid=123456&fmt=gif",
        "https://dc.ads.linkedin.com/collect?pid=1",
        "https://platform.linkedin.com/in.js",
        "https://www.linkedin.com/px/li_sync?redirect=x",
    ],
    "TikTok Pixel": [
        "https://analytics.tiktok.com/i18n/pixel/events.js?sdkid=C123&lib=ttq",
        "https://www.tiktok.com/embed.js",
    ],
    "X (Twitter)": [
        "https://static.ads-twitter.com/uwt.js",
        "https://analytics.twitter.com/i/adsct?txn_id=abc&p_id=Twitter",
        "https://platform.twitter.com/widgets.js",
        "https://platform.x.com/widgets.js",
        "https://t.co/i/adsct?txn_id=abc",
        "https://t.co/1/i/adsct?bci=4&eci=3",
    ],
    "Pinterest Tag": [
        "https://s.pinimg.com/ct/core.js",
        "https://ct.pinterest.com/v3/?tid=2612345678901&event=init&noscript=1",
        "https://assets.pinterest.com/js/pinit.js",
    ],
    "Snap Pixel": ["https://sc-static.net/scevent.min.js", "https://tr.snapchat.com/p"],
    "Reddit Pixel": [
        "https://www.redditstatic.com/ads/pixel.js",
        "https://alb.reddit.com/rp.gif?id=t2_abc&event=PageVisit",
    ],
    "Quora Pixel": [
        "https://a.quora.com/qevents.js",
        "https://q.quora.com/_/ad/abc123/pixel?tag=ViewContent&noscript=1",
    ],
    "Microsoft Clarity": ["https://www.clarity.ms/tag/abcdefghij", "https://c.clarity.ms/c.gif"],
    "Microsoft Advertising (Bing UET)": ["https://bat.bing.com/bat.js", "https://bat.bing.com/action/0?ti=12345678"],
    "Yandex Metrica": ["https://mc.yandex.ru/metrika/tag.js", "https://mc.yandex.com/watch/12345678"],
    "Baidu Tongji": ["https://hm.baidu.com/hm.js?0123456789abcdef0123456789abcdef"],
    "LINE Tag": [
        "https://d.line-scdn.net/n/line_tag/public/release/v1/lt.js",
        "http://d.line-cdn.net/n/line_tag/public/release/v1/lt.js",
        "https://tr.line.me/tag.gif?c_t=lap&t_id=abc&e=pv&noscript=1",
    ],
    "Yahoo Advertising": [
        "https://s.yimg.com/wi/ytc.js",
        "https://sp.analytics.yahoo.com/sp.pl?a=10000&.yp=123",
        "https://ads.yahoo.com/pixel?id=123&t=2",
        "https://pixel.advertising.com/ups/55953/sync",
    ],
    "Yahoo! JAPAN Ads": [
        "https://s.yimg.jp/images/listing/tool/cv/ytag.js",
        "https://b90.yahoo.co.jp/conv.js",
        "https://b91.yahoo.co.jp/pagead/conversion/1000000000/?label=abc&guid=ON&script=0",
        "https://b92.yahoo.co.jp/js/s_retargeting.js",
        "https://b97.yahoo.co.jp/pagead/conversion/1000000000/?guid=ON&script=0&disvt=false",
    ],
    "Kakao Pixel": ["https://t1.daumcdn.net/kas/static/kp.js", "https://t1.daumcdn.net/adfit/static/kp.js"],
    "Naver Analytics": ["https://wcs.naver.net/wcslog.js"],
    "Hotjar": ["https://static.hotjar.com/c/hotjar-1234567.js?sv=6", "https://content.hotjar.io/x"],
    "Contentsquare": ["https://t.contentsquare.net/uxa/0123456789abc.js"],
    "Mixpanel": [
        "https://cdn.mxpnl.com/libs/mixpanel-2-latest.min.js",
        "https://api-js.mixpanel.com/track/?ip=1",
        "https://api.mixpanel.com/engage",
        "https://api-eu.mixpanel.com/track",
    ],
    "Amplitude": [
        "https://cdn.amplitude.com/libs/analytics-browser-2.11.1-min.js.gz",
        "https://api.amplitude.com/2/httpapi",
        "https://api2.amplitude.com/2/httpapi",
        "https://api.eu.amplitude.com/2/httpapi",
    ],
    "Segment": ["https://cdn.segment.com/analytics.js/v1/KEY/analytics.min.js", "https://api.segment.io/v1/t"],
    "Heap": ["https://cdn.heapanalytics.com/js/heap-1234567890.js"],
    "FullStory": [
        "https://edge.fullstory.com/s/fs.js",
        "https://rs.fullstory.com/rec/page",
        "https://edge.eu1.fullstory.com/s/fs.js",
    ],
    "Matomo": [
        "https://cdn.matomo.cloud/example.matomo.cloud/matomo.js",
        "https://example.innocraft.cloud/piwik.php?idsite=1",
    ],
    "Piwik PRO": ["https://example.containers.piwik.pro/abc.js"],
    "Mouseflow": ["https://cdn.mouseflow.com/projects/abc.js"],
    "Crazy Egg": [
        "https://script.crazyegg.com/pages/scripts/0012/3456.js",
        "https://dnn506yrbagrg.cloudfront.net/pages/scripts/0012/3456.js",
        "https://tracking.cetrk.com/s",
    ],
    "Lucky Orange": [
        "https://tools.luckyorange.com/core/lo.js?site-id=abc",
        "https://settings.luckyorange.net/s",
        "https://d10lpsik1i8c69.cloudfront.net/w.js",
    ],
    "Plausible Analytics": ["https://plausible.io/js/script.js"],
    "Fathom Analytics": ["https://cdn.usefathom.com/script.js"],
    "Chartbeat": ["https://static.chartbeat.com/js/chartbeat.js", "https://ping.chartbeat.net/ping?h=example.com"],
    "comScore": ["https://sb.scorecardresearch.com/cs/1234567/beacon.js"],
    "Optimizely": ["https://cdn.optimizely.com/js/1234567890.js", "https://logx.optimizely.com/v1/events"],
    "VWO": ["https://dev.visualwebsiteoptimizer.com/j.php?a=123456"],
    "Adobe Experience Platform Tags (Launch)": ["https://assets.adobedtm.com/abc/launch-EN0123.min.js"],
    "Tealium iQ": [
        "https://tags.tiqcdn.com/utag/acme/main/prod/utag.js",
        "https://collect.tealiumiq.com/event",
    ],
    "Adobe Analytics": [
        "https://acme.sc.omtrdc.net/b/ss/acmeprod/1/JS-2.22.0/s1234",
        "https://acme.112.2o7.net/b/ss/acmeprod/1/H.27/s1234",
        "https://edge.adobedc.net/ee/v1/interact?configId=abc",
    ],
    "Adobe Audience Manager": ["https://dpm.demdex.net/id?d_visid_ver=5.2.0"],
    "Adobe Advertising": ["https://cm.everesttech.net/cm/dd?d_uuid=123"],
    "HubSpot": [
        "https://js.hs-scripts.com/1234567.js",
        "https://js.hs-analytics.net/analytics/1700000000000/1234567.js",
        "https://js.hsadspixel.net/fb.js",
        "https://js.hscollectedforms.net/collectedforms.js",
        "https://track.hubspot.com/__ptq.gif?a=1234567",
    ],
    "Amazon Ads": ["https://c.amazon-adsystem.com/aax2/apstag.js", "https://ir-na.assoc-amazon.com/e/ir?t=x"],
    "Criteo": ["https://static.criteo.net/js/ld/ld.js", "https://sslwidget.criteo.com/event?a=12345"],
    "Taboola": ["https://cdn.taboola.com/libtrc/unip/1234567/tfa.js"],
    "Outbrain": ["https://amplify.outbrain.com/cp/obtp.js", "https://images.outbrainimg.com/transform/v3/x.jpg"],
    "Zemanta": ["https://p1.zemanta.com/v2/p/ns/12345/PAGE_VIEW/"],
    "Quantcast": ["https://secure.quantserve.com/quant.js", "https://rules.quantcount.com/rules-p-abc.js"],
    "Xandr (AppNexus)": ["https://acdn.adnxs.com/dmp/up/pixie.js", "https://ib.adnxs-simple.com/getuid?x"],
    "The Trade Desk": ["https://js.adsrvr.org/up_loader.1.1.0.js", "https://insight.adsrvr.org/track/up"],
    "MediaMath": ["https://pixel.mathtag.com/event/js?mt_id=1234567"],
    "Magnite (Rubicon Project)": [
        "https://pixel.rubiconproject.com/exchange/sync.php?p=abc",
        "https://sync.tremorhub.com/sync",
    ],
    "PubMatic": ["https://ads.pubmatic.com/AdServer/js/pwt/123/456/pwt.js"],
    "OpenX": ["https://us-u.openx.net/w/1.0/pd", "https://acme.servedbyopenx.com/w/1.0/jstag"],
    "Index Exchange": ["https://js-sec.indexww.com/ht/p/123-456.js", "https://ssum.casalemedia.com/usermatch?s=1"],
    "Teads": ["https://p.teads.tv/teads-fellow.js", "https://a.teads.tv/page/12345/tag"],
    "Adform": ["https://track.adform.net/serving/scripts/trackpoint/async/"],
    "Oracle BlueKai": ["https://tags.bluekai.com/site/12345", "https://stags.bkrtx.com/js/bk-coretag.js"],
    "Lotame": ["https://tags.crwdcntrl.net/lt/c/12345/lt.min.js"],
    "LiveRamp": ["https://idsync.rlcdn.com/123456.gif?partner_uid=x"],
    "AddThis": ["https://s7.addthis.com/js/300/addthis_widget.js#pubid=ra-123", "https://v1.addthisedge.com/live/x"],
    "ShareThis": ["https://platform-api.sharethis.com/js/sharethis.js#property=abc&product=inline-share-buttons"],
    "Vimeo": ["https://player.vimeo.com/video/76979871"],
    "Spotify embeds": ["https://open.spotify.com/embed/track/4uLU6hMCjMI75M1A2tKUQC"],
}


def test_every_vendor_with_hosts_has_its_endpoints_tested() -> None:
    assert set(ENDPOINTS) == {v.name for v in VENDORS if v.domains or v.urls}


@pytest.mark.parametrize("vendor", [v for v in VENDORS if v.name in ENDPOINTS], ids=lambda v: v.name)
def test_the_main_endpoints_of_each_vendor_need_its_category(vendor: Vendor) -> None:
    for url in ENDPOINTS[vendor.name]:
        assert Catalog(vendors=(vendor,)).category_of_url(url) == vendor.category, url
        assert CATALOG.category_of_url(url) == vendor.category, url


@pytest.mark.parametrize("rule", BUILTIN, ids=lambda r: f"{r.host}{r.path}")
def test_every_host_rule_is_exercised_by_an_endpoint(rule: TrackerHost) -> None:
    alone = Catalog(extra=(rule,), vendors=())
    assert any(alone.category_of_url(url) == rule.category for url in ENDPOINTS[rule.vendor]), (
        f"no endpoint of {rule.vendor} reaches {rule.host}{rule.path}: add one to ENDPOINTS"
    )


#: Pages and libraries on the vendors' content hosts, and common CDNs: none of them needs consent.
CONTENT = [
    "https://www.linkedin.com/in/someone",
    "https://www.linkedin.com/company/example",
    "https://static.licdn.com/aero-v1/sc/h/abc.css",
    "https://www.google.com/search?q=x",
    "https://www.google.com/recaptcha/api.js",
    "https://www.google.com/adsense/start/",
    "https://www.google.com/",
    "https://www.gstatic.com/recaptcha/releases/abc/recaptcha__en.js",
    "https://fonts.googleapis.com/css2?family=Noto+Sans+TC",
    "https://fonts.gstatic.com/s/notosanstc/v1/x.woff2",
    "https://ajax.googleapis.com/ajax/libs/jquery/3.7.1/jquery.min.js",
    "https://accounts.google.com/gsi/client",
    "https://www.facebook.com/help",
    "https://www.facebook.com/example-page",
    "https://cdn.jsdelivr.net/npm/bootstrap@5.3.3/dist/js/bootstrap.bundle.min.js",
    "https://unpkg.com/htmx.org@2.0.0",
    "https://cdnjs.cloudflare.com/ajax/libs/lodash.js/4.17.21/lodash.min.js",
    "https://d2c7xlmseob604.cloudfront.net/app.js",
    "https://www.instagram.com/p/C1a2b3c4d5e/",
    "https://www.tiktok.com/@someone/video/123",
    "https://x.com/someone/status/1",
    "https://twitter.com/someone",
    "https://www.pinterest.com/pin/123/",
    "https://i.pinimg.com/originals/ab/cd/ef.jpg",
    "https://www.reddit.com/r/python/",
    "https://www.redditstatic.com/shreddit/assets/x.js",
    "https://www.quora.com/What-is-a-cookie",
    "https://www.bing.com/search?q=x",
    "https://www.yahoo.com/",
    "https://tw.yahoo.com/",
    "https://s.yimg.com/rz/p/yahoo_frontpage_en-US_s_f_p_205x58_frontpage.png",
    "https://www.yahoo.co.jp/",
    "https://s.yimg.jp/images/top/sp2/cmn/logo-ns-131205.png",
    "https://line.me/R/ti/p/@example",
    "https://d.line-scdn.net/r/web/social-plugin/js/thirdparty/loader.min.js",
    "https://t1.daumcdn.net/kakao_js_sdk/2.7.2/kakao.min.js",
    "https://www.naver.com/",
    "https://www.baidu.com/s?wd=x",
    "https://yandex.ru/maps/213/moscow/",
    "https://js.hsforms.net/forms/v2.js",
    "https://cmp.quantcast.com/choice/abc/example.com/choice.js",
    "https://www.amazon.com/dp/B000000000",
    "https://open.spotify.com/track/4uLU6hMCjMI75M1A2tKUQC",
    "https://github.com/example/example",
    "https://js.stripe.com/v3/",
    "/static/app.js",
]


@pytest.mark.parametrize("url", CONTENT)
def test_content_hosts_and_libraries_need_no_consent(url: str) -> None:
    assert CATALOG.category_of_url(url) is None


# -- inline snippets --------------------------------------------------------------------------------

#: Each vendor's loader snippets, in the forms its documentation gives (ids shortened).
SNIPPETS: dict[str, list[str]] = {
    "Google Analytics": [
        "window.dataLayer = window.dataLayer || [];\nfunction gtag(){dataLayer.push(arguments);}\n"
        "gtag('js', new Date());\ngtag('config', 'G-XXXXXXX');",
        "gtag('event', 'sign_up', {method: 'Google'});",
        "(function(i,s,o,g,r,a,m){i['GoogleAnalyticsObject']=r;i[r]=i[r]||function(){\n"
        "(i[r].q=i[r].q||[]).push(arguments)},i[r].l=1*new Date();a=s.createElement(o),\n"
        "m=s.getElementsByTagName(o)[0];a.async=1;a.src=g;m.parentNode.insertBefore(a,m)\n"
        "})(window,document,'script','//www.google-analytics.com/analytics.js','ga');\n"
        "ga('create', 'UA-XXXXX-Y', 'auto');\nga('send', 'pageview');",
        "var _gaq = _gaq || [];\n_gaq.push(['_setAccount', 'UA-XXXXX-X']);\n_gaq.push(['_trackPageview']);",
    ],
    "Google Tag Manager": [
        "(function(w,d,s,l,i){w[l]=w[l]||[];w[l].push({'gtm.start':\n"
        "new Date().getTime(),event:'gtm.js'});var f=d.getElementsByTagName(s)[0],\n"
        "j=d.createElement(s),dl=l!='dataLayer'?'&l='+l:'';j.async=true;j.src=\n"
        "'https://www.googletagmanager.com/gtm.js?id='+i+dl;f.parentNode.insertBefore(j,f);\n"
        "})(window,document,'script','dataLayer','GTM-ABC1234');",
        "window.dataLayer.push({'gtm.start': Date.now(), event: 'gtm.js'}); load(window.GTM_URL);",
    ],
    "Google Ads": [
        "gtag('config', 'AW-123456789');",
        "gtag('event', 'conversion', {'send_to': 'AW-123456789/AbC-D_efG-h12_34-567', 'value': 1.0});",
        "var google_conversion_id = 123456789;\nvar google_custom_params = window.google_tag_params;\n"
        "var google_remarketing_only = true;",
    ],
    "DoubleClick (Google Marketing Platform)": [
        "gtag('config', 'DC-1234567');",
        "window.googletag = window.googletag || {cmd: []};\ngoogletag.cmd.push(function() {\n"
        "  googletag.defineSlot('/1234/travel', [300, 250], 'div-1').addService(googletag.pubads());\n"
        "  googletag.enableServices();\n});",
    ],
    "Google AdSense": ["(adsbygoogle = window.adsbygoogle || []).push({});"],
    "Meta Pixel": [
        "!function(f,b,e,v,n,t,s)\n{if(f.fbq)return;n=f.fbq=function(){n.callMethod?\n"
        "n.callMethod.apply(n,arguments):n.queue.push(arguments)};\n"
        "if(!f._fbq)f._fbq=n;n.push=n;n.loaded=!0;n.version='2.0';\n"
        "n.queue=[];t=b.createElement(e);t.async=!0;\nt.src=v;s=b.getElementsByTagName(e)[0];\n"
        "s.parentNode.insertBefore(t,s)}(window, document,'script',\n"
        "'https://connect.facebook.net/en_US/fbevents.js');\nfbq('init', '1234567890');\nfbq('track', 'PageView');",
        "fbq('track', 'Purchase', {value: 1, currency: 'TWD'});",
    ],
    "LinkedIn Insight": [
        '_linkedin_data_partner_id = "123456";',
        '_linkedin_partner_id = "123456";\n'
        "window._linkedin_data_partner_ids = window._linkedin_data_partner_ids || [];\n"
        "window._linkedin_data_partner_ids.push(_linkedin_partner_id);",
        "(function(l) {\nif (!l){window.lintrk = function(a,b){window.lintrk.q.push([a,b])};\n"
        'window.lintrk.q=[]}\nvar s = document.getElementsByTagName("script")[0];\n'
        'var b = document.createElement("script");\nb.type = "text/javascript";b.async = true;\n'
        'b.src = "https://snap.licdn.com/li.lms-analytics/insight.min.js";\n'
        "s.parentNode.insertBefore(b, s);})(window.lintrk);",
        "window.lintrk('track', { conversion_id: 1234567 });",
    ],
    "TikTok Pixel": [
        "!function (w, d, t) {\n  w.TiktokAnalyticsObject=t;var ttq=w[t]=w[t]||[];"
        "ttq.methods=['page','track','identify'];\n  ttq.load=function(e,n){var r='https://analytics.tiktok.com/i18n/pixel/events.js';"
        "ttq._i=ttq._i||{};ttq._i[e]=[];};\n  ttq.load('C0123456789ABCDEFGHI');\n  ttq.page();\n"
        "}(window, document, 'ttq');",
        "ttq.track('CompletePayment', {value: 1, currency: 'TWD'});",
    ],
    "X (Twitter)": [
        "!function(e,t,n,s,u,a){e.twq||(s=e.twq=function(){s.exe?s.exe.apply(s,arguments):s.queue.push(arguments);\n"
        "},s.version='1.1',s.queue=[],u=t.createElement(n),u.async=!0,u.src='https://static.ads-twitter.com/uwt.js',\n"
        "a=t.getElementsByTagName(n)[0],a.parentNode.insertBefore(u,a))}(window,document,'script');\n"
        "twq('config','abc12');",
        "twq('event', 'tw-abc12-def34', {value: 1});",
    ],
    "Pinterest Tag": [
        "!function(e){if(!window.pintrk){window.pintrk = function () {\nwindow.pintrk.queue.push("
        'Array.prototype.slice.call(arguments))};var\n  n=window.pintrk;n.queue=[],n.version="3.0";var\n'
        '  t=document.createElement("script");t.async=!0,t.src=e;var\n'
        '  r=document.getElementsByTagName("script")[0];\n  r.parentNode.insertBefore(t,r)}}'
        "(\"https://s.pinimg.com/ct/core.js\");\npintrk('load', '2612345678901');\npintrk('page');",
    ],
    "Snap Pixel": [
        "(function(e,t,n){if(e.snaptr)return;var a=e.snaptr=function()\n"
        "{a.handleRequest?a.handleRequest.apply(a,arguments):a.queue.push(arguments)};\n"
        "a.queue=[];var s='script';r=t.createElement(s);r.async=!0;\nr.src=n;var u=t.getElementsByTagName(s)[0];\n"
        "u.parentNode.insertBefore(r,u);})(window,document,\n'https://sc-static.net/scevent.min.js');\n"
        "snaptr('init', '00000000-0000-0000-0000-000000000000');\nsnaptr('track', 'PAGE_VIEW');",
    ],
    "Reddit Pixel": [
        "!function(w,d){if(!w.rdt){var p=w.rdt=function(){p.sendEvent?p.sendEvent.apply(p,arguments):"
        'p.callQueue.push(arguments)};p.callQueue=[];var t=d.createElement("script");'
        't.src="https://www.redditstatic.com/ads/pixel.js",t.async=!0;var s=d.getElementsByTagName("script")[0];'
        "s.parentNode.insertBefore(t,s)}}(window,document);rdt('init','a2_abcdef');rdt('track', 'PageVisit');",
    ],
    "Quora Pixel": [
        "!function(q,e,v,n,t,s){if(q.qp) return; n=q.qp=function(){n.qp?n.qp.apply(n,arguments):"
        "n.queue.push(arguments);}; n.queue=[];t=document.createElement(e);t.async=!0;t.src=v;"
        "s=document.getElementsByTagName(e)[0]; s.parentNode.insertBefore(t,s);}(window, 'script', "
        "'https://a.quora.com/qevents.js');\nqp('init', '0123456789abcdef');\nqp('track', 'ViewContent');",
    ],
    "Microsoft Clarity": [
        "(function(c,l,a,r,i,t,y){\n c[a]=c[a]||function(){(c[a].q=c[a].q||[]).push(arguments)};\n"
        ' t=l.createElement(r);t.async=1;t.src="https://www.clarity.ms/tag/"+i;\n'
        " y=l.getElementsByTagName(r)[0];y.parentNode.insertBefore(t,y);\n"
        '})(window, document, "clarity", "script", "abcdefghij");',
        'clarity("set", "plan", "pro");',
    ],
    "Microsoft Advertising (Bing UET)": [
        '(function(w,d,t,r,u){var f,n,i;w[u]=w[u]||[],f=function(){var o={ti:"12345678", '
        'enableAutoSpaTracking: true};o.q=w[u],w[u]=new UET(o),w[u].push("pageLoad")},'
        "n=d.createElement(t),n.src=r,n.async=1,n.onload=f,i=d.getElementsByTagName(t)[0],"
        'i.parentNode.insertBefore(n,i)})(window,document,"script","//bat.bing.com/bat.js","uetq");',
        "window.uetq = window.uetq || [];\nwindow.uetq.push('event', 'purchase', {revenue_value: 1, currency: 'TWD'});",
    ],
    "Yandex Metrica": [
        "(function(m,e,t,r,i,k,a){m[i]=m[i]||function(){(m[i].a=m[i].a||[]).push(arguments)};\n"
        "m[i].l=1*new Date();k=e.createElement(t),a=e.getElementsByTagName(t)[0],k.async=1,k.src=r,"
        'a.parentNode.insertBefore(k,a)})\n(window, document, "script", "https://mc.yandex.ru/metrika/tag.js", "ym");\n'
        'ym(12345678, "init", {clickmap:true, trackLinks:true, accurateTrackBounce:true});',
        "var yaCounter12345678 = new Ya.Metrika({id: 12345678, webvisor: true});",
    ],
    "Baidu Tongji": [
        'var _hmt = _hmt || [];\n(function() {\n  var hm = document.createElement("script");\n'
        '  hm.src = "https://hm.baidu.com/hm.js?0123456789abcdef0123456789abcdef";\n'
        '  var s = document.getElementsByTagName("script")[0];\n  s.parentNode.insertBefore(hm, s);\n})();',
    ],
    "LINE Tag": [
        "(function(g,d,o){\n  g._ltq=g._ltq||[];g._lt=g._lt||function(){g._ltq.push(arguments)};\n"
        "  var h=location.protocol==='https:'?'https://d.line-scdn.net':'http://d.line-cdn.net';\n"
        "  var s=d.createElement('script');s.async=1;\n  s.src=o||h+'/n/line_tag/public/release/v1/lt.js';\n"
        "  var t=d.getElementsByTagName('script')[0];t.parentNode.insertBefore(s,t);\n})(window, document);\n"
        "_lt('init', {\n  customerType: 'lap',\n  tagId: '00000000-0000-0000-0000-000000000000'\n});\n"
        "_lt('send', 'pv', ['00000000-0000-0000-0000-000000000000']);",
        "_lt('send', 'cv', {type: 'Conversion'}, ['00000000-0000-0000-0000-000000000000']);",
    ],
    "Yahoo Advertising": [
        "(function(w,d,t,r,u){w[u]=w[u]||[];w[u].push({'projectId':'10000','properties':{'pixelId':'123456'}});"
        "var s=d.createElement(t);s.src=r;s.async=true;s.onload=s.onreadystatechange=function(){var y,"
        'rs=this.readyState,c=w[u];if(rs&&rs!="complete"&&rs!="loaded"){return}try{y=YAHOO.ywa.I13N.fireBeacon;'
        "w[u]=[];w[u].push=function(p){y([p])};y(c)}catch(e){}};var scr=d.getElementsByTagName(t)[0],"
        'par=scr.parentNode;par.insertBefore(s,scr)})(window,document,"script","https://s.yimg.com/wi/ytc.js","dotq");',
        "window.dotq = window.dotq || [];\nwindow.dotq.push({projectId: '10000', properties: {pixelId: '123456'}});",
    ],
    "Yahoo! JAPAN Ads": [
        "window.yjDataLayer = window.yjDataLayer || [];\nfunction ytag() { yjDataLayer.push(arguments); }\n"
        'ytag({"type":"ycl_cookie"});',
        "var yahoo_conversion_id = 1000000000;\nvar yahoo_conversion_label = 'AbCdEfGh';\n"
        "var yahoo_conversion_value = 0;",
        "var yahoo_retargeting_id = 'ABCDEFGHIJ';\nvar yahoo_retargeting_label = '';",
    ],
    "Kakao Pixel": ["kakaoPixel('1234567890123456789').pageView();"],
    "Naver Analytics": [
        'if(!wcs_add) var wcs_add = {};\nwcs_add["wa"] = "0123456789abcd";\nwcs_do();',
        'if (!wcs_add) var wcs_add={};\nwcs_add["wa"] = "s_0123456789ab";\nif (!_nasa) var _nasa={};\n'
        'wcs.inflow("example.com");\nwcs_do(_nasa);',
    ],
    "Naver Search Ads": ['var _nasa={};\nif(window.wcs) _nasa["cnv"] = wcs.cnv("1","10");'],
    "Hotjar": [
        "(function(h,o,t,j,a,r){\n  h.hj=h.hj||function(){(h.hj.q=h.hj.q||[]).push(arguments)};\n"
        "  h._hjSettings={hjid:1234567,hjsv:6};\n  a=o.getElementsByTagName('head')[0];\n"
        "  r=o.createElement('script');r.async=1;\n  r.src=t+h._hjSettings.hjid+j+h._hjSettings.hjsv;\n"
        "  a.appendChild(r);\n})(window,document,'https://static.hotjar.com/c/hotjar-','.js?sv=');",
    ],
    "Mixpanel": [
        '(function(f,b){if(!b.__SV){var e,g,i,h;window.mixpanel=b;b._i=[];e=f.createElement("script");'
        'e.src="https://cdn.mxpnl.com/libs/mixpanel-2-latest.min.js";g=f.getElementsByTagName("script")[0];'
        "g.parentNode.insertBefore(e,g)}})(document,window.mixpanel||[]);\n"
        'mixpanel.init("TOKEN", {track_pageview: true});',
        'mixpanel.track("Signed up", {plan: "pro"});',
    ],
    "Amplitude": [
        "amplitude.init('API_KEY', {autocapture: true});",
        'amplitude.getInstance().init("API_KEY");',
    ],
    "Segment": [
        '!function(){var i="analytics",analytics=window[i]=window[i]||[];if(!analytics.initialize)'
        'if(analytics.invoked)window.console&&console.error&&console.error("Segment snippet included twice.");'
        'else{analytics.invoked=!0;analytics.methods=["track","page"];analytics._writeKey="KEY";'
        'analytics.SNIPPET_VERSION="5.2.0";\nanalytics.load("KEY");\nanalytics.page();\n}}();',
    ],
    "Heap": [
        "window.heapReadyCb=window.heapReadyCb||[],window.heap=window.heap||[],heap.load=function(e,t)"
        '{window.heap.envId=e,window.heap.clientConfig=t=t||{}};\nheap.load("1234567890");',
    ],
    "FullStory": [
        "window['_fs_host'] = 'fullstory.com';\nwindow['_fs_script'] = 'edge.fullstory.com/s/fs.js';\n"
        "window['_fs_org'] = 'o-ABC123-na1';\nwindow['_fs_namespace'] = 'FS';",
    ],
    "Matomo": [
        "var _paq = window._paq = window._paq || [];\n_paq.push(['trackPageView']);\n"
        "_paq.push(['enableLinkTracking']);\n"
        '(function() {\n  var u="https://example.matomo.cloud/";\n'
        "  _paq.push(['setTrackerUrl', u+'matomo.php']);\n  _paq.push(['setSiteId', '1']);\n"
        "  var d=document, g=d.createElement('script'), s=d.getElementsByTagName('script')[0];\n"
        "  g.async=true; g.src='https://cdn.matomo.cloud/example.matomo.cloud/matomo.js';"
        " s.parentNode.insertBefore(g,s);\n})();",
        # A self-hosted Matomo: first-party hosts, caught by its calls.
        "var _paq = window._paq = window._paq || [];\n_paq.push(['trackPageView']);\n"
        "(function() {\n  var u=\"//stats.example.org/\";\n  _paq.push(['setTrackerUrl', u+'matomo.php']);\n"
        "  var d=document, g=d.createElement('script');\n  g.async=true; g.src=u+'matomo.js';\n})();",
    ],
    "Piwik PRO": [
        "(function(window, document, dataLayerName, id) {\nwindow[dataLayerName]=window[dataLayerName]||[],"
        'window[dataLayerName].push({start:(new Date).getTime(),event:"stg.start"});'
        "var scripts=document.getElementsByTagName('script')[0],tags=document.createElement('script');\n"
        'tags.async=!0,tags.src="https://example.containers.piwik.pro/"+id+".js";'
        "scripts.parentNode.insertBefore(tags,scripts);\n})(window, document, 'dataLayer', 'abc');",
    ],
    "Mouseflow": [
        'window._mfq = window._mfq || [];\n(function() {\n  var mf = document.createElement("script");\n'
        '  mf.type = "text/javascript"; mf.defer = true;\n  mf.src = "//cdn.mouseflow.com/projects/abc.js";\n'
        '  document.getElementsByTagName("head")[0].appendChild(mf);\n})();',
    ],
    "Crazy Egg": [
        'setTimeout(function(){var a=document.createElement("script");\n'
        'var b=document.getElementsByTagName("script")[0];\n'
        'a.src=document.location.protocol+"//dnn506yrbagrg.cloudfront.net/pages/scripts/0012/3456.js?"'
        '+Math.floor(new Date().getTime()/3600000);\na.async=true;a.type="text/javascript";'
        "b.parentNode.insertBefore(a,b)}, 1);",
    ],
    "Lucky Orange": [
        "window.__lo_site_id = 123456;\n(function() {\n  var wa = document.createElement('script');"
        " wa.type = 'text/javascript'; wa.async = true;\n  wa.src = 'https://d10lpsik1i8c69.cloudfront.net/w.js';\n"
        "  var s = document.getElementsByTagName('script')[0]; s.parentNode.insertBefore(wa, s);\n})();",
    ],
    "Plausible Analytics": [
        "window.plausible = window.plausible || function() { (window.plausible.q = window.plausible.q || [])"
        ".push(arguments) }",
    ],
    "Chartbeat": [
        "var _sf_async_config = window._sf_async_config = (window._sf_async_config || {});\n"
        "_sf_async_config.uid = 12345;\n_sf_async_config.domain = 'example.com';",
    ],
    "comScore": [
        'var _comscore = _comscore || [];\n_comscore.push({ c1: "2", c2: "1234567" });\n(function() {\n'
        '  var s = document.createElement("script"), el = document.getElementsByTagName("script")[0];'
        ' s.async = true;\n  s.src = "https://sb.scorecardresearch.com/cs/1234567/beacon.js";\n'
        "  el.parentNode.insertBefore(s, el);\n})();",
    ],
    "VWO": [
        "window._vwo_code || (function() {\nvar account_id=123456,\nversion=2.1,\nsettings_tolerance=2000,\n"
        "hide_element='body';\n})();",
    ],
    "Adobe Experience Platform Tags (Launch)": ["if (typeof _satellite !== 'undefined') { _satellite.pageBottom(); }"],
    "Tealium iQ": [
        "var utag_data = { page_name: 'home' };\n(function(a,b,c,d){\n"
        "a='https://tags.tiqcdn.com/utag/acme/main/prod/utag.js';\n"
        "b=document;c='script';d=b.createElement(c);d.src=a;d.type='text/java'+c;d.async=true;\n"
        "a=b.getElementsByTagName(c)[0];a.parentNode.insertBefore(d,a);\n})();",
    ],
    "Adobe Analytics": ["var s = s_gi('acmeprod');\ns.pageName = 'home';\nvar s_code = s.t();"],
    "HubSpot": [
        "var _hsq = window._hsq = window._hsq || [];\n_hsq.push(['setPath', '/pricing']);\n"
        "_hsq.push(['trackPageView']);"
    ],
    "Amazon Ads": [
        "apstag.init({\n  pubID: 'abc-123',\n  adServer: 'googletag'\n});\napstag.fetchBids({slots: []}, cb);"
    ],
    "Criteo": [
        "window.criteo_q = window.criteo_q || [];\nwindow.criteo_q.push(\n"
        ' { event: "setAccount", account: 12345 },\n { event: "viewHome" }\n);',
    ],
    "Taboola": [
        "window._tfa = window._tfa || [];\nwindow._tfa.push({notify: 'event', name: 'page_view', id: 1234567});",
        "window._taboola = window._taboola || [];\n_taboola.push({article:'auto'});",
    ],
    "Outbrain": [
        "!function(_window, _document) {\n  var OB_ADV_ID = '00abcdef0123456789';\n  if (_window.obApi) { return; }\n"
        "  var api = _window.obApi = function() {api.dispatch ? api.dispatch.apply(api, arguments) : "
        "api.queue.push(arguments);};\n}(window, document);\nobApi('track', 'PAGE_VIEW');",
    ],
    "Quantcast": ['var _qevents = _qevents || [];\n_qevents.push({\n  qacct: "p-abcdefghijk"\n});'],
    "Xandr (AppNexus)": [
        "window.pixie('init', '00000000-0000-0000-0000-000000000000');",
        "var apntag = apntag || {};\napntag.anq = apntag.anq || [];",
    ],
    "The Trade Desk": [
        "(function(global) {\n  if (typeof TTDUniversalPixelApi === 'function') {\n"
        "    var universalPixelApi = new TTDUniversalPixelApi();\n"
        '    universalPixelApi.init("abc1234", ["def5678"], "https://insight.adsrvr.org/track/up");\n  }\n})(this);',
    ],
    "Teads": ["window.teads_adv_id = 12345;"],
    "Adform": [
        "window._adftrack = Array.isArray(window._adftrack) ? window._adftrack : "
        "(window._adftrack ? [window._adftrack] : []);\n"
        "window._adftrack.push({ HttpHost: 'track.adform.net', pm: 1234567 });",
    ],
    "AddThis": ["var addthis_config = addthis_config || {};\naddthis_config.pubid = 'ra-0123456789abcdef';"],
}


def test_every_signature_is_exercised_by_a_snippet() -> None:
    for vendor in VENDORS:
        for pattern in vendor.signatures:
            assert any(re.search(pattern, s) for s in SNIPPETS.get(vendor.name, ())), (
                f"no snippet of {vendor.name} matches {pattern!r}: add one to SNIPPETS"
            )


@pytest.mark.parametrize("name", sorted(SNIPPETS))
def test_each_vendor_loader_snippet_needs_its_category(name: str) -> None:
    vendor = BY_NAME[name]
    for snippet in SNIPPETS[name]:
        assert Catalog(vendors=(vendor,)).category_of_script(snippet) == vendor.category, snippet
        assert CATALOG.category_of_script(snippet) == vendor.category, snippet


@pytest.mark.parametrize(
    "script",
    [
        # The Consent Mode bootstrap runs before any consent: it must stay active.
        "window.dataLayer = window.dataLayer || [];\nfunction gtag(){dataLayer.push(arguments);}\n"
        "gtag('consent', 'default', {ad_storage: 'denied', analytics_storage: 'denied'});\ngtag('js', new Date());",
        "gtag('set', 'ads_data_redaction', true);",
        "document.querySelector('#menu').addEventListener('click', toggleMenu);",
        "location.href = 'https://www.google.com/search?q=' + encodeURIComponent(q);",
        "fetch('https://www.linkedin.com/in/someone');",
        "var analytics = {}; analytics.track = function(event) { console.log(event); };",
        "const mega = 1; omega(2); stage('create');",
        "window.addEventListener('load', () => import('https://cdn.jsdelivr.net/npm/x@1/+esm'));",
    ],
)
def test_first_party_scripts_need_no_consent(script: str) -> None:
    assert CATALOG.category_of_script(script) is None


# -- cookies ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cookie", "vendor"),
    [
        ("_ga", "Google Analytics"),
        ("_ga_ABC123DEF4", "Google Analytics"),
        ("__utma", "Google Analytics"),
        ("_gcl_au", "Google Ads"),
        ("_gac_UA-12345-1", "Google Ads"),
        ("IDE", "DoubleClick (Google Marketing Platform)"),
        ("__gads", "DoubleClick (Google Marketing Platform)"),
        ("_fbp", "Meta Pixel"),
        ("li_fat_id", "LinkedIn Insight"),
        ("_ttp", "TikTok Pixel"),
        ("_pin_unauth", "Pinterest Tag"),
        ("_scid", "Snap Pixel"),
        ("_rdt_uuid", "Reddit Pixel"),
        ("_clck", "Microsoft Clarity"),
        ("_uetsid", "Microsoft Advertising (Bing UET)"),
        ("MUID", "Microsoft Advertising (Bing UET)"),
        ("_hjSessionUser_1234567", "Hotjar"),
        ("_ym_uid", "Yandex Metrica"),
        ("Hm_lvt_0123456789abcdef", "Baidu Tongji"),
        ("_pk_id.1.1fff", "Matomo"),
        ("mp_0123456789abcdef_mixpanel", "Mixpanel"),
        ("AMP_0123456789", "Amplitude"),
        ("AMP_TOKEN", "Google Analytics"),
        ("ajs_anonymous_id", "Segment"),
        ("_hp2_id.1234567890", "Heap"),
        ("__hstc", "HubSpot"),
        ("s_vi_x", "Adobe Analytics"),
        ("AMCV_0123456789ABCDEF%40AdobeOrg", "Adobe Audience Manager"),
        ("__qca", "Quantcast"),
        ("tbla_id", "Taboola"),
        ("uuid2", "Xandr (AppNexus)"),
        ("VISITOR_INFO1_LIVE", "YouTube"),
        ("vuid", "Vimeo"),
    ],
)
def test_vendor_of_cookie_knows_the_open_cookie_database_names(cookie: str, vendor: str) -> None:
    found = CATALOG.vendor_of_cookie(cookie)
    assert found is not None, cookie
    assert found.name == vendor


@pytest.mark.parametrize("cookie", [*GENERIC_COOKIES, "ccdid", "cc_consent", "_ga-not", "IDE2"])
def test_vendor_of_cookie_leaves_a_sites_own_cookies_alone(cookie: str) -> None:
    assert CATALOG.vendor_of_cookie(cookie) is None


def test_each_cookie_name_leads_back_to_its_own_vendor() -> None:
    # vendor_of_cookie answers with the first vendor that sets a name: an earlier vendor's prefix
    # would take a later vendor's cookie.
    for vendor in VENDORS:
        for cookie in vendor.cookies:
            probe = cookie[:-1] + "x" if cookie.endswith("*") else cookie
            found = CATALOG.vendor_of_cookie(probe)
            assert found is vendor, f"{cookie} of {vendor.name} resolves to {found and found.name}"


def test_most_vendors_have_cookie_names() -> None:
    with_cookies = [v for v in VENDORS if v.cookies]
    assert len(with_cookies) >= 50
    assert sum(len(v.cookies) for v in VENDORS) >= 400


# -- check ------------------------------------------------------------------------------------------


def _declare_ga_as(tmp_path: Path, category: str) -> Path:
    text = TELEXPRESS.read_text(encoding="utf-8")
    declaration = 'name = "_ga"\ncategory = "analytics"'
    assert text.count(declaration) == 1, "the demo policy no longer declares _ga as analytics"
    policy = tmp_path / "policy.toml"
    policy.write_text(text.replace(declaration, f'name = "_ga"\ncategory = "{category}"'), encoding="utf-8")
    return policy


def test_check_hints_at_a_cookie_declared_in_another_category(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = _declare_ga_as(tmp_path, "functional")
    assert cli_main(["check", str(policy)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith(f"{policy}: OK — ")
    hints = [line for line in out.splitlines() if ": hint: " in line]
    assert len(hints) == 1
    assert hints[0].startswith(f"{policy}: hint: cookies[")
    assert "(_ga) is declared functional; the catalog knows _ga as Google Analytics (analytics)" in hints[0]


def test_check_gives_no_hint_when_the_categories_agree(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    policy = _declare_ga_as(tmp_path, "analytics")
    assert cli_main(["check", str(policy)]) == 0
    out = capsys.readouterr().out
    assert "OK" in out
    assert "_ga" not in out


# -- the Open Cookie Database and the script --------------------------------------------------------

_CSV_HEADER = (
    "ID,Platform,Category,Cookie / Data Key name,Domain,Description,Retention period,Data Controller,"
    "User Privacy & GDPR Rights Portals,Wildcard match\n"
)


def _database(tmp_path: Path, rows: list[tuple[str, str, str]]) -> Path:
    path = tmp_path / "open-cookie-database.csv"
    body = "".join(
        f"{i},{platform},Analytics,{name},,d,1 year,c,u,{flag}\n" for i, (platform, name, flag) in enumerate(rows)
    )
    path.write_text(_CSV_HEADER + body, encoding="utf-8")
    return path


def test_the_script_selects_platforms_names_and_prefixes(tmp_path: Path) -> None:
    platforms = read_database(
        _database(
            tmp_path,
            [
                ("Acme", "_ac", "0"),
                ("Acme", "_ac_", "1"),
                ("Acme", "lang", "0"),
                ("Other", "Hm_x_", "0"),
                ("Other", "o\t", "0"),
            ],
        )
    )
    assert cookies_for({"vendor": "A", "ocd": ["Acme"], "ocd_skip": ["lang"]}, platforms) == ["_ac", "_ac_*"]
    assert cookies_for({"vendor": "A", "ocd": ["Other:Hm_x_*", "Other:o", "Acme:lang"]}, platforms) == [
        "Hm_x_*",
        "o",
        "lang",
    ]
    with pytest.raises(ValueError, match=r"no Platform 'acme'.*did you mean 'Acme'"):
        cookies_for({"vendor": "A", "ocd": ["acme"]}, platforms)
    with pytest.raises(ValueError, match="has no cookie 'nope'"):
        cookies_for({"vendor": "A", "ocd": ["Acme:nope"]}, platforms)
    with pytest.raises(ValueError, match="`ocd_skip` names gone"):
        cookies_for({"vendor": "A", "ocd": ["Acme"], "ocd_skip": ["gone"]}, platforms)


def test_the_script_rewrites_only_the_cookies_lists(tmp_path: Path) -> None:
    assert replace_cookies(TEXT, [list(e.get("cookies", ())) for e in ENTRIES]) == TEXT
    changed = [["a", "b"] if i == 1 else list(e.get("cookies", ())) for i, e in enumerate(ENTRIES)]
    changed[0] = []
    rewritten = tomllib.loads(replace_cookies(TEXT, changed))["tracker"]
    assert [e.get("cookies", []) for e in rewritten] == changed
    assert [{k: v for k, v in e.items() if k != "cookies"} for e in rewritten] == [
        {k: v for k, v in e.items() if k != "cookies"} for e in ENTRIES
    ]


def test_the_script_checks_and_fills_a_catalog(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    database = _database(tmp_path, [("Acme", "_ac", "0"), ("Acme", "_ac_", "1")])
    catalog = tmp_path / "trackers.toml"
    catalog.write_text(
        '[[tracker]]\nvendor = "Acme"\ncategory = "analytics"\ndomains = ["acme.example"]\nocd = ["Acme"]\n'
        "\n# the next one\n\n"
        '[[tracker]]\nvendor = "Beta"\ncategory = "marketing"\ndomains = ["beta.example"]\n',
        encoding="utf-8",
    )
    assert script_main([str(database), "--catalog", str(catalog)]) == 1
    assert "Acme: cookies differ from the database" in capsys.readouterr().err
    assert script_main([str(database), "--catalog", str(catalog), "--write"]) == 0
    text = catalog.read_text(encoding="utf-8")
    assert 'ocd = ["Acme"]\ncookies = ["_ac", "_ac_*"]\n\n# the next one\n' in text
    assert script_main([str(database), "--catalog", str(catalog)]) == 0
    assert load_vendors(text)[0].cookies == ("_ac", "_ac_*")


def test_the_cookie_names_are_the_open_cookie_databases() -> None:
    """The catalog's cookie lists are what the copy of the database in data/ gives (see its README)."""
    platforms = read_database(ROOT / "data" / "open-cookie-database" / "open-cookie-database.csv")
    for entry in ENTRIES:
        if "ocd" in entry:
            assert entry.get("cookies", []) == cookies_for(entry, platforms), entry["vendor"]
        else:
            assert "cookies" not in entry, f"{entry['vendor']} has cookies but no `ocd` source"


def test_the_open_cookie_database_licence_ships_with_the_package() -> None:
    licence = (
        resources.files("cookieconsent.blocking")
        .joinpath("data/LICENSE-open-cookie-database")
        .read_text(encoding="utf-8")
    )
    assert "Apache License" in licence
    assert "Version 2.0, January 2004" in licence
    notice = (ROOT / "NOTICE").read_text(encoding="utf-8")
    assert "Open Cookie Database" in notice
    assert "Apache License, Version 2.0" in notice
    assert "LICENSE-open-cookie-database" in notice
    sdist = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["hatch"]["build"]["targets"]
    assert "NOTICE" in sdist["sdist"]["include"]


# -- the docs page ----------------------------------------------------------------------------------


def test_the_docs_page_lists_what_the_catalog_holds() -> None:
    page = DOCS_PAGE.read_text(encoding="utf-8")
    start, end = page.index(TABLE_START) + len(TABLE_START), page.index(TABLE_END)
    assert page[start:end].strip() == render_table(ENTRIES).strip(), (
        "docs/tracker-catalog.md is out of date: run python scripts/catalog_cookies.py --docs"
    )
    for vendor in VENDORS:
        assert f"\n| {vendor.name} | `{vendor.category}` |" in page


def test_the_docs_page_names_the_data_source_and_its_licence() -> None:
    page = DOCS_PAGE.read_text(encoding="utf-8")
    assert "Open Cookie Database" in page
    assert "Apache License, Version 2.0" in page
    assert "LICENSE-open-cookie-database" in page
    assert "NOTICE" in page
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    assert "- Marking scripts and embeds: blocking.md\n      - The tracker catalog: tracker-catalog.md\n" in nav


def test_the_blocking_pages_coverage_list_names_every_vendor_under_its_category() -> None:
    text = (ROOT / "docs" / "blocking.md").read_text(encoding="utf-8")
    table = text.split("<!-- coverage:", 1)[1].split("<!-- /coverage -->", 1)[0]
    listed: dict[str, set[str]] = {}
    for line in table.splitlines():
        if line.startswith("| `"):
            category, vendors = line.strip("|").split("|")
            name = category.split("`")[1]
            count = int(category.split("(")[1].split(")")[0])
            listed[name] = {v.strip() for v in vendors.split(",")}
            assert len(listed[name]) == count, name
    expected: dict[str, set[str]] = {}
    for vendor in VENDORS:
        expected.setdefault(vendor.category, set()).add(vendor.name)
    assert listed == expected
