"""The streaming HTML rewriter's speed and memory, against Python's own ``html.parser`` in the same run.

- Speed: a realistic 1 MiB page (about 800 articles with navigation, images, links and first-party
  scripts, the GA4 and Meta Pixel snippets in the head, a YouTube embed in one article in ten and a
  LinkedIn pixel in one in twenty-five: about 110 elements to neutralise) fed in 16 KiB chunks to the
  rewriter, and the same bytes tokenised by ``html.parser.HTMLParser`` (decoding included for both);
  interleaved rounds, medians, MB/s.
- Memory: a 100 MiB page streamed through the rewriter in 64 KiB chunks while ``tracemalloc``
  records the peak of Python allocations above the start.

Run: ``python benchmarks/rewrite.py [--rounds 7] [--stream-mib 100]``. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import statistics
import time
import tracemalloc
from collections.abc import Iterator
from html.parser import HTMLParser

from cookieconsent.blocking.rewriter import HTMLRewriter, RewritePlan
from cookieconsent.blocking.trackers import Catalog

HEAD = '<script>/* consent mode bootstrap */</script><link rel="stylesheet" href="/_consent/static/cookieconsent.css">'
BANNER = '<div id="cookieconsent" lang="en"><p>Cookie banner</p></div>'

TOP = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>News · Example</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/static/site.css"><link rel="icon" href="/favicon.ico">
<script async src="https://www.googletagmanager.com/gtag/js?id=G-DEMO12345"></script>
<script>window.dataLayer = window.dataLayer || []; function gtag(){dataLayer.push(arguments);}
gtag('js', new Date()); gtag('config', 'G-DEMO12345');</script>
<script>!function(f,b,e,v,n,t,s){if(f.fbq)return;n=f.fbq=function(){n.callMethod?
n.callMethod.apply(n,arguments):n.queue.push(arguments)};t=b.createElement(e);t.async=!0;
t.src=v;s=b.getElementsByTagName(e)[0];s.parentNode.insertBefore(t,s)}(window, document,'script',
'https://connect.facebook.net/en_US/fbevents.js'); fbq('init', '000000000000000'); fbq('track', 'PageView');</script>
</head><body class="home">
<header class="site"><nav aria-label="Main"><ul><li><a href="/">Home</a></li><li><a href="/news">News</a></li>
<li><a href="/about">About</a></li><li><a href="/contact">Contact</a></li></ul></nav></header>
<main id="main">
"""
ARTICLE = """<article class="card" id="a{n}"><h2><a href="/articles/{n}">Network news number {n}</a></h2>
<p class="meta">Published <time datetime="2026-11-{d:02d}">November {d}</time> by <a href="/people/{n}">Staff</a></p>
<img src="/images/{n}.jpg" alt="Picture {n}" width="640" height="360" loading="lazy">
<p>Telecommunication networks carry <em>more traffic</em> every year; this article looks at how the
operators plan capacity, what changes for customers and which services are next. Read more about
<a href="https://example.org/report/{n}">the report</a> and <strong>our analysis</strong>.</p>
<ul class="tags"><li><a href="/tags/5g">5G</a></li><li><a href="/tags/fibre">Fibre</a></li></ul>
{extra}</article>
"""
# One article in ten embeds a video, one in twenty-five carries an ad pixel; the rest is first-party.
EXTRAS = [
    '<iframe width="560" height="315" src="https://www.youtube.com/embed/abc{n}" title="Video {n}"></iframe>',
    *['<script src="/static/widget.js" defer></script>', "", '<link rel="prefetch" href="/articles/next">'] * 3,
]
PIXEL = '<img src="https://px.ads.linkedin.com/collect?pid=1&amp;fmt=gif" alt="" width="1" height="1">'

BOTTOM = '</main><footer><p>© Example</p></footer><script src="/static/site.js" defer></script></body></html>\n'


def make_page(size: int) -> bytes:
    parts = [TOP]
    total = len(TOP)
    n = 0
    while total < size - len(BOTTOM):
        extra = EXTRAS[n % len(EXTRAS)].format(n=n) + (PIXEL if n % 25 == 0 else "")
        article = ARTICLE.format(n=n, d=n % 28 + 1, extra=extra)
        parts.append(article)
        total += len(article)
        n += 1
    parts.append(BOTTOM)
    return "".join(parts).encode()


def plan() -> RewritePlan:
    return RewritePlan(frozenset(), HEAD, BANNER, lambda c, h: f'<div data-cc-for="__CCID__">{c}</div>', Catalog())


def chunks(data: bytes, size: int) -> Iterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


def run_rewriter(data: bytes) -> int:
    rewriter = HTMLRewriter(plan())
    out = 0
    for chunk in chunks(data, 16 * 1024):
        out += len(rewriter.feed(chunk))
    return out + len(rewriter.close())


class _Tokeniser(HTMLParser):
    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        pass


def run_html_parser(data: bytes) -> int:
    parser = _Tokeniser(convert_charrefs=False)
    for chunk in chunks(data, 16 * 1024):
        parser.feed(chunk.decode("utf-8"))  # the page is ASCII, so chunk cuts never split a character
    parser.close()
    return len(data)


def speed(rounds: int) -> dict[str, float]:
    page = make_page(1024 * 1024)
    cases = {"cookieconsent rewriter": run_rewriter, "html.parser (tokenise only)": run_html_parser}
    rates: dict[str, list[float]] = {name: [] for name in cases}
    for fn in cases.values():
        fn(page)
    for _ in range(rounds):
        for name, fn in cases.items():
            start = time.perf_counter()
            fn(page)
            rates[name].append(len(page) / (time.perf_counter() - start) / 1e6)
    return {name: statistics.median(r) for name, r in rates.items()}


def memory(mib: int) -> tuple[float, int]:
    unit = make_page(1024 * 1024)
    body = unit[len(TOP) : -len(BOTTOM)]
    repeats = max(1, mib)
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    rewriter = HTMLRewriter(plan())
    total = len(rewriter.feed(TOP.encode()))
    for _ in range(repeats):
        for chunk in chunks(body, 64 * 1024):
            total += len(rewriter.feed(chunk))
    total += len(rewriter.feed(BOTTOM.encode())) + len(rewriter.close())
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    return peak / (1024 * 1024), total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--stream-mib", type=int, default=100)
    args = parser.parse_args()
    rates = speed(args.rounds)
    print(f"Throughput on a 1 MiB page, 16 KiB chunks (median of {args.rounds} interleaved rounds)\n")
    print("| | MB/s | vs html.parser |")
    print("|---|---:|---:|")
    base = rates["html.parser (tokenise only)"]
    for name, rate in rates.items():
        print(f"| {name} | {rate:,.1f} | ×{rate / base:.1f} |")
    peak, total = memory(args.stream_mib)
    print(
        f"\nStreaming a {args.stream_mib} MiB page ({total / 1024 / 1024:,.0f} MiB out) in 64 KiB chunks: "
        f"peak Python memory above the start **{peak:.2f} MiB**"
    )


if __name__ == "__main__":
    main()
