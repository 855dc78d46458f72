"""CJK-aware text indexing and querying, the same on both backends.

Chinese has no spaces, so the app builds each item's search text itself, as Lucene's CJK
analyzer does: Latin words and numbers are lower-cased tokens; every run of CJK characters is
cut into overlapping bigrams, and the run's last character is also kept on its own so that
every character begins some token (a one-character query is then a prefix query). A run of
one character is that character.

    "盾构机 TBM-5G" → "盾构 构机 机 tbm 5g"

The tokens are written to each item's ``search_title`` and ``search_body`` columns, which
feed the search index (app/core/search_index.py, split on the spaces we put there). A query
goes through the same function: each CJK run of the query becomes a phrase of adjacent
bigrams, so a Chinese query means "this substring"; terms are ANDed; a one-character CJK term
becomes a prefix query.
"""

import operator
import re
import unicodedata
from dataclasses import dataclass

# CJK Unified Ideographs (+ extension A, compatibility), kana, hangul.
_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3040-\u309f\u30a0-\u30ff\uac00-\ud7af"
_TOKEN = re.compile(rf"[{_CJK}]+|[^\W_{_CJK}]+", re.UNICODE)
_IS_CJK = re.compile(rf"[{_CJK}]")
MAX_QUERY_TERMS = 16


def _normalize(text: str) -> str:
    # Full-width Latin and digits (ＴＢＭ５Ｇ) become ASCII; case folds.
    return unicodedata.normalize("NFKC", text).lower()


def _cjk_tokens(run: str) -> list[str]:
    if len(run) == 1:
        return [run]
    return [run[i : i + 2] for i in range(len(run) - 1)] + [run[-1]]


def index_text(*parts: str | None) -> str:
    """The search text of some fields: space-separated tokens, in order."""
    tokens: list[str] = []
    extend, append = tokens.extend, tokens.append
    for part in parts:
        if not part:
            continue
        for word in _TOKEN.findall(_normalize(part)):
            if _IS_CJK.match(word):
                # bigrams built in C (map over two offset views), then the run's last char
                extend(map(operator.add, word, word[1:]))
                append(word[-1])
            else:
                append(word)
    return " ".join(tokens)


@dataclass(frozen=True, slots=True)
class Term:
    """One ANDed part of a query: a phrase of tokens, or a one-character prefix."""

    tokens: tuple[str, ...]
    prefix: bool = False


def parse_query(text: str) -> list[Term]:
    """Terms of a user query; empty when the query has nothing searchable."""
    terms: list[Term] = []
    for match in _TOKEN.finditer(_normalize(text)):
        word = match.group()
        if _IS_CJK.match(word):
            if len(word) == 1:
                terms.append(Term(tokens=(word,), prefix=True))
            else:
                terms.append(Term(tokens=tuple(word[i : i + 2] for i in range(len(word) - 1))))
        else:
            terms.append(Term(tokens=(word,)))
        if len(terms) == MAX_QUERY_TERMS:
            break
    return terms
