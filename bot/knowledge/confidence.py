"""How sure search is that a hit answers the question, as a probability.

The probability is a logistic function of two numbers of the hit itself: its hybrid
score (``index.fuse``: cosine plus the guarded lexical and coverage parts) and its
*standing*, the same score standardised over all the query's candidate passages (a
question whose answer is missing resembles many passages a little, so its best hit does
not stand out). Both weights are kept non-negative and hits are ranked by the score, so
confidence falls with rank: a lower hit is never more likely right than the one above it,
and two close good hits do not make the best one look unsure (the old model used the
margin to the next hit, so the answer was declined exactly when two good entries were
found; the agent queries 拖欠工资 and 烧烤油烟扰民 got nothing).

The two coefficients are fitted by ``python -m bot kb eval --calibrate`` on two sources,
each weighing the same: gov_qa_dev.jsonl (624 questions) re-asked against an index holding
a random half of its answers, so that questions whose answer is missing count as negatives
(exactly the case where the assistant must say it is not sure), and 136 labelled citizen
questions about the starter corpus (tests/knowledge/data/starter_questions.jsonl, 20 of
them about things the corpus does not cover). The threshold is chosen for "never made up"
on the starter questions; the answer/abstain precision at each threshold is printed by the
command above and summarised in bot/knowledge/README.md.

An exact standard-number or title match is not scored here: it is certain (1.0).
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Calibration:
    w_score: float
    w_standing: float
    bias: float
    threshold: float

    def confidence(self, score: float, standing: float) -> float:
        z = self.w_score * score + self.w_standing * standing + self.bias
        return 1.0 / (1.0 + math.exp(-z))


DEFAULT_CALIBRATION = Calibration(w_score=7.77, w_standing=1.27, bias=-11.94, threshold=0.6)
