"""Tests of the makespan cost model: closed forms, Markov jump process, variance, break-even, Monte Carlo."""

import numpy as np
import pint
import pytest

from lib.costmodels import makespan as mk
from lib.units import ureg

# Values estimated from the public peg-in-hole logs: base rate, mean success,
# failure and abort times (s), false-alarm and detection rates.
S, T_S, T_F, T_A, ALPHA, BETA = 0.498, 31.9, 69.7, 23.8, 0.27, 0.81


def preemptive(**times):
    return mk.preemptive_outcomes(S, ALPHA, BETA, T_S, T_F, T_A, **times)


def seconds(quantity):
    return quantity.m_as("s")


def checkpoint_outcomes():
    """Outcomes of a policy with three checks, early wins that no check can abort, and distinct times."""
    return [
        mk.Outcome("early win", 0.20, 18.0, wins=True),
        mk.Outcome(mk.WIN, 0.15, 45.0, wins=True),
        mk.Outcome("lost success at check 1", 0.05, 16.9),
        mk.Outcome("lost success at check 2", 0.03, 27.4),
        mk.Outcome("caught failure at check 1", 0.30, 16.9),
        mk.Outcome("caught failure at check 2", 0.10, 27.4),
        mk.Outcome("caught failure at check 3", 0.07, 37.9),
        mk.Outcome(mk.MISSED_FAILURE, 0.10, 69.7),
    ]


# --- closed form against the Markov jump process ---------------------------------------------


@pytest.mark.parametrize("reset", [0.0, 1.0, 45.0])
@pytest.mark.parametrize("case", ["reactive", "preemptive", "outcome-specific", "checkpoints"])
def test_closed_form_equals_mjp(case, reset):
    outcomes = {
        "reactive": mk.reactive_outcomes(S, T_S, T_F),
        "preemptive": preemptive(),
        "outcome-specific": preemptive(success_abort_time=20.0, failure_abort_time=25.0),
        "checkpoints": checkpoint_outcomes(),
    }[case]
    closed = seconds(mk.expected_makespan(outcomes, reset))
    mjp = seconds(mk.mjp_expected_makespan(outcomes, reset))
    mjp_mean, _ = mk.mjp_moments(outcomes, reset)
    assert mjp == pytest.approx(closed, rel=1e-12)
    assert seconds(mjp_mean) == pytest.approx(closed, rel=1e-12)


def test_reactive_formula_matches_outcome_list():
    formula = seconds(mk.reactive_makespan(S, T_S, T_F, reset=5.0))
    general = seconds(mk.expected_makespan(mk.reactive_outcomes(S, T_S, T_F), reset=5.0))
    assert formula == pytest.approx(general, rel=1e-12)
    assert formula == pytest.approx(T_S + (1 - S) / S * T_F + 5.0 / S, rel=1e-12)


def test_preemptive_formula_matches_outcome_list():
    formula = mk.preemptive_makespan(S, ALPHA, BETA, T_S, T_F, T_A, 3.0, success_abort_time=20.0)
    general = mk.expected_makespan(preemptive(success_abort_time=20.0), reset=3.0)
    assert seconds(formula) == pytest.approx(seconds(general), rel=1e-12)


def test_preemptive_without_aborts_is_reactive():
    reactive = seconds(mk.reactive_makespan(S, T_S, T_F, reset=2.0))
    never_aborts = seconds(mk.preemptive_makespan(S, 0.0, 0.0, T_S, T_F, T_A, reset=2.0))
    assert never_aborts == pytest.approx(reactive, rel=1e-12)


def test_authors_unit_overhead_is_reset_of_one_second():
    # The authors' formula adds 1 to the numerator: a reset of one time unit per attempt.
    p_tp, p_fn, p_tn, p_fp = S * (1 - ALPHA), S * ALPHA, (1 - S) * BETA, (1 - S) * (1 - BETA)
    authors = (T_F * p_fp + T_A * (p_fn + p_tn) + T_S * p_tp + 1) / (1 - p_fn - p_fp - p_tn)
    assert seconds(mk.preemptive_makespan(S, ALPHA, BETA, T_S, T_F, T_A, reset=1.0)) == pytest.approx(authors)


def test_closed_form_vectorised_over_success_rate():
    rates = np.array([0.1, 0.5, 0.9])
    sweep = seconds(mk.preemptive_makespan(rates, ALPHA, BETA, T_S, T_F, T_A))
    one_by_one = [seconds(mk.preemptive_makespan(rate, ALPHA, BETA, T_S, T_F, T_A)) for rate in rates]
    assert sweep.shape == (3,)
    np.testing.assert_allclose(sweep, one_by_one, rtol=1e-12)


# --- units and invalid input -----------------------------------------------------------------


def test_quantities_accepted_and_returned():
    value = mk.reactive_makespan(S, ureg.Quantity(T_S / 60, "min"), T_F, reset=ureg.Quantity(0, "s"))
    assert value.units == ureg.second
    assert seconds(value) == pytest.approx(seconds(mk.reactive_makespan(S, T_S, T_F)))


def test_wrong_dimension_rejected():
    with pytest.raises(pint.DimensionalityError):
        mk.reactive_makespan(S, ureg.Quantity(3, "m"), T_F)


def test_zero_success_rate_raises():
    with pytest.raises(ValueError, match="success_rate = 0"):
        mk.reactive_makespan(0.0, T_S, T_F)
    with pytest.raises(ValueError, match="success_rate = 0"):
        mk.preemptive_makespan(0.0, ALPHA, BETA, T_S, T_F, T_A)


def test_certain_false_alarm_raises():
    with pytest.raises(ValueError, match="false_alarm_rate = 1"):
        mk.preemptive_makespan(S, 1.0, BETA, T_S, T_F, T_A)


def test_no_winning_outcome_raises():
    outcomes = [mk.Outcome(mk.WIN, 0.0, T_S, wins=True), mk.Outcome(mk.FAILURE, 1.0, T_F)]
    with pytest.raises(ValueError, match="win probability = 0"):
        mk.expected_makespan(outcomes)
    with pytest.raises(ValueError, match="win probability = 0"):
        mk.simulate_makespan(outcomes, 10, rng=0)


@pytest.mark.parametrize("call, name", [
    (lambda: mk.reactive_makespan(1.2, T_S, T_F), "success_rate"),
    (lambda: mk.preemptive_makespan(S, -0.1, BETA, T_S, T_F, T_A), "false_alarm_rate"),
    (lambda: mk.reactive_makespan(S, T_S, T_F, reset=-1.0), "reset"),
    (lambda: mk.reactive_makespan(S, -3.0, T_F), "success_time"),
    (lambda: mk.simulate_makespan(preemptive(), 0), "n = 0"),
    (lambda: mk.simulate_makespan(preemptive(), 10, distribution="poisson"), "distribution"),
    (lambda: mk.expected_makespan([mk.Outcome(mk.WIN, 0.5, 1.0, wins=True)]), "sum to"),
])
def test_invalid_input_names_parameter(call, name):
    with pytest.raises(ValueError, match=name):
        call()


# --- variance --------------------------------------------------------------------------------


@pytest.mark.parametrize("distribution", ["exponential", "deterministic", "gamma"])
@pytest.mark.parametrize("reset", [0.0, 10.0])
def test_variance_formula_equals_mjp(distribution, reset):
    for outcomes in (mk.reactive_outcomes(S, T_S, T_F), preemptive(), checkpoint_outcomes()):
        formula = mk.makespan_variance(outcomes, reset, distribution)
        _, mjp = mk.mjp_moments(outcomes, reset, distribution)
        assert formula.m_as("s**2") == pytest.approx(mjp.m_as("s**2"), rel=1e-10)


def test_variance_of_single_certain_win():
    outcomes = [mk.Outcome(mk.WIN, 1.0, 10.0, wins=True)]
    assert mk.makespan_variance(outcomes, distribution="exponential").m_as("s**2") == pytest.approx(100.0)
    assert mk.makespan_variance(outcomes, distribution="deterministic").m_as("s**2") == 0.0


# --- Monte Carlo -----------------------------------------------------------------------------


def empirical_outcomes(rng):
    """Preemptive outcomes whose recorded durations are skewed but have the same means as preemptive()."""
    outcomes = []
    for outcome in preemptive():
        draws = rng.lognormal(0.0, 0.6, 400)
        outcomes.append(mk.Outcome.from_durations(outcome.name, outcome.probability,
                                                  draws / draws.mean() * outcome.mean_time, outcome.wins))
    return outcomes


@pytest.mark.parametrize("distribution", mk.DISTRIBUTIONS)
def test_monte_carlo_matches_closed_form(distribution):
    rng = np.random.default_rng(11)
    outcomes = empirical_outcomes(rng) if distribution == "empirical" else preemptive()
    draws = seconds(mk.simulate_makespan(outcomes, 100_000, reset=5.0, distribution=distribution, rng=rng))
    closed = seconds(mk.expected_makespan(outcomes, 5.0))
    standard_error = draws.std(ddof=1) / np.sqrt(draws.size)
    assert abs(draws.mean() - closed) <= 4 * standard_error
    predicted_sd = np.sqrt(mk.makespan_variance(outcomes, 5.0, distribution).m_as("s**2"))
    assert draws.std(ddof=1) == pytest.approx(predicted_sd, rel=0.03)


def test_distribution_changes_spread_not_mean():
    outcomes = preemptive()
    closed = seconds(mk.expected_makespan(outcomes))
    spreads = {}
    for distribution in ("deterministic", "gamma", "exponential"):
        draws = seconds(mk.simulate_makespan(outcomes, 100_000, distribution=distribution, rng=3))
        assert abs(draws.mean() - closed) <= 4 * draws.std(ddof=1) / np.sqrt(draws.size)
        spreads[distribution] = draws.std(ddof=1)
    assert spreads["deterministic"] < 0.97 * spreads["gamma"]
    assert spreads["gamma"] < 0.9 * spreads["exponential"]


def test_monte_carlo_attempts_are_geometric():
    outcomes = preemptive()
    _, attempts = mk.simulate_makespan(outcomes, 50_000, rng=5, return_attempts=True)
    win = S * (1 - ALPHA)
    assert attempts.min() == 1
    assert attempts.mean() == pytest.approx(1 / win, rel=0.02)


def test_monte_carlo_seeded_is_reproducible():
    first = seconds(mk.simulate_makespan(preemptive(), 1000, rng=9))
    second = seconds(mk.simulate_makespan(preemptive(), 1000, rng=9))
    np.testing.assert_array_equal(first, second)


def test_empirical_needs_durations():
    with pytest.raises(ValueError, match="recorded durations"):
        mk.simulate_makespan(preemptive(), 10, distribution="empirical", rng=0)


# --- break-even ------------------------------------------------------------------------------


def difference(success_rate=S, false_alarm_rate=ALPHA, detection_rate=BETA, abort_time=T_A, reset=0.0):
    """Return E[M_pre] - E[M_re] (s)."""
    pre = mk.preemptive_makespan(success_rate, false_alarm_rate, detection_rate, T_S, T_F, abort_time, reset)
    re = mk.reactive_makespan(success_rate, T_S, T_F, reset)
    return seconds(pre - re)


def test_break_even_false_alarm_rate_flips_sign():
    alpha_star = mk.break_even_false_alarm_rate(S, BETA, T_F, T_A)
    assert 0 < alpha_star < 1
    assert difference(false_alarm_rate=alpha_star) == pytest.approx(0.0, abs=1e-9)
    assert difference(false_alarm_rate=alpha_star - 0.01) < 0
    assert difference(false_alarm_rate=alpha_star + 0.01) > 0


def test_break_even_success_rate_flips_sign():
    s_star = mk.break_even_success_rate(ALPHA, BETA, T_F, T_A)
    assert 0 < s_star < 1
    assert difference(success_rate=s_star) == pytest.approx(0.0, abs=1e-9)
    assert difference(success_rate=s_star - 0.01) < 0
    assert difference(success_rate=s_star + 0.01) > 0


def test_break_even_reset_time_flips_sign():
    r_star = seconds(mk.break_even_reset_time(S, ALPHA, BETA, T_F, T_A))
    assert r_star > 0
    assert difference(reset=r_star) == pytest.approx(0.0, abs=1e-9)
    assert difference(reset=r_star - 1.0) < 0
    assert difference(reset=r_star + 1.0) > 0


def test_break_even_abort_time_flips_sign():
    t_star = seconds(mk.break_even_abort_time(S, ALPHA, BETA, T_F))
    assert 0 < t_star < T_F
    assert difference(abort_time=t_star) == pytest.approx(0.0, abs=1e-9)
    assert difference(abort_time=t_star - 1.0) < 0
    assert difference(abort_time=t_star + 1.0) > 0


def test_break_even_degenerate_cases():
    assert mk.break_even_success_rate(0.5, 0.4, T_F, T_A) == 0.0
    assert mk.break_even_success_rate(0.0, BETA, T_F, T_A) == 1.0
    assert np.isinf(seconds(mk.break_even_reset_time(S, 0.0, BETA, T_F, T_A)))


# --- recorded attempts -----------------------------------------------------------------------


def test_makespans_from_attempts():
    durations = [70.0, 20.0, 70.0, 70.0, 30.0, 70.0]
    wins = [False, True, False, False, True, False]
    np.testing.assert_allclose(seconds(mk.makespans_from_attempts(durations, wins)), [90.0, 170.0])
    np.testing.assert_allclose(seconds(mk.makespans_from_attempts(durations, wins, reset=10.0)), [110.0, 200.0])


def test_replay_checks_outcomes():
    durations = [18.0, 40.0, 69.0, 69.0, 30.0]
    succeeded = [True, True, False, False, True]
    checks = [16.9, 27.4, 37.9]
    p_failure = [
        [0.1, 0.99, 0.99],   # success ends at 18 s: the check at 27.4 s never happens
        [0.2, 0.95, 0.1],    # success aborted at the second check
        [0.95, 0.1, 0.1],    # failure caught at the first check
        [0.1, 0.5, 0.8],     # failure missed
        [0.1, np.nan, np.nan],
    ]
    replay = mk.replay_checks(durations, succeeded, checks, p_failure, threshold=0.9)
    assert replay["outcome"].tolist() == [mk.WIN, mk.LOST_SUCCESS, mk.CAUGHT_FAILURE, mk.MISSED_FAILURE, mk.WIN]
    np.testing.assert_allclose(replay["time"], [18.0, 27.4, 16.9, 69.0, 30.0])
    assert replay["check"].tolist() == [-1, 1, 0, -1, -1]


def test_replay_timeout():
    replay = mk.replay_timeout([18.0, 40.0, 69.0, 10.0], [True, True, False, False], 20.0)
    assert replay["outcome"].tolist() == [mk.WIN, mk.LOST_SUCCESS, mk.CAUGHT_FAILURE, mk.MISSED_FAILURE]
    np.testing.assert_allclose(replay["time"], [18.0, 20.0, 20.0, 10.0])


def test_closed_form_on_replay_is_identity():
    rng = np.random.default_rng(2)
    durations = np.where(rng.random(300) < 0.5, rng.uniform(15, 70, 300), 69.5)
    succeeded = durations < 69.5
    replay = mk.replay_timeout(durations, succeeded, 31.0)
    outcomes = mk.outcomes_from_replay(replay)
    expected = replay["time"].sum() / (replay["outcome"] == mk.WIN).sum()
    assert seconds(mk.expected_makespan(outcomes)) == pytest.approx(expected, rel=1e-12)
    assert seconds(mk.mjp_expected_makespan(outcomes)) == pytest.approx(expected, rel=1e-12)


# --- sample size -----------------------------------------------------------------------------


def test_samples_for_power_is_smallest_sufficient_n():
    n = mk.samples_for_power(18.3, (106.6, 70.4), power=0.8)
    assert mk.two_sample_power(n, 18.3, (106.6, 70.4)) >= 0.8
    assert mk.two_sample_power(n - 1, 18.3, (106.6, 70.4)) < 0.8


def test_power_grows_with_sample_size():
    power = mk.two_sample_power(np.array([20, 120, 1000]), 18.3, 90.0)
    assert np.all(np.diff(power) > 0)
    assert power[-1] > 0.95
