"""The ``cookieconsent`` command.

Exit codes: 0 success, 1 problems found (an invalid policy, a broken consent chain, a refused
change to a rights request, a store that cannot be read), 2 wrong usage (argparse).

- ``cookieconsent check POLICY``: validate a policy file; print every problem with its location and fix,
  and a hint for each cookie it declares in another category than the tracker catalog's vendor of it.
- ``cookieconsent demo [--framework fastapi|flask] [--host H] [--port P]``: serve the demo site of a
  clone of the repository (it lives in ``examples/``).
- ``cookieconsent verify --store URL``: check the hash chain of the consent records; print each problem.
- ``cookieconsent purge --store URL --policy FILE [--now ISO]``: delete what is older than the
  policy's ``[retention]`` periods; print how much was deleted.
- ``cookieconsent rights list|show REF|extend REF --reason TEXT|close REF --resolution TEXT --store URL``:
  the data-subject requests filed in the privacy centre, their due dates, their one extension.
- ``cookieconsent export --deidentified --store URL [--k 10] [--output FILE] [--format csv|json]``:
  aggregate counts only (no consent or device ids, no IP addresses), groups of fewer than ``k``
  visitors left out.

- ``cookieconsent audit URL [--pages N] [--browser PATH] [--timeout S] [--json]``: visit a running site in
  headless Chromium with no decision, after "Reject all", with ``Sec-GPC: 1`` and after "Accept all";
  exit 1 if any of the first three stores a non-necessary cookie or storage key or contacts a third
  party, 2 if the audit cannot run (no browser, no Playwright, site unreachable).

``--store`` takes a SQLite path, ``sqlite:///path`` or a ``postgresql://`` URL, and defaults to the
``COOKIECONSENT_STORE`` environment variable.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import json
import os
import subprocess
import sys
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from cookieconsent.blocking.trackers import Catalog
from cookieconsent.errors import PolicyError
from cookieconsent.policy.model import Policy, load_policy
from cookieconsent.records.errors import RecordsError, RightsRequestError
from cookieconsent.records.factory import open_store
from cookieconsent.records.models import EventRecord, RightsRequest, VisitRecord, close_request, extend
from cookieconsent.records.store import Store, redact_url

__all__ = ["deidentified_rows", "main"]

STORE_ENV = "COOKIECONSENT_STORE"
_FIELDS = ("measure", "day", "key", "count")


def _check(args: argparse.Namespace) -> int:
    try:
        policy = load_policy(args.policy)
    except PolicyError as exc:
        print(f"{args.policy}: {exc}", file=sys.stderr)
        return 1
    print(
        f"{args.policy}: OK — {len(policy.categories)} categories, {len(policy.cookies)} cookies, "
        f"{len(policy.data_items)} data items, languages {', '.join(policy.locales)}; "
        f"fingerprint {policy.fingerprint}"
    )
    for hint in _catalog_hints(policy):
        print(f"{args.policy}: hint: {hint}")
    return 0


def _catalog_hints(policy: Policy) -> list[str]:
    """Cookies the policy declares in another category than the tracker catalog's vendor of them.

    A hint, not a problem: the policy may know better (a cookie name reused by the site itself), so
    ``check`` still passes.
    """
    catalog = Catalog()
    hints = []
    for i, rule in enumerate(policy.cookies):
        # A pattern is looked up as written: "_ga_*" is the catalog's own "_ga_*" prefix.
        vendor = catalog.vendor_of_cookie(rule.label)
        if vendor is not None and vendor.category != rule.category:
            hints.append(
                f"cookies[{i}] ({rule.label}) is declared {rule.category}; the catalog knows {rule.label} as "
                f"{vendor.name} ({vendor.category})"
            )
    return hints


def _demo(args: argparse.Namespace) -> int:
    root = Path.cwd()
    if not (root / "examples" / "serve.py").is_file():
        print(
            "The demo site lives in the repository's examples/ folder: run this command from a clone of the "
            "repository (or run `make demo` there).",
            file=sys.stderr,
        )
        return 1
    base = f"http://{args.host}:{args.port}"
    print(f"Serving the demo site ({args.framework}) on {base}/ — Ctrl+C stops it.")
    print(f"  cookie settings: {base}/_consent/preferences")
    print(f"  privacy centre:  {base}/_consent/my-data (records go to SQLite: examples/instance/cookieconsent.db)")
    # A process of its own: the library never imports the repository's code.
    command = [sys.executable, "-m", "examples.serve", "--framework", args.framework]
    try:
        return subprocess.call([*command, "--host", args.host, "--port", str(args.port)], cwd=root)
    except KeyboardInterrupt:
        return 0


# -- records ---------------------------------------------------------------------------------------


def _with_store(run: Callable[[argparse.Namespace, Store], int]) -> Callable[[argparse.Namespace], int]:
    """Open ``--store`` around ``run``; a store that cannot be opened or read gives exit code 1."""

    def wrapped(args: argparse.Namespace) -> int:
        target: str = args.store
        if "://" not in target and not Path(target).is_file():
            print(
                f"no record store at {target!r}: give the path of the SQLite file the recorder writes "
                f"(or a postgresql:// URL) with --store or ${STORE_ENV}",
                file=sys.stderr,
            )
            return 1
        try:
            with open_store(args.store) as store:
                return run(args, store)
        except RecordsError as exc:
            print(f"{redact_url(args.store)}: {exc}", file=sys.stderr)
            return 1

    return wrapped


def _verify(args: argparse.Namespace, store: Store) -> int:
    problems = store.verify_chain()
    head = store.chain_head()
    for problem in problems:
        print(f"problem: {problem}")
    if problems:
        print(
            f"{len(problems)} problem(s) in the consent chain (head #{head.seq}): restore the records from a "
            "backup, or keep this output as the record of the tampering",
            file=sys.stderr,
        )
        return 1
    kept = head.seq - head.purged_seq
    print(f"OK — {kept} consent record(s) intact; chain head #{head.seq} {head.hash}")
    return 0


def _iso_time(text: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 time such as 2025-01-31T00:00:00Z") from None
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} has no time zone; add one, e.g. {text}Z or {text}+08:00")
    return value.astimezone(dt.UTC)


def _purge(args: argparse.Namespace, store: Store) -> int:
    try:
        retention = load_policy(args.policy).retention
    except PolicyError as exc:
        print(f"{args.policy}: {exc}", file=sys.stderr)
        return 1
    now = args.now or dt.datetime.now(dt.UTC)
    counts = store.purge(now, retention)
    print(
        f"purged {counts.total} row(s) older than the retention periods at {now:%Y-%m-%dT%H:%M:%SZ}: "
        f"{counts.visits} visit(s), {counts.events} event(s), {counts.consents} consent record(s), "
        f"{counts.rights_requests} closed rights request(s)"
    )
    return 0


def _day(value: dt.datetime | None) -> str:
    return "" if value is None else value.strftime("%Y-%m-%d")


def _status(request: RightsRequest) -> str:
    if request.closed_at is not None:
        return f"closed {_day(request.closed_at)}"
    return "open, extended" if request.extended_due_at is not None else "open"


def _find(store: Store, reference: str) -> RightsRequest:
    found = store.get_rights_request(reference)
    if found is None:
        raise RightsRequestError(
            f"no rights request {reference!r} is stored; `cookieconsent rights list` shows the references"
        )
    return found


def _rights(args: argparse.Namespace, store: Store) -> int:
    action: str = args.action
    try:
        if action == "list":
            requests = store.list_rights_requests(open_only=args.open)
            for r in requests:
                print(f"{r.reference}\t{r.kind}\treceived {_day(r.received_at)}\tdue {_day(r.deadline)}\t{_status(r)}")
            print(f"{len(requests)} request(s)", file=sys.stderr)
            return 0
        request = _find(store, args.reference)
        if action == "show":
            print(json.dumps(request.model_dump(mode="json"), ensure_ascii=False, indent=2))
            return 0
        if action == "extend":
            changed = extend(request, args.reason, args.now)
            store.update_rights_request(changed)
            print(f"{changed.reference} extended: now due {_day(changed.deadline)}; tell the requester the reason")
            return 0
        changed = close_request(request, args.resolution, args.now)
        store.update_rights_request(changed)
        print(f"{changed.reference} closed on {_day(changed.closed_at)}")
        return 0
    except RightsRequestError as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return 1


def deidentified_rows(records: Iterable[VisitRecord | EventRecord], k: int = 10) -> list[dict[str, str | int]]:
    """Aggregate records into counts that identify nobody (R58).

    Measures: ``visits_per_page_day`` and ``<event kind>_per_page_day`` (keyed by day and page),
    ``visits_per_country``, ``visits_per_browser``, ``visits_per_os`` and ``visits_per_device_type``.
    A group is kept only when at least ``k`` distinct visitors (device or consent ids; a record with
    neither counts as one visitor) are in it, so no row has a count below ``k``. No id and no IP
    address is ever part of a row.

    Args:
        records: The visit and event records, e.g. ``store.iter_records()``.
        k: The smallest group size shown.

    Returns:
        Rows with ``measure``, ``day``, ``key`` and ``count``, sorted.
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, not {k}")
    groups: dict[tuple[str, str, str], tuple[int, set[str]]] = defaultdict(lambda: (0, set()))

    def add(measure: str, day: str, key: str | None, who: str) -> None:
        if not key:
            return
        count, people = groups[(measure, day, key)]
        people.add(who)
        groups[(measure, day, key)] = (count + 1, people)

    for record in records:
        who = record.device_id or record.consent_id or str(record.id)
        day = _day(record.at)
        if isinstance(record, EventRecord):
            add(f"{record.kind}s_per_page_day", day, record.page, who)
            continue
        add("visits_per_page_day", day, record.page, who)
        add("visits_per_country", "", record.location.country if record.location else None, who)
        agent = record.user_agent
        if agent is not None:
            add("visits_per_browser", "", agent.browser, who)
            add("visits_per_os", "", agent.os, who)
            add("visits_per_device_type", "", agent.device_type, who)
    return [
        {"measure": measure, "day": day, "key": key, "count": count}
        for (measure, day, key), (count, people) in sorted(groups.items())
        if len(people) >= k
    ]


def _export(args: argparse.Namespace, store: Store) -> int:
    rows = deidentified_rows(store.iter_records(), args.k)
    fmt = args.format or ("json" if args.output and args.output.endswith(".json") else "csv")
    if fmt == "json":
        text = json.dumps({"k": args.k, "rows": rows}, ensure_ascii=False, indent=2) + "\n"
    else:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=_FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        text = buffer.getvalue()
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"wrote {len(rows)} row(s) to {args.output} (groups of fewer than {args.k} visitors left out)")
    else:
        sys.stdout.write(text)
    return 0


def _audit(args: argparse.Namespace) -> int:
    from cookieconsent.cli.audit import run_command

    return run_command(
        args.url,
        browser=args.browser,
        pages=args.pages,
        timeout=args.timeout,
        max_time=args.max_time,
        prefix=args.prefix,
        allow_hosts=args.allow_host,
        allow_storage=args.allow_storage,
        browser_args=args.browser_arg,
        as_json=args.json,
    )


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"give 1 or more, not {value}")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"give a number of seconds above 0, not {text}")
    return value


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 2:
        raise argparse.ArgumentTypeError(f"k must be 2 or more (10 is the default), not {value}")
    return value


def _add_store(parser: argparse.ArgumentParser) -> None:
    default = os.environ.get(STORE_ENV)
    parser.add_argument(
        "--store",
        default=default,
        required=default is None,
        help=f"the record store: a SQLite path, sqlite:///path or postgresql://… (default: ${STORE_ENV})",
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = argparse.ArgumentParser(prog="cookieconsent", description="Put a privacy policy into force.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    check = commands.add_parser("check", help="validate a policy file", description="Validate a policy file.")
    check.add_argument("policy", help="the policy file (.toml or .json)")
    check.set_defaults(run=_check)
    demo = commands.add_parser("demo", help="serve the demo site", description="Serve the demo site.")
    demo.add_argument("--framework", choices=["fastapi", "flask"], default="fastapi")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8000)
    demo.set_defaults(run=_demo)

    verify = commands.add_parser(
        "verify",
        help="check the consent records' hash chain",
        description="Check the hash chain of the consent records: exit 1 and print each record edited, "
        "inserted or deleted.",
    )
    _add_store(verify)
    verify.set_defaults(run=_with_store(_verify))

    purge = commands.add_parser(
        "purge",
        help="delete records past their retention period",
        description="Delete the records older than the policy's [retention] periods and print how many.",
    )
    _add_store(purge)
    purge.add_argument("--policy", required=True, help="the policy file whose [retention] applies")
    purge.add_argument("--now", type=_iso_time, help="the time to purge at (ISO 8601 with a zone; default: now)")
    purge.set_defaults(run=_with_store(_purge))

    rights = commands.add_parser(
        "rights",
        help="list, show, extend or close rights requests",
        description="The data-subject requests filed in the privacy centre (PDPA Art. 3), with their due dates.",
    )
    actions = rights.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="list the requests", description="List the rights requests.")
    listing.add_argument("--open", action="store_true", help="only the requests not yet answered")
    show = actions.add_parser("show", help="show one request", description="Show one rights request as JSON.")
    show.add_argument("reference", help="the request's reference (RR-…)")
    ext = actions.add_parser(
        "extend",
        help="extend a request's due date, once",
        description="Extend a request's due date once, by its original period, with a written reason for the "
        "requester (PDPA Arts. 10, 11). A second extension is refused.",
    )
    ext.add_argument("reference", help="the request's reference (RR-…)")
    ext.add_argument("--reason", required=True, help="why more time is needed (told to the requester)")
    close = actions.add_parser("close", help="mark a request answered", description="Mark a rights request answered.")
    close.add_argument("reference", help="the request's reference (RR-…)")
    close.add_argument("--resolution", required=True, help="how it was answered, e.g. 'completed'")
    for sub in (listing, show, ext, close):
        _add_store(sub)
    for sub in (ext, close):
        sub.add_argument("--now", type=_iso_time, help=argparse.SUPPRESS)
    rights.set_defaults(run=_with_store(_rights))

    export = commands.add_parser(
        "export",
        help="export de-identified aggregate counts",
        description="Export aggregate counts only: page views per page per day, visits per country, browser, "
        "operating system and device type. No consent or device ids and no IP addresses; groups of fewer than "
        "k visitors are left out.",
    )
    _add_store(export)
    export.add_argument(
        "--deidentified", action="store_true", required=True, help="confirm: aggregates only (the only mode)"
    )
    export.add_argument("--k", type=_positive, default=10, help="the smallest group shown (default: 10)")
    export.add_argument("--output", help="write to this file instead of standard output")
    export.add_argument("--format", choices=["csv", "json"], help="default: json for a .json output, else csv")
    export.set_defaults(run=_with_store(_export))

    audit = commands.add_parser(
        "audit",
        help="check a running site in a headless browser",
        description="Visit a running site in headless Chromium: the start page and the same-origin pages linked "
        'from it, with no decision, after "Reject all", with Sec-GPC: 1, and after "Accept all". Exit 1 if any of '
        "the first three stores a cookie or storage key the site's policy (GET /_consent/policy.json) does not "
        "declare necessary, or sends a request to another host; 2 if the audit cannot run. Needs Playwright "
        '(pip install "cookieconsent[audit]") and a Chromium on the machine; none is downloaded.',
    )
    audit.add_argument("url", help="the start page, e.g. http://127.0.0.1:8000/")
    audit.add_argument("--pages", type=_count, metavar="N", default=5, help="the most pages to visit (default: 5)")
    audit.add_argument(
        "--browser",
        metavar="PATH",
        help="the Chromium or Chrome executable (default: $COOKIECONSENT_BROWSER, /usr/bin/chromium, then chromium, "
        "chromium-browser or google-chrome on PATH)",
    )
    audit.add_argument(
        "--timeout", type=_seconds, metavar="S", default=15.0, help="seconds for one page load (default: 15)"
    )
    audit.add_argument(
        "--max-time", type=_seconds, metavar="S", default=300.0, help="seconds for the whole run (default: 300)"
    )
    audit.add_argument("--json", action="store_true", help="print the report as JSON")
    audit.add_argument(
        "--prefix",
        metavar="PATH",
        default="/_consent",
        help="where the cookieconsent endpoints live (default: /_consent)",
    )
    audit.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="HOST",
        help="a third-party host (and its subdomains) that may be contacted without consent, e.g. your own CDN; "
        "repeatable",
    )
    audit.add_argument(
        "--allow-storage",
        action="append",
        default=[],
        metavar="KEY",
        help="a localStorage/sessionStorage key (* wildcards) that may be written without consent; repeatable",
    )
    audit.add_argument(
        "--browser-arg",
        action="append",
        default=[],
        metavar="SWITCH",
        help="an extra Chromium switch, e.g. --browser-arg=--proxy-server=… ; repeatable",
    )
    audit.set_defaults(run=_audit)

    args = parser.parse_args(argv)
    code: int = args.run(args)
    return code
