"""Emergencies and out-of-scope matters are answered before any routing happens."""

from __future__ import annotations

from bot.routing import RequestClassifier


def test_emergency_comes_before_any_department(classifier: RequestClassifier) -> None:
    result = classifier.classify("历下区燕山小区三号楼着火了，浓烟很大，物业也不管")
    assert result.emergency is not None and result.emergency.number == "119"
    assert result.department is None
    assert result.department_alternatives == ()
    assert "119" in result.reason
    assert result.to_dict()["emergency"] == "119"


def test_gas_leak_goes_to_119_not_the_gas_company(classifier: RequestClassifier) -> None:
    result = classifier.classify("家里燃气泄漏了，味道很大，燃气公司电话打不通")
    assert result.emergency is not None and result.emergency.kind == "gas_leak"
    assert result.department is None


def test_matter_in_litigation_is_out_of_scope(classifier: RequestClassifier) -> None:
    result = classifier.classify("我和开发商的房屋质量纠纷已经起诉了，法院什么时候判")
    assert result.out_of_scope is not None and result.out_of_scope.kind == "litigation"
    assert result.department is None
    assert "不属于12345受理范围" in result.reason
    assert result.to_dict()["out_of_scope"] == "litigation"


def test_ordinary_request_is_neither(classifier: RequestClassifier) -> None:
    result = classifier.classify("燃气费怎么在网上缴纳")
    assert result.emergency is None and result.out_of_scope is None
    assert result.department is not None and result.department.id == "gas_supply"
