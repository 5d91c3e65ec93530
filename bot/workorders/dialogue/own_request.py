"""Own work order or public progress: who "进展如何" is about.

"我反映的路灯问题怎么样了" asks about the citizen's own request and starts a lookup (which
needs a number or a verified phone). "****路改造工程进展如何" and "地铁8号线什么时候通车"
ask about a public project: a 咨询 that the responsible department answers, and a lookup
would only ask the citizen for a work-order number they do not have. The NLU hears the same
progress words in both, so the lookup action asks this module before it starts.

A lookup is kept whenever the message points at a request of the citizen's own — a work
order or acceptance number, a request noun (工单, 诉求, 投诉), or a first-person account of
having filed one ("我上次打电话说的") — and also when it names no public project at all
("单子到哪了", "查下进度"): the NLU's reading stands unless the text contradicts it.
"""

from __future__ import annotations

import re

from bot.workorders.numbers import find_number

# The citizen's own request: its nouns, the citizen filing it, or its handling steps.
_OWN_REQUEST = re.compile(
    r"工单|功单|单号|受理号|受理编号|诉求|办件|件号|单子|留言|我的件|我那个件|"
    r"(我|俺|本人|我们|咱).{0,12}(反映|投诉|举报|报修|打过|打的|打电话|来电|登记|提交|提的|"
    r"报的|说的|问的|留的|申请的)|"
    r"(上次|上回|之前|前几天|前天|昨天|上周|上个月|前阵子|那天).{0,8}(反映|投诉|举报|打电话|来电|"
    r"报|提|说|登记)|"
    r"(有|给)(没有)?(回复|答复|回电|回音|信儿)|办结|承办单位|派给|转到哪|谁在办|签收|催一下"
)

# A public project or service whose progress anyone may ask about.
_PUBLIC_PROGRESS = re.compile(
    r"工程|项目|改造|建设|施工|修建|扩建|地铁|轨道|(\d+|[一二三四五六七八九十]+)号线|高架|"
    r"立交|大桥|隧道|公园|学校|医院|道路|马路|快速路|规划|拆迁|棚改|安置房|回迁|"
    r"完工|竣工|开工|动工|通车|开通|建成|投用|投入使用|交付|开放|修好|修完|配套"
)


def refers_to_own_request(text: str) -> bool:
    """Whether the citizen speaks of a request they filed themselves."""
    compact = re.sub(r"\s+", "", text)
    return find_number(compact) is not None or bool(_OWN_REQUEST.search(compact))


def is_public_progress_question(text: str) -> bool:
    """Whether a progress question is about a public project rather than the citizen's own
    request: it names a project or its milestones and nothing that is the citizen's own."""
    compact = re.sub(r"\s+", "", text)
    return bool(_PUBLIC_PROGRESS.search(compact)) and not refers_to_own_request(compact)
