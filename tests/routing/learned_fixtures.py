"""A tiny catalogue and synthetic labelled history, written for these tests.

Three units and a few dozen messages keep training under a second, so the tests exercise
the real learners, cache, promotion and export without the development data.
"""

from __future__ import annotations

import json
from pathlib import Path

from bot.settings import Settings

CATALOGUE = """
version: 1
city: 济南市
city_adcode: "370100"
hotline: 济南12345市民服务热线
districts:
  - name: 历下区
    adcode: "370102"
    kind: 区
    government: 济南市历下区人民政府
    aliases: [历下]
    streets: [泉城路街道]
departments:
  - id: heating
    name: 济南市供热中心
    short_name: 热力公司
    aliases: []
    domain: 城建
    duties: 负责城市集中供热的运行管理和维修服务。
    keywords: [暖气, 供暖]
    matters: [暖气不热、室温不达标, 供暖费缴纳, 暖气漏水]
  - id: housing_provident_fund
    name: 济南住房公积金中心
    short_name: 公积金中心
    aliases: []
    domain: 城建
    duties: 负责住房公积金的缴存、提取和贷款。
    keywords: [公积金]
    matters: [公积金提取, 公积金贷款, 公积金缴存基数]
  - id: urban_management
    name: 济南市城市管理局
    short_name: 城管局
    aliases: [城管]
    domain: 城建
    duties: 负责市容环境卫生和占道经营管理。
    keywords: [占道, 垃圾]
    matters: [占道经营、流动摊贩, 垃圾清运不及时, 露天烧烤油烟]
"""

_HEATING = [
    "家里暖气片一点都不热，室温才十三度",
    "供暖开始一周了暖气还是冰凉的",
    "暖气管道漏水把地板泡了",
    "我们单元暖气温度太低，老人孩子都冻感冒了",
    "热力公司说好来修暖气，到现在也没人来",
    "暖气阀门坏了，热水一直往外滴",
]
_FUND = [
    "公积金贷款最多能贷多少钱",
    "离职以后公积金怎么提取出来",
    "单位一直不给交公积金怎么办",
    "公积金缴存基数每年什么时候调整",
    "租房可以提取公积金吗，需要什么材料",
    "异地买房能不能用本地的公积金贷款",
]
_URBAN = [
    "小区门口天天有流动摊贩占道经营，路都走不了",
    "垃圾桶满了好几天都没人来清运，臭气熏天",
    "楼下夜市烧烤油烟太大，窗户都不敢开",
    "路边商铺把货物摆到人行道上占道",
    "街上的垃圾已经堆了三天了，环卫也不来",
    "广场上有人乱摆摊，晚上吵得很",
]


def _typed(texts: list[str], kinds: list[str], unit: str) -> list[dict[str, str]]:
    return [
        {"message": text, "request_type": kind, "department": unit}
        for text, kind in zip(texts, kinds, strict=True)
    ]


# 咨询 for the questions, 投诉/求助 for the complaints: the outside labels of label_mapping.yml.
HISTORY = [
    *_typed(_HEATING, ["投诉/求助"] * 6, "heating"),
    *_typed(_FUND, ["咨询"] * 6, "住房公积金管理中心"),
    *_typed(_URBAN, ["投诉/求助"] * 6, "城市管理委"),
    *[
        {"message": text, "request_type": "建言"}
        for text in (
            "建议增加供暖季的巡检次数",
            "希望公积金中心开通线上提取",
            "建议在广场边设置便民摊点集中经营",
            "建议延长集中供暖时间到三月底",
            "希望多设置一些分类垃圾桶",
            "建议公积金贷款额度适当提高",
        )
    ],
]

EVALUATION = [
    {"message": "暖气不热，屋里只有十四度", "request_type": "投诉/求助", "department": "heating"},
    {
        "message": "公积金提取需要带哪些材料",
        "request_type": "咨询",
        "department": "住房公积金管理中心",
    },
    {"message": "路口有人摆摊占道经营", "request_type": "投诉/求助", "department": "城市管理委"},
    {"message": "建议供暖提前到十一月初", "request_type": "建言"},
]


def write_jsonl(path: Path, rows: list[dict[str, str]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return path


def tiny_settings(tmp_path: Path, history: list[Path] | None = None) -> Settings:
    catalogue = tmp_path / "catalogue.yml"
    catalogue.write_text(CATALOGUE, encoding="utf-8")
    return Settings(
        model_cache_dir=tmp_path / "models",
        var_dir=tmp_path / "var",
        routing_catalogue=catalogue,
        hotline_history=",".join(str(p) for p in history) if history else "none",
        # No such folder: the department learns from n-grams only, which keeps tests fast.
        embedding_model=str(tmp_path / "no-embedding-model"),
    )
