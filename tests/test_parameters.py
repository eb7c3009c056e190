"""Parsing of the parameters cell and conversion of override values to the defaults' types."""

import pytest
import yaml

from compendium.errors import ParameterError
from compendium.parameters import (convert, find_parameters_cell, parse_parameters, read_parameter_file,
                                   resolve)

SOURCE = '''seed = 7  # seed for every generator (-)
threshold = 0.9  # abort when P(failure) >= threshold (probability)
epochs = 8  # training epochs (-)
code = "007"  # an identifier that must stay a string
check_times = [16.9, 27.4]  # check times (s)
sites = ["miami"]  # weather sites
use_gpu = False  # train on the GPU when present
'''


@pytest.fixture
def parameters():
    return parse_parameters(SOURCE, "demo")


def test_parse_reads_defaults_and_comments(parameters):
    assert list(parameters) == ["seed", "threshold", "epochs", "code", "check_times", "sites", "use_gpu"]
    assert parameters["threshold"].default == 0.9
    assert parameters["threshold"].comment == "abort when P(failure) >= threshold (probability)"
    assert parameters["check_times"].type_name == "list[float]"
    assert parameters["code"].default == "007"


@pytest.mark.parametrize("name, raw, expected", [
    ("seed", "12", 12),
    ("threshold", "1e-3", 0.001),
    ("threshold", "1", 1.0),
    ("epochs", "3", 3),
    ("code", "007", "007"),
    ("check_times", "[10, 20.5]", [10.0, 20.5]),
    ("check_times", "10,20", [10.0, 20.0]),
    ("sites", "[miami, greensboro]", ["miami", "greensboro"]),
    ("use_gpu", "true", True),
    ("use_gpu", "False", False),
    ("use_gpu", "0", False),
])
def test_convert_to_default_type(parameters, name, raw, expected):
    value = convert(parameters[name], raw, "demo")
    assert value == expected
    assert type(value) is type(expected)


@pytest.mark.parametrize("name, raw", [
    ("seed", "2.5"),
    ("seed", "ten"),
    ("threshold", "high"),
    ("use_gpu", "maybe"),
    ("check_times", "[1, fast]"),
])
def test_convert_rejects_wrong_type(parameters, name, raw):
    with pytest.raises(ParameterError) as error:
        convert(parameters[name], raw, "demo")
    assert name in str(error.value)
    assert raw in str(error.value)
    assert parameters[name].type_name in str(error.value)


def test_unknown_name_suggests_closest(parameters):
    with pytest.raises(ParameterError) as error:
        resolve(parameters, "demo", [("-p", {"threshhold": "0.5"})])
    assert "did you mean 'threshold'" in str(error.value)


def test_command_line_and_file_agree(parameters, tmp_path):
    raw = {"threshold": "1e-3", "code": "007", "check_times": "[1, 2]", "use_gpu": "yes"}
    path = tmp_path / "params.yml"
    path.write_text("threshold: 1e-3\ncode: 007\ncheck_times: [1, 2]\nuse_gpu: yes\n")
    from_command_line, _ = resolve(parameters, "demo", [("-p", raw)])
    from_file, _ = resolve(parameters, "demo", [("-f", read_parameter_file(path))])
    assert from_command_line == from_file
    assert from_file["code"] == "007"


def test_later_layers_win(parameters):
    values, origins = resolve(parameters, "demo", [("profile ci", {"epochs": "2", "seed": "1"}),
                                                   ("-p", {"epochs": "4"})])
    assert values["epochs"] == 4
    assert values["seed"] == 1
    assert origins == {"epochs": "-p", "seed": "profile ci"}


def test_non_literal_default_rejected():
    with pytest.raises(ParameterError) as error:
        parse_parameters("n = 2 * 3  # not a literal\n", "demo")
    assert "'n'" in str(error.value)


def test_statement_other_than_assignment_rejected():
    with pytest.raises(ParameterError):
        parse_parameters("import os\n", "demo")


def test_missing_and_duplicate_tags():
    untagged = {"cells": [{"cell_type": "code", "metadata": {}, "source": "x = 1"}]}
    tagged = {"cell_type": "code", "metadata": {"tags": ["parameters"]}, "source": "x = 1"}
    with pytest.raises(ParameterError) as missing:
        find_parameters_cell(untagged, "demo")
    assert "'demo' has no code cell tagged 'parameters'" in str(missing.value)
    with pytest.raises(ParameterError) as duplicate:
        find_parameters_cell({"cells": [tagged, tagged]}, "demo")
    assert "2 cells tagged" in str(duplicate.value)


def test_parameter_file_must_be_mapping(tmp_path):
    path = tmp_path / "list.yml"
    path.write_text(yaml.safe_dump([1, 2]))
    with pytest.raises(ParameterError):
        read_parameter_file(path)


class _Chapter:
    def __init__(self, name):
        self.name = name


class _Plan:
    def __init__(self, name):
        self.chapter = _Chapter(name)


def _phases(work, jobs=2, cores=2):
    from compendium.build import schedule

    plans = [_Plan(name) for name in ("a", "b", "c")]
    return [([plan.chapter.name for plan in phase["plans"]], phase["parallel"], phase["threads"])
            for phase in schedule(plans, jobs, cores, work)]


def test_schedule_without_history_runs_all_at_once():
    assert _phases({}) == [(["a", "b", "c"], 2, 1)]


def test_schedule_dominant_chapter_gets_all_cores():
    assert _phases({"a": 20, "b": 16, "c": 305}) == [(["a", "b"], 2, 1), (["c"], 1, 2)]


def test_schedule_balanced_runs_longest_first():
    assert _phases({"a": 100, "b": 90, "c": 120}) == [(["c", "a", "b"], 2, 1)]


def test_schedule_single_job_is_sequential():
    assert _phases({"a": 20, "b": 16, "c": 305}, jobs=1) == [(["c", "a", "b"], 1, 2)]
