"""POST /v1/awards:simulate on the recorded facts: the answer the same push would really get.

By default (`recorded_facts: include`) the hypothetical facts are applied on top of what the platform has recorded
for the zones, counties and projects they concern, and judged against the ledger: each award says whether the
ledger already holds it, and `revocations` lists what the push would revoke. `ignore` is the facts alone.

Rankings of years under the policy are shared between the tests of the session (see tests/e2e/helpers.py): a
simulated ranking replaces the recorded one, so other tests' zones are concerned too; assertions look at this
test's own beneficiaries only.
"""

from __future__ import annotations

from typing import Any

import httpx

from tests.e2e.conftest import eventually
from tests.e2e.helpers import HISTORY_RECOGNITION, awards_of, create_recognised_zone, history_years, policy_years
from tests.e2e.test_reward_events import designate, granted, new_county, put_ranking
from tests.e2e.test_rewards_api import locations, project_body

KEYS = ("rule", "beneficiary", "basis_key", "year", "amount_yuan", "basis", "clause", "parameters", "earmark")


def simulate(api: httpx.Client, **body: Any) -> dict[str, Any]:
    reply = api.post("/v1/awards:simulate", json=body)
    assert reply.status_code == 200, reply.text
    answer: dict[str, Any] = reply.json()
    return answer


def of(items: list[dict[str, Any]], code: str, rule: str | None = None) -> list[dict[str, Any]]:
    return [i for i in items if i["beneficiary"]["code"] == code and (rule is None or i["rule"] == rule)]


def ranking(year: int, level: str, ranks: dict[str, int]) -> dict[str, Any]:
    return {"year": year, "level": level, "ranks": [{"zone_code": z, "rank": r} for z, r in ranks.items()]}


def test_simulated_ranking_advances_from_the_recorded_history_as_the_real_push_does(api: httpx.Client) -> None:
    zone = create_recognised_zone(api, "PA", "provincial", HISTORY_RECOGNITION)
    history = history_years(4)
    for year, rank in zip(history, (8, 5, 7, 6), strict=True):  # best 5
        put_ranking(api, year, "provincial", {zone: rank})
    [year] = policy_years(1)

    def recorded_history_read() -> bool:  # every history year consumed by the rewards service
        answer = simulate(api, rankings=[ranking(year, "provincial", {zone: 2})])
        return any(a["basis"]["historical_best"] == 5 for a in of(answer["awards"], zone, "rank_advance"))

    eventually(recorded_history_read)
    body = {"rankings": [ranking(year, "provincial", {zone: 2})]}
    alone = simulate(api, **body, recorded_facts="ignore")
    on_record = simulate(api, **body)

    # The facts alone: the old answer, no historical best.
    assert of(alone["awards"], zone) == []
    [refusal] = of(alone["refusals"], zone)
    assert refusal["reason"] == f"no official provincial rank before {year}: no historical best to advance from"
    # On the recorded ranks: an advance of 3 over the best of 5, new.
    [award] = of(on_record["awards"], zone)
    assert (award["amount_yuan"], award["basis"]["historical_best"], award["basis"]["advance"]) == (500_000, 5, 3)
    assert (award["already_granted"], award["award_id"]) == (False, None)
    assert awards_of(api, zone) == []  # nothing stored

    put_ranking(api, year, "provincial", {zone: 2})
    [real] = eventually(lambda: awards_of(api, zone))

    assert {k: real[k] for k in KEYS} == {k: award[k] for k in KEYS}
    # Simulated again once pushed for real: the ledger's award, already granted; nothing more to earn.
    [again] = of(simulate(api, **body)["awards"], zone)
    assert (again["already_granted"], again["award_id"]) == (True, real["award_id"])
    assert {k: again[k] for k in KEYS} == {k: real[k] for k in KEYS}


def test_simulated_recognition_of_a_zone_already_rewarded_earns_nothing_new(api: httpx.Client) -> None:
    zone = create_recognised_zone(api, "RA", "provincial", on="2022-06-30")
    [real] = eventually(lambda: awards_of(api, zone))
    body = {"recognitions": [{"zone_code": zone, "level": "provincial", "recognized_on": "2023-03-01"}]}

    alone = simulate(api, **body, recorded_facts="ignore")
    on_record = simulate(api, **body)

    [old] = of(alone["awards"], zone)  # the old answer: another ¥1,000,000
    assert (old["amount_yuan"], old["already_granted"]) == (1_000_000, False)
    [held] = of(on_record["awards"], zone)  # the real push: the award the zone has, nothing new
    assert (held["already_granted"], held["award_id"], held["amount_yuan"]) == (True, real["award_id"], 1_000_000)
    assert held["basis"]["recognized_on"] == "2022-06-30"
    assert on_record["revocations"] == [] and on_record["refusals"] == []


def test_simulated_repeat_listing_of_a_county_earns_nothing_new(api: httpx.Client) -> None:
    county = new_county(api)
    assert designate(api, county, "innovation_pilot", "national", "2023-03-01").status_code == 201
    [real] = eventually(lambda: awards_of(api, county))
    listing = {"county_code": county, "programme": "innovation_pilot", "level": "national"}
    repeat = {"designations": [{**listing, "listed_on": "2023-03-01"}]}
    later = {"designations": [{**listing, "listed_on": "2024-01-10"}]}

    assert [
        (a["amount_yuan"], a["already_granted"]) for a in simulate(api, **repeat, recorded_facts="ignore")["awards"]
    ] == [(500_000, False)]
    for body in (repeat, later):
        answer = simulate(api, **body)
        assert [(a["already_granted"], a["award_id"]) for a in answer["awards"]] == [(True, real["award_id"])]
        assert answer["revocations"] == []
    [refusal] = simulate(api, **later)["refusals"]
    assert refusal["reason"] == "innovation_pilot (national) was already listed on 2023-03-01"


def test_simulated_talent_project_in_a_zone_recognised_for_real_is_judged_on_its_recognition(
    api: httpx.Client,
) -> None:
    zone = create_recognised_zone(api, "TPZ", "provincial", on="2022-06-30")
    eventually(lambda: awards_of(api, zone))  # the recognition has reached the rewards service
    project = project_body(f"TPS-{zone}", zone)
    rate = {"name": "talent_project.rate", "value": "0.05", "effective_from": "2021-04-12"}

    alone = simulate(api, talent_projects=[project], parameters=[rate], recorded_facts="ignore")
    paid = simulate(api, talent_projects=[project], parameters=[rate])
    unpaid = simulate(api, talent_projects=[project])

    [old] = alone["refusals"]
    assert old["reason"] == f"zone {zone} was not a recognised high-tech zone on 2023-03-01"
    [award] = paid["awards"]
    assert (award["amount_yuan"], award["already_granted"], award["basis"]["zone_code"]) == (100_000, False, zone)
    # No rate in force: the refusal the real push gets.
    real = api.post("/v1/talent-projects", json=project)
    assert real.status_code == 201, real.text
    assert unpaid["awards"] == [] and [r["reason"] for r in unpaid["refusals"]] == [
        r["reason"] for r in real.json()["refusals"]
    ]


def test_simulated_ranking_that_drops_a_rewarded_zone_lists_the_revocation_and_stores_nothing(
    api: httpx.Client,
) -> None:
    zone, other = (create_recognised_zone(api, p, "national", HISTORY_RECOGNITION) for p in ("SD", "SO"))
    [y1], [y2] = history_years(1), policy_years(1)
    put_ranking(api, y1, "national", {zone: 9, other: 3})
    put_ranking(api, y2, "national", {zone: 1, other: 2})
    [award] = eventually(lambda: awards_of(api, zone))
    before = awards_of(api, zone) + awards_of(api, other)
    body = {"rankings": [ranking(y2, "national", {other: 2})]}

    answer = simulate(api, **body)
    again = simulate(api, **body)

    why = f"the facts no longer include its basis ({y2}:national)"
    [revocation] = of(answer["revocations"], zone)
    assert revocation["award_id"] == award["award_id"] and revocation["amount_yuan"] == 1_000_000
    assert revocation["reason"] == f"ranking {y2} national republished: {why}"
    assert of(answer["awards"], zone) == [] and of(answer["awards"], other) == []
    assert of(answer["revocations"], other) == []
    # Nothing stored: the ledger as it was, and the same question gets the same answer.
    assert awards_of(api, zone) + awards_of(api, other) == before
    assert again == answer
    assert simulate(api, **body, recorded_facts="ignore")["revocations"] == []

    put_ranking(api, y2, "national", {other: 2})

    assert eventually(lambda: granted(api, zone) == [])
    [revoked] = awards_of(api, zone)
    assert revoked["award_id"] == award["award_id"] and revoked["revocation_reason"].endswith(why)


def test_a_simulated_recognition_contradicting_a_recorded_one_is_refused_as_the_push_is(api: httpx.Client) -> None:
    zone = create_recognised_zone(api, "RX", "provincial", on="2022-06-30")
    eventually(lambda: awards_of(api, zone))
    body = {"recognitions": [{"zone_code": zone, "level": "national", "recognized_on": "2022-06-30"}]}

    refused = api.post("/v1/awards:simulate", json=body)
    alone = api.post("/v1/awards:simulate", json={**body, "recorded_facts": "ignore"})
    unknown = api.post("/v1/awards:simulate", json={**body, "recorded_facts": "only"})

    assert refused.status_code == 422, refused.text
    assert locations(refused) == [["body", "recognitions", 0, "level"]]
    assert alone.status_code == 200, alone.text
    assert unknown.status_code == 422 and locations(unknown) == [["body", "recorded_facts"]]
