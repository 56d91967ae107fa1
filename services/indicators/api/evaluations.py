"""Official rankings with historical best, advance and the composite score; rank histories; clause 二十六."""

from __future__ import annotations

from datetime import UTC, datetime

from gaoxin.indicators.v1 import indicators_pb2 as pb
from sqlalchemy.engine import Connection

from services.common.convert import ZoneLevel, clause_to_pb, level_from_pb, level_to_pb, today_in_china
from services.common.db import reading, transaction
from services.common.errors import FieldViolation, NotFound
from services.indicators import store
from services.indicators.api.base import Context, ServicerBase, invalid
from services.indicators.domain import composite, consequences
from services.indicators.domain.catalogue import DERIVED
from services.indicators.domain.dated import end_of_year, in_force
from services.indicators.domain.ranking import (
    CLAUSE_RANKING,
    RankEntry,
    check_shape,
    check_year_ended,
    check_zones,
    effective_field_size,
    historical_best,
)
from services.indicators.domain.targets import ratio
from services.indicators.events import stage_consequences_determined, stage_ranking_published
from services.indicators.store import rankings as ranking_store
from services.indicators.store import values as value_store
from services.indicators.store.registry import known_zones, levels_on

# One ranking's zones at most (178 national zones in 2024), with room to spare.
MAX_HISTORIES = 2000


def level_arg(value: int) -> ZoneLevel:
    level = level_from_pb(value)  # type: ignore[arg-type]
    if level is None:
        invalid([FieldViolation(("level",), "must be 'provincial' or 'national'")])
    assert level is not None
    return level


def ranking_to_pb(conn: Connection, row: ranking_store.RankingRow) -> pb.Ranking:
    """The ranking with each zone's historical best, advance and composite score, as of now."""
    codes = [e.zone_code for e in row.entries]
    past = ranking_store.past_ranks(conn, codes, row.year)
    held = value_store.current_values(conn, codes, row.year)
    ratios = {
        code: {ind.code: ratio({k: v.value for k, v in held.get(code, {}).items()}, ind)[0] for ind in DERIVED}
        for code in codes
    }
    versions = composite.WEIGHT_SETS
    weights = in_force(versions, end_of_year(row.year)) or min(versions, key=lambda v: v.effective_from)
    scores = composite.scores(ratios, weights.value)
    message = pb.Ranking(
        year=row.year,
        level=level_to_pb(row.level),
        weight_set_version=weights.label,
        weights={code: str(w) for code, w in weights.value.items()},
        field_size=effective_field_size(row.entries, row.field_size),
        clause=clause_to_pb(CLAUSE_RANKING),
    )
    message.published_at.FromDatetime(row.published_at)
    for entry in row.entries:
        best = historical_best(past.get(entry.zone_code, []), row.year, row.level)
        score = scores.get(entry.zone_code)
        message.entries.append(
            pb.RankingEntry(
                zone_code=entry.zone_code,
                rank=entry.rank,
                historical_best=best or 0,
                has_historical_best=best is not None,
                advance=(best - entry.rank) if best is not None else 0,
                composite_score="" if score is None else str(score),
            )
        )
    return message


class EvaluationsApi(ServicerBase):
    async def PutRanking(self, request: pb.PutRankingRequest, context: Context) -> pb.PutRankingResponse:
        level = level_from_pb(request.level)
        entries = [RankEntry(e.rank, e.zone_code) for e in request.ranks]
        rows = list(request.row_indexes) or list(range(len(entries)))
        if len(rows) != len(entries):
            invalid([FieldViolation(("row_indexes",), "must hold one index per rank, or none")])
        violations = check_year_ended(request.year, today_in_china()) + check_shape(
            request.year, entries, request.field_size, rows
        )
        if level is None:
            invalid([*violations, FieldViolation(("level",), "must be 'provincial' or 'national'")])
        assert level is not None

        def check(conn: Connection) -> None:
            # Checked even when the shape is wrong, so one answer names every bad row.
            levels = levels_on(conn, [e.zone_code for e in entries], end_of_year(request.year))
            zone_problems = check_zones(request.year, level, entries, levels, rows)
            invalid(sorted(violations + zone_problems, key=lambda v: v.location[1] if len(v.location) > 1 else -1))

        if request.validate_only:

            def validate() -> pb.PutRankingResponse:
                with reading(self.engine) as conn:
                    check(conn)
                return pb.PutRankingResponse()

            return await self._read(validate)

        def work() -> pb.PutRankingResponse:
            with transaction(self.engine) as conn:
                # Under the zones' locks, which a recognition takes too (RecordRecognition): no recognition
                # committed meanwhile can change a level checked here.
                store.lock_zones(conn, [e.zone_code for e in entries])
                check(conn)
                earlier = ranking_store.get_ranking(conn, request.year, level)
                if earlier and sorted(earlier.entries) == sorted(entries) and earlier.field_size == request.field_size:
                    return pb.PutRankingResponse(replaced=False, changed=False, ranking=ranking_to_pb(conn, earlier))
                kept = {e.zone_code for e in entries}
                dropped = sorted(e.zone_code for e in earlier.entries if e.zone_code not in kept) if earlier else []
                ranking_store.replace_ranking(conn, request.year, level, entries, request.field_size, datetime.now(UTC))
                stage_ranking_published(conn, request.year, level, sorted(entries), earlier is not None, dropped)
                now = ranking_store.get_ranking(conn, request.year, level)
                assert now is not None
                stage_consequences_determined(conn, consequences_of(now))
                return pb.PutRankingResponse(
                    replaced=earlier is not None,
                    changed=True,
                    ranking=ranking_to_pb(conn, now),
                    dropped_zone_codes=dropped,
                )

        return await self._write(work)

    async def GetRanking(self, request: pb.GetRankingRequest, context: Context) -> pb.Ranking:
        level = level_arg(request.level)

        def work() -> pb.Ranking:
            with reading(self.engine) as conn:
                row = ranking_store.get_ranking(conn, request.year, level)
                if row is None:
                    raise NotFound(f"no official {level.value} ranking for {request.year}")
                return ranking_to_pb(conn, row)

        return await self._read(work)

    async def GetRankHistory(self, request: pb.GetRankHistoryRequest, context: Context) -> pb.RankHistory:
        def work() -> pb.RankHistory:
            with reading(self.engine) as conn:
                if store.get_zone(conn, request.zone_code) is None:
                    raise NotFound(f"zone {request.zone_code} not found")
                history = ranking_store.rank_history(conn, request.zone_code)
            return pb.RankHistory(
                zone_code=request.zone_code,
                entries=[pb.RankHistoryEntry(year=p.year, level=level_to_pb(p.level), rank=p.rank) for p in history],
            )

        return await self._read(work)

    async def GetRankHistories(self, request: pb.GetRankHistoriesRequest, context: Context) -> pb.RankHistories:
        codes = list(dict.fromkeys(request.zone_codes))
        if len(codes) > MAX_HISTORIES:
            invalid([FieldViolation(("zone_codes",), f"at most {MAX_HISTORIES} zones per call")])

        def work() -> pb.RankHistories:
            with reading(self.engine) as conn:
                known = known_zones(conn, set(codes))
                histories = ranking_store.rank_histories(conn, [c for c in codes if c in known]) if known else {}
            return pb.RankHistories(
                histories=[
                    pb.RankHistory(
                        zone_code=code,
                        entries=[
                            pb.RankHistoryEntry(year=p.year, level=level_to_pb(p.level), rank=p.rank) for p in history
                        ],
                    )
                    for code, history in histories.items()
                ],
                unknown_zone_codes=[c for c in codes if c not in known],
            )

        return await self._read(work)

    async def GetConsequences(self, request: pb.GetConsequencesRequest, context: Context) -> pb.Consequences:
        level = level_arg(request.level)

        def work() -> ranking_store.RankingRow | None:
            with reading(self.engine) as conn:
                return ranking_store.get_ranking(conn, request.year, level)

        row = await self._read(work)
        if row is None:
            raise NotFound(f"no official {level.value} ranking for {request.year}")
        return consequences_of(row)


def consequences_of(row: ranking_store.RankingRow) -> pb.Consequences:
    """Clause 二十六's outcome for each zone of a stored ranking: read by `GetConsequences`, published with the
    ranking (`consequences_determined`)."""
    n = effective_field_size(row.entries, row.field_size)
    reply = pb.Consequences(
        year=row.year, level=level_to_pb(row.level), clause=clause_to_pb(consequences.CLAUSE_CONSEQUENCES), field_size=n
    )
    rule = in_force(consequences.RULES, end_of_year(row.year))
    if rule is None:
        reply.explanation = (
            f"no consequence: clause 二十六 took effect with the policy on "
            f"{min(r.effective_from for r in consequences.RULES).isoformat()}, after the end of {row.year}"
        )
        reply.zones.extend(pb.ZoneConsequence(zone_code=e.zone_code, rank=e.rank, outcome="none") for e in row.entries)
        return reply
    top, bottom = consequences.counts(n, rule.value)
    reply.parameter_version = rule.label
    reply.support_count, reply.restrict_count = top, bottom
    reply.zones.extend(
        pb.ZoneConsequence(zone_code=o.zone_code, rank=o.rank, outcome=o.outcome, measures=o.measures)
        for o in consequences.outcomes(row.entries, n, rule.value)
    )
    reply.explanation = explain(row.level, n, top, bottom, rule.label)
    return reply


def explain(level: ZoneLevel, n: int, top: int, bottom: int, version: str) -> str:
    if n < 2:
        return f"no consequence: a ranking of {n} {level.value} zone is neither good nor poor ({version})"
    return (
        f"in the official ranking of {n} {level.value} zones (field_size), ranks 1-{top} are 'support' "
        "(考核结果好: 加大资金、政策支持力度) and "
        f"ranks {n - bottom + 1}-{n} are 'restrict' (考核结果较差: 限制新增土地指标，通报约谈，限期整改); "
        f"the rest 'none' ({version})"
    )
