"""The restart policy of `gaoxin up` (services/platform.py): back-off, and when it gives up."""

from __future__ import annotations

from services.platform import RestartPolicy, describe_exit


def test_back_off_doubles_from_half_a_second_and_gives_up_at_the_fifth_exit_within_a_minute() -> None:
    policy = RestartPolicy()
    exits: list[float] = []
    delays = []
    for now in (0.0, 1.0, 3.0, 6.0, 11.0):
        exits.append(now)
        delays.append(policy.delay(exits, now))
    assert delays == [0.5, 1.0, 2.0, 4.0, None]


def test_exits_older_than_the_window_are_forgotten() -> None:
    policy = RestartPolicy()
    assert policy.delay([0.0, 10.0, 20.0, 30.0, 60.0], 60.0) == 4.0  # the exit at 0 s is a minute old
    assert policy.delay([0.0, 100.0], 100.0) == 0.5


def test_back_off_is_capped() -> None:
    policy = RestartPolicy(max_exits=100)
    assert policy.delay([float(t) for t in range(10)], 9.0) == 10.0


def test_exits_are_described_by_signal_name_or_status() -> None:
    assert describe_exit(-9) == "signal SIGKILL"
    assert describe_exit(3) == "status 3"
