"""How sure search is that its best hit answers the question, as a probability.

Raw scores are not probabilities: e5 cosines are bunched (right answers ≈ 0.93, wrong ones
≈ 0.90 on government Q&A), and fused scores depend on the candidate set. A small logistic
model over three features separates right from wrong far better than any single score:

- ``cosine``: the best dense similarity between the question and the hit's passages;
- ``coverage``: the share of the question's IDF weight whose words occur in the hit;
- ``margin``: how far the hit's fused score is ahead of the next entry's.

The coefficients were fitted by ``python -m bot kb eval --calibrate`` on two sources, each
weighing the same: gov_qa_dev.jsonl (624 questions) re-asked against an index holding a
random half of its answers, so that questions whose answer is missing count as negatives
(exactly the case where the assistant must say it is not sure), and 136 labelled citizen
questions about the starter corpus (tests/knowledge/data/starter_questions.jsonl, 20 of
them about things the corpus does not cover). AUC 0.87 and 0.94.

Threshold 0.6, chosen for "never made up": on the starter questions every confident
answer was right (precision 1.00) and every off-topic question was declined, while 65% of
the answerable ones were answered outright (the rest get "not sure" with the likely
entries as buttons); on the harder gov_qa split, 69% of confident answers were right and
77% of questions without an indexed answer were declined. At 0.5 the starter recall rises
to 72% at precision 0.97. The full table is printed by the command above.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Calibration:
    w_cosine: float
    w_coverage: float
    w_margin: float
    bias: float
    threshold: float

    def confidence(self, cosine: float, coverage: float, margin: float) -> float:
        z = self.w_cosine * cosine + self.w_coverage * coverage + self.w_margin * margin
        return 1.0 / (1.0 + math.exp(-(z + self.bias)))


DEFAULT_CALIBRATION = Calibration(
    w_cosine=19.58, w_coverage=0.83, w_margin=8.54, bias=-19.12, threshold=0.6
)
