"""No number typed into a chapter's prose: a number a learner reads comes from the code.

A measured number is printed by the cell that measured it (or read from a results file); a
number the code defines (a budget, a split size, a rate) is written as
``20<!-- fact: .task:LABELS_PER_CLASS -->`` and ``make.py sync`` fills it in. What remains
typed is on the short list below: numbering, references, names, and definitions that are not
measurements. Formulas (``$...$``) and code (``` `...` ```) are not prose.
"""

import re

import nbformat
import pytest

from course_lib.syllabus import CHAPTERS
from course_lib.tools.sync import FACT, ROOT

#: What prose may type, each with why.
ALLOWED = {
    "a numbered step or heading": r"^\s*(?:#+\s*|[-*]\s*)?(?:\*\*)?(?:Exercise\s+)?\d+\s*(?:[.):·]|\*\*)",
    "a chapter, section, part, item, exercise, fact, block, rank, seed, epoch or round": (
        r"(?i)\b(?:chapters?|sections?|parts?|sub-parts?|items?|exercises?|facts?|blocks?|ranks?|seeds?|epochs?|"
        r"rounds?|stages?)"
        r"\s+\d+(?:\.\d+)*(?:(?:,\s*|\s+and\s+|\s+or\s+|-)\d+)*"),
    "a chapter's number or file": (r"(?<![\d.,])(?:" + "|".join(f"{c.number:02d}" for c in CHAPTERS)
                                   + r")(?:_[a-z_]+(?:\.ipynb)?)?(?![\d]|[.,]\d)"),
    "a section sign": r"§\d+(?:\.\d+)*",
    "a year in a reference": r"\b(?:19|20)\d\d[a-z]?\b",
    "an issue of a repository (keras-team/keras#20285)": r"[\w.-]+/[\w.-]+#\d+",
    "a version in a name (Keras 3, wav2vec 2.0)": r"\b(?:Keras|wav2vec) \d+(?:\.\d+)?\b",
    "a name that holds digits (float32, block1, word2vec, AVX-512, MobileNetV3Small, 2-D)": (
        r"\b[A-Za-z][A-Za-z-]*\d+[A-Za-z0-9.]*\b|\b\d+-(?:D|bit)\b"),
    "a digit the task names (digits 0-4, a 7, \"7\")": r"\b[05]-[49]\b|\b0-9\b|\"\d\"|\ban? \d\b(?!-)|\b\d's\b|\b\ds\b",
    "an equation or list number": r"\(\d+(?:\.\d+)*\)",
    "a shape or an interval that defines the data (28x28, (n, 28, 28, channels), [0, 1])": (
        r"\b\d+ ?x ?\d+(?: ?x ?\d+)?\b|\((?:\d+|[a-z]+)(?:, ?(?:\d+|[a-z]+))+\)|\[\d+, ?\d+\]"),
}
#: What the Chinese edition's prose may type besides: the same references in Chinese words.
ALLOWED_ZH = {
    "an ordinal: a chapter, section, part, item, round, stage, block, layer (第 2 节, 第 3、4 项)": (
        r"第\s*\d+(?:\.\d+)*(?:\s*(?:、|,|，|和|或|-|至|到)\s*\d+(?:\.\d+)*)*"),
    "an exercise, seed, claim, fact, rank, round or digit by number (练习 1, 种子 0-4, 秩为 16, 数字 3)": (
        r"(?:练习|种子|论断|事实|秩为?|轮|阶段|步骤|数字)\s*\d+(?:\s*(?:、|,|，|和|或|-|至|到)\s*\d+)*"),
    "a digit the task names, quoted (“1”), as a label (是 7 的图像) or mistaken for another (7 认成 1)": (
        r"[“\"]\d[”\"]|是 \d 的|\b\d 认成 \d\b"),
    "a quotation of the source text (「...」), whose own numbers the course discusses": r"「[^」]*」",
    "one, the top of a probability or a ratio (接近 1, 推向 1, 离 1 很远)": r"(?:接近|推向|离)\s*1(?!\d)",
    "a width in bits (8 位像素, 16 位 PNG)": r"\b(?:8|16|32|64) 位",
    "a chapter's file or number quoted (第 02 章 is above; 02_task_fine_tuning)": r"\b\d\d_[a-z_]+",
    "a sub-part of the source text ((2.1))": r"[（(]\d+(?:\.\d+)*[）)]",
}
#: Removed before the check: code fences, formulas, code spans, link targets, HTML, filled facts.
NOT_PROSE = (r"```.*?```", r"\$\$.*?\$\$", r"\$[^$\n]*\$", r"`[^`]*`", r"\]\([^)]*\)", FACT.pattern, r"<[^>]*>")


def typed_numbers(markdown, language="en"):
    """The lines of ``markdown`` prose that still hold a digit once everything allowed is removed."""
    for pattern in NOT_PROSE:
        markdown = re.sub(pattern, " ", markdown, flags=re.S)
    allowed = [*ALLOWED.values(), *(ALLOWED_ZH.values() if language == "zh" else ())]
    found = []
    for line in markdown.splitlines():
        rest = line
        for pattern in allowed:
            rest = re.sub(pattern, " ", rest)
        if re.search(r"\d", rest):
            found.append(line.strip())
    return found


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda c: c.name)
def test_no_number_is_typed_into_a_chapters_prose(chapter):
    nb = nbformat.read(ROOT / chapter.notebook, as_version=4)
    typed = [f"cell {i}: {line[:140]}" for i, cell in enumerate(nb.cells) if cell.cell_type == "markdown"
             and not any(tag.startswith("sync:") for tag in cell.metadata.get("tags", []))  # written by code
             for line in typed_numbers(cell.source)]
    assert not typed, (f"{chapter.notebook} types numbers into its prose; print each from the code that measured "
                       "it, or mark a number the code defines `N<!-- fact: .module:NAME -->` and run python3 make.py "
                       "sync:\n" + "\n".join(typed))


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda c: c.name)
def test_no_number_is_typed_into_a_chinese_chapters_prose(chapter):
    nb = nbformat.read(ROOT / chapter.notebook_in("zh"), as_version=4)
    typed = [f"cell {i}: {line[:140]}" for i, cell in enumerate(nb.cells) if cell.cell_type == "markdown"
             and not any(tag.startswith("sync:") for tag in cell.metadata.get("tags", []))
             for line in typed_numbers(cell.source, "zh")]
    assert not typed, (f"{chapter.notebook_in('zh')} types numbers into its prose; print each from the code, or "
                       "write the number as its English cell does (a fact, a formula, code):\n" + "\n".join(typed))


@pytest.mark.parametrize("typed", ["训练 300 步之后", "每章在 60 秒内运行完", "准确率为 0.95", "用 1,000 张测试图像"])
def test_a_typed_number_is_found_in_chinese(typed):
    assert typed_numbers(typed, "zh") == [typed]


@pytest.mark.parametrize("allowed", ["第 02 章第 2 节", "第 3、4 项", "练习 1", "种子 0-4", "秩为 16 的 LoRA",
                                     "「源域分类器使用VGG模型（有16层）」", "接近 1", "16 位 PNG"])
def test_what_chinese_prose_may_type_passes(allowed):
    assert typed_numbers(allowed, "zh") == []


@pytest.mark.parametrize("typed", ["one image is 2 points", "after 300 steps",
                                   "Each chapter runs in 60 s", "0.99 of the statistics", "with 1,000 test images"])
def test_a_typed_number_is_found(typed):
    assert typed_numbers(typed) == [typed]


@pytest.mark.parametrize("allowed", ["## 3 · Freezing", "section 2 of chapter 06", "Yosinski et al. (2014)",
                                     "a float32 array", "digits 0-4 and 5-9", "20<!-- fact: .task:LABELS_PER_CLASS -->",
                                     "the rate $10^{-3}$ and `momentum=0.99`", "see 02_task_fine_tuning.ipynb"])
def test_what_prose_may_type_passes(allowed):
    assert typed_numbers(allowed) == []
