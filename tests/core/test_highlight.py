"""The snippet of a search hit: what is marked agrees with what the index matches, the original
characters are shown, and the window holds the most distinct terms."""

import html
import random
import time

import pytest

from app.core.highlight import snippet
from app.core.search import Term, index_text, parse_query

FILLER = "这是一段没有关键词的填充文字。"


def marked(query: str, *texts: str | None, width: int = 80) -> str | None:
    return snippet(parse_query(query), *texts, width=width)


def index_matches(term: Term, text: str) -> bool:
    """Whether the index (search.index_text, FTS5/tsquery semantics) matches one term."""
    tokens = index_text(text).split()
    if term.prefix:
        return any(token.startswith(term.tokens[0]) for token in tokens)
    size = len(term.tokens)
    return any(tuple(tokens[i : i + size]) == term.tokens for i in range(len(tokens)))


def test_a_chinese_phrase_is_marked_as_one_stretch() -> None:
    assert (
        marked("科技成果", "为促进科技成果转化，加快实施创新驱动发展战略。")
        == "为促进<mark>科技成果</mark>转化，加快实施创新驱动发展战略。"
    )


def test_a_single_character_is_marked_wherever_it_occurs() -> None:
    assert marked("术", "技术转移与技术服务") == "技<mark>术</mark>转移与技<mark>术</mark>服务"


def test_a_latin_word_matches_whole_and_in_any_case() -> None:
    assert (
        marked("ai", "AI helps maintain the Ai models; ai-driven AI芯片 and ai_chips.")
        == "<mark>AI</mark> helps maintain the <mark>Ai</mark> models; <mark>ai</mark>-driven "
        "<mark>AI</mark>芯片 and <mark>ai</mark>_chips."
    )
    assert marked("ai", "We maintain trains and email.") is None
    assert marked("5g", "盾构机 TBM-5G 与 5GHz") == "盾构机 TBM-<mark>5G</mark> 与 5GHz"


def test_full_width_text_is_matched_and_shown_as_written() -> None:
    text = "盾构机ＴＢＭ－５Ｇ型"
    assert "tbm" in index_text(text).split()
    assert marked("TBM 5g", text) == "盾构机<mark>ＴＢＭ</mark>－<mark>５Ｇ</mark>型"


def test_a_mixed_query_marks_both_kinds_and_merges_touching_marks() -> None:
    assert (
        marked("人工智能 AI", "发展人工智能（AI）产业，推动AI与人工智能AI融合。")
        == "发展<mark>人工智能</mark>（<mark>AI</mark>）产业，推动<mark>AI</mark>与"
        "<mark>人工智能AI</mark>融合。"
    )
    # overlapping matches of two terms are one mark
    assert marked("科技 技术", "推动科技术语统一") == "推动<mark>科技术</mark>语统一"


def test_html_in_the_text_is_escaped_and_the_marks_are_not() -> None:
    assert (
        marked("ai", "<script>alert(\"AI & 'co'\")</script>")
        == "&lt;script&gt;alert(&quot;<mark>AI</mark> &amp; &#x27;co&#x27;&quot;)"
        "&lt;/script&gt;"
    )


def test_a_long_text_is_cut_around_the_match_with_ellipses_at_both_ends() -> None:
    text = "前面的内容" * 10 + "科技成果转化" + "后面的内容" * 10
    assert (
        marked("成果", text, width=20) == "…内容前面的内容科技<mark>成果</mark>转化后面的内容后面…"
    )
    assert marked("成果", text, width=len(text)) == text.replace("成果", "<mark>成果</mark>")


def test_a_cut_moves_to_the_edge_of_a_latin_word() -> None:
    text = (
        "alpha one two three four five six seven eight nine ten eleven twelve thirteen "
        "alpha beta gamma delta epsilon zeta eta theta"
    )
    assert (
        marked("alpha beta", text, width=30)
        == "…thirteen <mark>alpha</mark> <mark>beta</mark> gamma…"
    )


def test_the_window_prefers_more_distinct_terms_over_an_earlier_match() -> None:
    text = "创新是发展的第一动力。" + FILLER * 4 + "推动科技与创新深度融合。" + FILLER * 4
    assert (
        marked("科技 创新", text, width=20)
        == "…填充文字。推动<mark>科技</mark>与<mark>创新</mark>深度融合。这是一…"
    )


def test_between_equal_windows_the_earliest_wins() -> None:
    text = "科技是第一生产力。" + FILLER * 4 + "成果转化。" + FILLER * 4
    assert (
        marked("科技 成果", text, width=20)
        == "<mark>科技</mark>是第一生产力。这是一段没有关键词的填…"
    )


def test_a_cut_never_falls_inside_a_mark() -> None:
    text = "科技一二三四五六七八九科技尾巴"
    # the window's end (12) falls inside the second 科技 (11-13): it is left out whole
    assert marked("科技", text, width=12) == "<mark>科技</mark>一二三四五六七八九…"
    assert marked("科技", text, width=13) == "<mark>科技</mark>一二三四五六七八九<mark>科技</mark>…"
    # a mark holding the chosen match widens the window instead
    assert marked("科技 技术", "一二三四科技术五六七八", width=2) == "…<mark>科技术</mark>…"


def test_no_match_gives_none() -> None:
    assert marked("盾构", "节能环保技术", "新材料") is None
    assert marked("盾构", None, "") is None  # e.g. the hit matched in its title only
    assert marked("！？", "盾构机") is None  # a query with nothing searchable
    assert snippet([], "盾构机") is None


def test_the_next_text_is_used_when_the_first_has_no_match() -> None:
    assert marked("盾构", "摘要里没有", "领域：盾构机") == "领域：<mark>盾构</mark>机"
    assert marked("盾构", None, "盾构机") == "<mark>盾构</mark>机"


def test_whitespace_is_collapsed_and_separates_as_in_the_index() -> None:
    assert marked("转化", "  科技\n\n  成果 \t 转化\n") == "科技 成果 <mark>转化</mark>"
    # the index does not match a phrase across a line break either
    assert not index_matches(parse_query("科技成果")[0], "科技\n成果")
    assert marked("科技成果", "科技\n成果") is None


def test_marks_never_split_a_character() -> None:
    # a compatibility character that folds to several: marked whole, and whole-word as indexed
    assert marked("kg", "每袋5 ㎏……重1㎏") == "每袋5 <mark>㎏</mark>……重1㎏"
    assert marked("4", "约¼") == "约<mark>¼</mark>"
    # a base letter and its combining accent; half-width kana with its voicing mark
    assert marked("café", "un cafe\u0301 au lait") == "un <mark>cafe\u0301</mark> au lait"
    assert marked("x", "x\u0301 y") == "<mark>x\u0301</mark> y"  # no precomposed x́: kept whole
    assert marked("ガ", "ｶﾞｲﾄﾞ") == "<mark>ｶﾞ</mark>ｲﾄﾞ"
    # characters beyond the BMP (one code point each in Python) stay whole around a mark
    assert marked("科技", "😀科技😀𠀀") == "😀<mark>科技</mark>😀𠀀"
    assert marked("ﬁle", "the ﬁle") == "the <mark>ﬁle</mark>"


def test_marks_agree_with_the_index_on_random_text() -> None:
    """A term is marked in a text exactly when the index matches that term; the snippet is the
    text itself (escaped), its marks aside."""
    alphabet = [
        *"科技成果转化创新 \n\t<&\"'",
        *"aAＡiİ1１5gGkKe",
        "ai",
        "kg",
        "㎏",
        "…",
        "ｶ",
        "ﾞ",
        "ガ",
        "\u0301",
        "é",
        "ﬁ",
        "😀",
        "\u1100",  # Hangul jamo ㄱ, ㅏ, final ㄱ: compose to 각
        "\u1161",
        "\u11a8",
        "가",
        "Σ",  # lower case depends on the neighbours: σ, or ς at a word's end
        "¼",
        "Ⅳ",
    ]
    queries = ["科技", "技成", "科", "果", "成果转化", "a", "ai", "kg", "g", "1", "5g", "e", "é"]
    queries += ["ガ", "fi", "가", "각", "科技 ai", "i", "σ", "ς", "4", "iv"]
    rng = random.Random(13)
    for _ in range(3000):
        text = "".join(rng.choices(alphabet, k=rng.randint(0, 24)))
        shown = " ".join(text.split())
        for query in queries:
            terms = parse_query(query)
            result = snippet(terms, text, width=1000)
            expected = any(index_matches(term, text) for term in terms)
            assert (result is not None) == expected, (query, text, result)
            if result is not None:
                plain = result.replace("<mark>", "").replace("</mark>", "")
                assert html.unescape(plain) == shown, (query, text, result)


def test_a_short_window_is_a_piece_of_the_text() -> None:
    rng = random.Random(14)
    alphabet = [*"科技成果转化创新 ab", "ai", "…", "㎏", "\u0301", "ｶﾞ", "q\u0301"]
    for _ in range(2000):
        text = "".join(rng.choices(alphabet, k=rng.randint(1, 60)))
        result = marked("科技 ai 果", text, width=rng.randint(1, 20))
        if result is None:
            continue
        plain = html.unescape(result.replace("<mark>", "").replace("</mark>", ""))
        shown = " ".join(text.split())
        pieces = {plain, plain.removeprefix("…"), plain.removesuffix("…")}
        pieces.add(plain.removeprefix("…").removesuffix("…"))
        assert any(piece and piece in shown for piece in pieces), (text, result)
        assert result.count("<mark>") == result.count("</mark>") >= 1
        # no cut or mark parts a character from its accent or voicing mark
        assert "</mark>\u0301" not in result, (text, result)
        if result.startswith("…") and not shown.startswith("…"):
            assert result[1:2] not in ("\u0301", "ﾞ"), (text, result)
        if result.endswith("…"):
            # "ｶ" and "q" come only with their marks
            assert not plain[:-1].endswith(("ｶ", "q")), (text, result)


def policy_text() -> str:
    """About 20 KB of a policy: the only place with both terms is near the end."""
    clause = (
        "第{}条 为促进科技成果转化，加快实施创新驱动发展战略，根据有关法律法规，"
        "结合本市实际，制定本办法。\n"
    )
    body = "".join(clause.format(i) for i in range(1, 140))
    return body + "第140条 盾构机ＴＢＭ的科技成果转化收益，按本办法分配。\n" + clause.format(141)


def test_a_long_text_gets_the_window_with_every_term() -> None:
    text = policy_text()
    assert 19_000 < len(text.encode()) < 21_000
    assert (
        marked("科技成果 tbm", text, width=40)
        == "…制定本办法。 第140条 盾构机<mark>ＴＢＭ</mark>的<mark>科技成果</mark>转化收益，"
        "按本办法分配。 第…"
    )  # centred: 16 characters either side; the cut inside "141" moves to its start


def test_a_long_text_is_quick() -> None:
    """Measured: 0.17 ms a snippet for this 20 KB text and a term in every clause (141
    matches), 0.43 ms with a hundred "…" in it (the clusters' path); Python 3.11, one core.
    The 10 ms bound catches a slide back to per-character work, not noise."""
    text, terms = policy_text(), parse_query("科技")
    irregular = text.replace("。", "……", 50)
    for case in (text, irregular):
        snippet(terms, case)
        started = time.perf_counter()
        for _ in range(20):
            snippet(terms, case)
        assert (time.perf_counter() - started) / 20 < 0.01


@pytest.mark.parametrize("width", [1, 5, 80])
def test_any_width_gives_whole_marks(width: int) -> None:
    result = marked("科技成果", "一" * 50 + "科技成果" + "二" * 50, width=width)
    assert result is not None
    assert "<mark>科技成果</mark>" in result
