"""The records commands: verify, purge, rights, export."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import sqlite3
from pathlib import Path

import pytest

from cookieconsent.cli import main
from cookieconsent.records import ConsentRecord, EventRecord, Location, RightsRequest, UserAgent, VisitRecord
from cookieconsent.records.sqlite import SqliteStore
from tests.harness import small_policy_data

NOW = dt.datetime(2025, 3, 1, tzinfo=dt.UTC)


def consent(consent_id: str, mechanism: str = "accept_all", at: dt.datetime = NOW) -> ConsentRecord:
    return ConsentRecord.model_validate(
        {
            "consent_id": consent_id,
            "at": at,
            "policy_version": "1",
            "policy_fingerprint": "f" * 16,
            "notice_hash": "a" * 64,
            "locale": "en",
            "granted": ["analytics"],
            "mechanism": mechanism,
        }
    )


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "records.db"
    SqliteStore(path).close()
    return path


def test_verify_catches_an_edited_record(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with SqliteStore(db) as store:
        for i in range(3):
            store.append_consent(consent(f"c{i}"))
    assert main(["verify", "--store", str(db)]) == 0
    assert "3 consent record(s) intact" in capsys.readouterr().out
    with sqlite3.connect(db) as raw:
        raw.execute("UPDATE cc_consent_records SET body = replace(body, 'analytics', 'marketing') WHERE seq = 2")
    assert main(["verify", "--store", str(db)]) == 1
    out = capsys.readouterr()
    assert "consent record #2 was edited" in out.out
    assert "restore the records from a backup" in out.err


def test_verify_without_a_store_says_how_to_give_one(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", "--store", str(tmp_path / "missing.db")]) == 1
    assert "--store or $COOKIECONSENT_STORE" in capsys.readouterr().err


def test_the_store_defaults_to_the_environment(
    db: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COOKIECONSENT_STORE", str(db))
    assert main(["verify"]) == 0
    monkeypatch.delenv("COOKIECONSENT_STORE")
    with pytest.raises(SystemExit) as info:
        main(["verify"])
    assert info.value.code == 2


def test_purge_deletes_exactly_what_expired(db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    policy = tmp_path / "policy.json"
    retention = {
        "visit_records_days": 30,
        "event_records_days": 10,
        "consent_records_days": 365,
        "rights_requests_days": 100,
    }
    policy.write_text(json.dumps(small_policy_data(retention=retention), default=str), encoding="utf-8")
    day = dt.timedelta(days=1)
    with SqliteStore(db) as store:
        store.write_batch(
            [
                VisitRecord(page="/old", at=NOW - 31 * day, device_id="d1"),
                VisitRecord(page="/new", at=NOW - 29 * day, device_id="d1"),
                EventRecord(kind="click", page="/old", at=NOW - 11 * day, device_id="d1"),
                EventRecord(kind="click", page="/new", at=NOW - 9 * day, device_id="d1"),
            ]
        )
        store.append_consent(consent("old", at=NOW - 400 * day))
        store.append_consent(consent("new", at=NOW - 10 * day))
    args = ["purge", "--store", str(db), "--policy", str(policy), "--now", "2025-03-01T00:00:00Z"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "1 visit(s), 1 event(s), 1 consent record(s), 0 closed rights request(s)" in out
    with SqliteStore(db) as store:
        assert sorted(r.page for r in store.iter_records()) == ["/new", "/new"]
        assert [c.consent_id for c in store.consent_chain()] == ["new"]
    assert main(["verify", "--store", str(db)]) == 0  # a purge leaves the chain verifiable
    assert main(args) == 0
    assert "purged 0 row(s)" in capsys.readouterr().out


def test_purge_needs_a_zoned_time(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["purge", "--store", str(db), "--policy", "p.toml", "--now", "2025-03-01T00:00:00"])
    assert info.value.code == 2
    assert "has no time zone" in capsys.readouterr().err


def test_rights_extend_once_then_close(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    request = RightsRequest.new("view", device_id="d1", received_at=NOW)
    with SqliteStore(db) as store:
        store.add_rights_request(request)
    ref, store_arg = request.reference, ["--store", str(db)]
    assert main(["rights", "list", *store_arg]) == 0
    assert f"{ref}\tview\treceived 2025-03-01\tdue 2025-03-16\topen" in capsys.readouterr().out
    extend = ["rights", "extend", ref, "--reason", "We need the archive.", "--now", "2025-03-10T00:00:00Z", *store_arg]
    assert main(extend) == 0
    assert "now due 2025-03-31" in capsys.readouterr().out
    assert main(extend) == 1
    assert "already extended" in capsys.readouterr().err
    assert main(["rights", "show", ref, *store_arg]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["extension_reason"] == "We need the archive."
    assert main(["rights", "close", ref, "--resolution", "sent the copy", *store_arg]) == 0
    assert f"{ref} closed on" in capsys.readouterr().out
    assert main(["rights", "list", "--open", *store_arg]) == 0
    assert ref not in capsys.readouterr().out
    assert main(["rights", "show", "RR-NOPE", *store_arg]) == 1
    assert "rights list" in capsys.readouterr().err


def test_export_has_only_large_groups_and_no_ids(db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    agent = UserAgent(browser="Firefox", os="Linux", device_type="desktop")
    records: list[VisitRecord | EventRecord] = []
    for i in range(12):
        records += [
            VisitRecord(
                page="/popular",
                at=NOW,
                device_id=f"device-{i}",
                consent_id=f"consent-{i}",
                ip="203.0.113.0/24",
                user_agent=agent,
                location=Location(country="TW"),
            ),
            EventRecord(kind="click", page="/popular", at=NOW, device_id=f"device-{i}"),
        ]
    # One visitor viewing a rare page many times is still one visitor: left out.
    records += [VisitRecord(page="/rare", at=NOW, device_id="device-0", ip="203.0.113.0/24") for _ in range(15)]
    records += [VisitRecord(page="/few", at=NOW, device_id=f"device-{i}") for i in range(3)]
    with SqliteStore(db) as store:
        store.write_batch(records)
    assert main(["export", "--deidentified", "--store", str(db)]) == 0
    text = capsys.readouterr().out
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows
    assert all(int(row["count"]) >= 10 for row in rows)
    assert {(row["measure"], row["key"]) for row in rows} == {
        ("clicks_per_page_day", "/popular"),
        ("visits_per_page_day", "/popular"),
        ("visits_per_country", "TW"),
        ("visits_per_browser", "Firefox"),
        ("visits_per_os", "Linux"),
        ("visits_per_device_type", "desktop"),
    }
    assert "device-" not in text
    assert "consent-" not in text
    assert "203.0.113" not in text
    out = tmp_path / "export.json"
    assert main(["export", "--deidentified", "--store", str(db), "--k", "3", "--output", str(out)]) == 0
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["k"] == 3
    assert all(row["count"] >= 3 for row in data["rows"])
    assert ("visits_per_page_day", "/few") in {(row["measure"], row["key"]) for row in data["rows"]}
    assert "/rare" not in out.read_text(encoding="utf-8")


def test_export_refuses_a_k_below_two_and_a_missing_flag(db: Path) -> None:
    for argv in (["export", "--deidentified", "--k", "1"], ["export"]):
        with pytest.raises(SystemExit) as info:
            main([*argv, "--store", str(db)])
        assert info.value.code == 2


@pytest.mark.parametrize(
    "command",
    [["check"], ["demo"], ["verify"], ["purge"], ["rights"], ["rights", "list"], ["rights", "extend"], ["export"]],
)
def test_every_command_has_help(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main([*command, "--help"])
    assert info.value.code == 0
    assert "usage: cookieconsent" in capsys.readouterr().out
