"""The learned routing model: training, fusion, unsure, cache, promotion and citizens' sentence."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.routing import RequestClassifier, load_catalogue
from bot.routing.answer import citizen_sentence, department_answer
from bot.routing.history import Labels, feature_text
from bot.routing.model import RoutingModel
from bot.routing.store import (
    ensure_history_model,
    ensure_live_model,
    live_model_info,
    promote,
    read_live,
    train,
)
from bot.settings import Settings
from tests.routing.learned_fixtures import EVALUATION, HISTORY, tiny_settings, write_jsonl


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, RequestClassifier]:
    folder = tmp_path_factory.mktemp("learned")
    history = write_jsonl(folder / "history.jsonl", HISTORY)
    settings = tiny_settings(folder, [history])
    model = train(settings, [history])
    return settings, RequestClassifier(load_catalogue(settings.routing_catalogue), model=model)


@pytest.mark.parametrize(
    ("text", "kind", "unit"),
    [
        ("我家暖气片不热，已经冻了好几天", "投诉", "heating"),
        ("想问一下公积金怎么提取", "咨询", "housing_provident_fund"),
        ("小区门口流动摊贩占道经营，希望管一管", "投诉", "urban_management"),
    ],
)
def test_training_on_history_predicts_type_and_unit(
    trained: tuple[Settings, RequestClassifier], text: str, kind: str, unit: str
) -> None:
    result = trained[1].classify(text)
    assert result.request_type == kind
    assert result.department is not None and result.department.id == unit
    assert not result.unsure
    assert result.model_version is not None


def test_explanations_name_similar_cases_and_the_catalogue_matter(
    trained: tuple[Settings, RequestClassifier],
) -> None:
    result = trained[1].classify("暖气一点都不热，室温太低了")
    assert result.matter == "暖气不热、室温不达标"
    assert result.similar_cases and result.similar_cases[0].department == "heating"
    view = result.to_dict()
    assert view["similar_cases"][0]["department_name"] == "热力公司"
    assert view["matter"] and "unsure" in view


def test_a_message_saying_nothing_is_unsure(trained: tuple[Settings, RequestClassifier]) -> None:
    result = trained[1].classify("你好")
    assert result.department_unsure and result.unsure
    assert citizen_sentence(result) is None
    assert department_answer(result) is None


def test_the_citizen_sentence_names_the_unit_and_nothing_else(
    trained: tuple[Settings, RequestClassifier],
) -> None:
    result = trained[1].classify("我要投诉，暖气不热，热力公司也不来修")
    sentence = citizen_sentence(result)
    assert sentence == "这类事项一般由济南市供热中心负责办理。"
    answer = department_answer(result) or ""
    for reasoning in ("置信度", "关键词", "提示语", "模型", "典型事项", "职责", "暖气不热"):
        assert reasoning not in answer
    assert result.reason not in answer


def test_masks_and_phone_numbers_read_the_same_whatever_their_length() -> None:
    assert feature_text("电话138********，住在****小区") == feature_text(
        "电话139****1234，住在**小区"
    )
    assert "*" not in feature_text("＊＊＊路12号")


def test_history_labels_map_to_catalogue_units(tmp_path: Path) -> None:
    from bot.routing.evaluation import LabelMapping
    from bot.routing.history import LABEL_MAPPING

    settings = tiny_settings(tmp_path)
    labels = Labels(LabelMapping.load(LABEL_MAPPING), load_catalogue(settings.routing_catalogue))
    assert labels.department("城市管理委") == "urban_management"
    assert labels.department("交通委") == "transport"  # a list: its first unit trains
    assert labels.department("济南市城市管理局") == "urban_management"
    assert labels.department("济南市历下区人民政府") == "district_government"
    assert labels.type_group("举报") == "投诉/求助" and labels.type_group("建言") == "建言"


def test_the_model_is_cached_until_an_input_changes(tmp_path: Path) -> None:
    history = write_jsonl(tmp_path / "history.jsonl", HISTORY)
    settings = tiny_settings(tmp_path, [history])
    first = ensure_history_model(settings)
    stamp = first.stat().st_mtime_ns
    assert ensure_history_model(settings) == first
    assert first.stat().st_mtime_ns == stamp  # not trained again
    write_jsonl(history, [*HISTORY, {"message": "暖气漏水了", "request_type": "投诉/求助"}])
    second = ensure_history_model(settings)
    assert second != first and second.exists()


def test_without_history_the_live_model_says_where_it_learned(tmp_path: Path) -> None:
    settings = tiny_settings(tmp_path)
    ensure_live_model(settings)
    info = live_model_info(settings)
    assert info is not None and info["history"] == []
    assert set(info["rows_by_source"]) == {"catalogue", "examples"}


def test_promotion_is_refused_when_scores_fall(tmp_path: Path) -> None:
    history = write_jsonl(tmp_path / "history.jsonl", HISTORY)
    evaluation = write_jsonl(tmp_path / "eval.jsonl", EVALUATION)
    settings = tiny_settings(tmp_path, [history])
    good = tmp_path / "good" / "model.pkl"
    train(settings, [history]).save(good)
    first = promote(settings, good, evaluation)
    assert first.promoted and first.new["department_top1"] == 1.0
    # Everything labelled as one unit and one type: a model trained on this must not go live.
    wrong = [{**row, "department": "heating", "request_type": "建言"} for row in HISTORY] * 3
    bad = tmp_path / "bad" / "model.pkl"
    model = train(settings, [write_jsonl(tmp_path / "wrong.jsonl", wrong)])
    model.info["version"] = "bad"
    model.save(bad)
    second = promote(settings, bad)  # judged on the file fixed at the first promotion
    assert not second.promoted
    assert second.new["department_top1"] < second.old["department_top1"]
    live = read_live(settings)
    assert live is not None and live.version != "bad" and live.eval_file == evaluation.resolve()


def test_train_command_saves_and_promotes(tmp_path: Path, monkeypatch, capsys) -> None:
    history = write_jsonl(tmp_path / "history.jsonl", HISTORY)
    evaluation = write_jsonl(tmp_path / "eval.jsonl", EVALUATION)
    settings = tiny_settings(tmp_path)
    for key, value in settings.to_env().items():
        monkeypatch.setenv(key, value)
    out = tmp_path / "trained"
    code = main(
        [
            "routing",
            "train",
            str(history),
            "--out",
            str(out),
            "--promote",
            "--eval",
            str(evaluation),
        ]
    )
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert (out / "model.pkl").exists() and "department_top1" in printed
    info = json.loads((out / "model.json").read_text(encoding="utf-8"))
    assert info["rows_by_source"]["history"] == len(HISTORY)
    assert RoutingModel.load(out / "model.pkl", load_catalogue(settings.routing_catalogue))


def test_history_setting_takes_commas_path_separators_and_none(monkeypatch) -> None:
    monkeypatch.setenv("HOTLINE_HISTORY", "/data/a.jsonl,/data/b.jsonl:/data/c.jsonl")
    assert [p.name for p in Settings.from_env().history_files] == ["a.jsonl", "b.jsonl", "c.jsonl"]
    monkeypatch.setenv("HOTLINE_HISTORY", "none")
    assert Settings.from_env().history_files == ()
    assert Settings().history_files == ()  # code-built settings (tests) never read ../shared
