"""Out of scope only for the legal and petition routes (issue 11, item 4): a matter already
in court, arbitration or 信访 that the citizen asks the hotline to chase, a request for
政府信息公开, others' privacy. Complaints and questions that merely mention them stay."""

from __future__ import annotations

import pytest

from bot.safety import detect_out_of_scope


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("我跟开发商的官司已经起诉到法院了，你们帮我催催法官", "litigation"),
        ("案子在法院立案了，能不能让12345督促一下判决", "litigation"),
        ("我想打官司，你们能替我写起诉状吗", "litigation"),
        ("法院判决下来了对方不执行，你们给我去强制执行吧", "litigation"),
        ("案子在走诉讼程序，你们能不能干预一下", "litigation"),
        ("我要投诉，离婚案子法院已经判决了，判得不公平", "litigation"),
        ("仲裁委那边都开过庭了，结果一直没出来，你们去问问", "arbitration"),
        ("我的事已经申请仲裁了，你们能不能直接给我裁决", "arbitration"),
        ("我已经去信访局上访了，信访事项还在办理中，想让你们催一下", "petition"),
        ("对信访的复查意见不服，你们能帮我改一下吗", "petition"),
        ("帮我把规划局的内部会议纪要公开一下", "information_disclosure"),
        ("我要依申请公开，把征地审批文件给我调出来", "information_disclosure"),
    ],
)
def test_matters_in_a_legal_route(text: str, kind: str) -> None:
    scope = detect_out_of_scope(text)
    assert scope is not None and scope.kind == kind, text


@pytest.mark.parametrize(
    "text",
    [
        # in-scope matters named in issue 11
        "拆迁计划什么时候公布",
        "孩子小学入学手续怎么办理",
        "建议积分落户增加社保缴纳年限的分值",
        "社保断缴了怎么补",
        "规划局的控规调整有什么进展",
        # the legal words as background or as a question the hotline answers
        "怎么申请劳动仲裁",
        "信访局的电话是多少",
        "民事诉讼法规定的诉讼时效是多久",
        "我想咨询一下起诉离婚需要什么材料",
        "开发商拒绝退房，还让我们尽管去起诉，希望领导督促开发商整改",
        "培训机构拒不退费，合同里写着无法起诉只能走仲裁，仲裁费太高，求助协调退款",
        "现因延期交房已起诉开发商，请问我还符合首套房贷款政策吗",
        "医生让我一个月后复查，医院挂号太难了",
        "企业信息公开是诚信的表现，建议严查年报造假",
    ],
)
def test_matters_the_hotline_takes(text: str) -> None:
    assert detect_out_of_scope(text) is None, text
