"""The policy as data: loading, validation messages, PDPA codes and the material fingerprint."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from cookieconsent.errors import PolicyError
from cookieconsent.policy import pdpa
from cookieconsent.policy.model import load_policy, parse_policy
from tests.harness import small_policy_data

TELEXPRESS = Path(__file__).parents[1] / "examples" / "telexpress" / "policy.toml"


def problems(data: dict[str, Any]) -> list[str]:
    with pytest.raises(PolicyError) as info:
        parse_policy(data)
    return info.value.problems


def test_telexpress_policy_transcribes_the_seed() -> None:
    policy = load_policy(TELEXPRESS)
    assert policy.locales[0] == "zh-TW"
    assert "網訊電信" in policy.controller.name.get("zh-TW")
    assert policy.controller.email == "gd.service@telexpress.com"
    assert policy.category_ids == ("necessary", "functional", "analytics", "marketing")
    assert policy.gpc_categories == {"marketing"}
    assert policy.notice is not None
    # The seed's code list, with the codes of the two purposes its prose names and its list leaves out (063, 107).
    assert policy.notice.purposes == ("040", "063", "069", "090", "107", "135", "148", "157", "181", "182")
    assert policy.notice.data_categories == (
        "C001",
        "C002",
        "C003",
        "C011",
        "C035",
        "C036",
        "C038",
        "C093",
        "C102",
    )
    assert set(policy.notice.rights) == {"view", "copy", "correct", "stop", "delete"}
    for name, category in [
        ("session", "necessary"),
        ("lang", "functional"),
        ("_ga", "analytics"),
        ("_ga_XYZ", "analytics"),
        ("_fbp", "marketing"),
    ]:
        assert policy.allows_cookie_in(name) == category
    assert policy.allows_cookie_in("x_unknown") is None
    items = {d.id for d in policy.data_items}
    assert {
        "ip_address",
        "usage_time",
        "cookie_data",
        "software_hardware",
        "browsing_clicks",
        "device_type_version",
        "device_id",
        "location",
        "system_log",
    } <= items


def test_small_policy_loads(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    import json

    path.write_text(json.dumps(small_policy_data(), default=str))
    assert load_policy(path).controller.email == "privacy@example.com"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda d: d["cookies"].append(
                {"name": "x", "category": "ads", "purpose": "p", "provider": "p", "lifetime": "l"}
            ),
            "cookies[5].category: 'ads' is not a category; use one of",
        ),
        (
            lambda d: d["cookies"][0].pop("justification"),
            "cookies[0] (session): a necessary cookie needs a 'justification'",
        ),
        (
            lambda d: d.update(
                categories=[
                    {
                        "id": "necessary",
                        "required": True,
                        "title": "a",
                        "description": "b",
                        "legal_basis": "necessary",
                    },
                    {"id": "ads", "title": "a", "description": "b", "legal_basis": "Legitimate interest"},
                ]
            ),
            "legitimate interest cannot justify",
        ),
        (
            lambda d: d.update(categories=[{"id": "analytics", "title": "a", "description": "b"}]),
            "a 'necessary' category is required",
        ),
        (
            lambda d: d["notice"].update(purposes=["040", "999"]),
            "'999' is not in the bundled table of official PDPA specific-purpose codes",
        ),
        (
            lambda d: d["notice"].update(data_categories=["C001", "C999"]),
            "'C999' is not in the bundled table of official PDPA personal-data",
        ),
        (
            lambda d: d["controller"].update(name={"en": "Only English"}),
            "controller.name: missing the zh-TW text",
        ),
        (lambda d: d["cookies"][1].update(name="bad name"), "not a valid cookie name"),
        (
            lambda d: d.update(
                categories=[
                    {"id": "necessary", "required": True, "title": "a", "description": "b"},
                    {"id": "ads", "title": "a", "description": "b", "legal_basis": "necessary"},
                ]
            ),
            "legal_basis 'necessary' does not fit an optional category",
        ),
        (lambda d: d["cookies"][1].update(path="/a;b"), "must start with '/'"),
        (lambda d: d["cookies"][1].update(pattern="lang*"), "give exactly one of 'name'"),
        (lambda d: d["cookies"].append(copy.deepcopy(d["cookies"][1])), "'lang' is declared twice"),
        (lambda d: d.pop("controller"), "controller: this field is required"),
        (lambda d: d.update(colour="blue"), "colour: unknown field"),
        (
            lambda d: d["data_items"][0].update(pdpa_categories=["C002"]),
            "C002 is not listed in notice.data_categories",
        ),
    ],
)
def test_validation_errors_name_the_field_and_the_fix(change: Any, expected: str) -> None:
    data = copy.deepcopy(small_policy_data())
    change(data)
    found = problems(data)
    assert any(expected in p for p in found), found


def test_every_problem_is_reported_at_once() -> None:
    data = copy.deepcopy(small_policy_data())
    data["cookies"][0].pop("justification")
    data["cookies"][2]["category"] = "stats"
    data["controller"]["name"] = {"en": "x"}
    assert len(problems(data)) >= 3


def test_load_errors_are_policy_errors(tmp_path: Path) -> None:
    bad = tmp_path / "p.toml"
    bad.write_text("version = ")
    with pytest.raises(PolicyError, match="not valid TOML"):
        load_policy(bad)
    with pytest.raises(PolicyError, match="cannot read"):
        load_policy(tmp_path / "missing.toml")


def test_pdpa_table_holds_the_official_names() -> None:
    assert pdpa.purpose_name("040", "zh-TW") == "行銷（包含金控共同行銷業務）"
    assert pdpa.purpose_name("157", "en").startswith("Surveys")
    assert pdpa.data_category_name("C001", "zh-TW") == "辨識個人者"
    assert pdpa.check_purpose("40") == "040"
    assert pdpa.check_data_category("c1") == "C001"


def _fingerprint(change: Any) -> str:
    data = copy.deepcopy(small_policy_data())
    change(data)
    return parse_policy(data).fingerprint


BASE = _fingerprint(lambda d: None)


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(
            lambda d: d.update(
                categories=[
                    *parse_policy(small_policy_data()).model_dump()["categories"],
                    {"id": "social", "title": "s", "description": "s"},
                ]
            ),
            id="category",
        ),
        pytest.param(
            lambda d: d["cookies"].append(
                {"name": "_gid", "category": "analytics", "purpose": "p", "provider": "p", "lifetime": "l"}
            ),
            id="cookie",
        ),
        pytest.param(lambda d: d["cookies"][1].update(category="analytics"), id="cookie-category"),
        pytest.param(lambda d: d["notice"]["purposes"].append("090"), id="purpose"),
        pytest.param(lambda d: d["notice"]["data_categories"].append("C011"), id="data-category"),
        pytest.param(
            lambda d: d["data_items"].append({"id": "location", "category": "analytics", "description": "d"}),
            id="data-item",
        ),
        pytest.param(lambda d: d["notice"]["recipients"].append({"id": "partners", "name": "p"}), id="recipient"),
    ],
)
def test_material_changes_change_the_fingerprint(change: Any) -> None:
    assert _fingerprint(change) != BASE


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda d: d["cookies"][1].update(purpose="Remembers your language"), id="cookie-purpose"),
        pytest.param(lambda d: d["notice"].update(period="Until you ask us to stop"), id="notice-wording"),
        pytest.param(lambda d: d["controller"].update(email="dpo@example.com"), id="contact"),
        pytest.param(lambda d: d.update(version="2"), id="version-label"),
        pytest.param(lambda d: d["cookies"].reverse(), id="order"),
    ],
)
def test_wording_changes_keep_the_fingerprint(change: Any) -> None:
    assert _fingerprint(change) == BASE
