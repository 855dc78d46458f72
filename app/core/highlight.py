"""The snippet of a search hit: the best short window of a body field, its matches marked.

Matching agrees with the index (:mod:`app.core.search`) because it reads the text the way the
index does: NFKC and lower case (``search._normalize``), Latin words and numbers as whole
tokens (a match may not touch another character of ``search._TOKEN``'s Latin class, so ``ai``
is not found in ``maintain`` but is in ``AI芯片``), a CJK phrase as a substring, a one-character
CJK term anywhere. The snippet shows the original characters, so the normalized text keeps a
map back to them: full-width ``ＴＢＭ`` found by ``tbm`` is shown and marked as ``ＴＢＭ``,
``㎏`` found by ``kg`` is marked whole, never half.

Normalizing character by character, keeping each one's offset, costs ~0.2 µs a character in
Python (1.5 ms for 20 KB of Chinese), so the text is folded whole and the map is built only
where it is needed. When NFKD keeps the text's length, NFC adds nothing and lower case keeps
it too, every character became one character at its own offset (decomposition never yields
nothing, composition only shortens, lower case only lengthens), and the map is the identity:
one C call per step, the common case (full-width punctuation folds one-to-one). Otherwise
(``…``, ``㎏``, ``é`` written as ``e`` and a combining accent, half-width kana) the characters
that do not fold one-to-one on their own are found with one character class, built once from
:mod:`unicodedata` on first use (~40 ms), and each is measured with the ones it composes with
as one cluster, which a mark or a cut takes whole; the runs between clusters fold one-to-one.

The window is the stretch of about ``width`` characters whose matches cover the most distinct
terms (ties: the earliest), centred on them, its cuts moved off the inside of a Latin word, of
a cluster, of an accented character and of a mark. Whitespace is collapsed first, as a search
result shows it; HTML is escaped, marks merged where they overlap or touch.

Speed (Python 3.11, one core, ``tests/core/test_highlight.py::policy_text``: 20 KB, 7,200
characters of Chinese): a term in every clause (141 matches) 0.17 ms a snippet, a character
found 280 times 0.28 ms; the same text with a hundred "…" (the clusters' path) 0.4-0.7 ms.
Regular expressions: one per term, compiled once (``_term_pattern``'s cache).
"""

import html
import re
import unicodedata
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from functools import cache, lru_cache
from itertools import pairwise
from operator import itemgetter

from app.core.search import _CJK, _IS_CJK, Term

ELLIPSIS = "…"
MARK_OPEN, MARK_CLOSE = "<mark>", "</mark>"

# one character of a Latin/number token, as search._TOKEN reads it
_LATIN = rf"[^\W_{_CJK}]"
_LATIN_CHAR = re.compile(_LATIN)
# a cut inside a Latin word moves to the word's edge when the edge is this close
_WORD_REACH = 16

_Span = tuple[int, int]
_Match = tuple[int, int, int]  # start, end (in the shown text), index of the term
_Cluster = tuple[int, int, int, int]  # start, end in the text; start, end in the folded text


def snippet(terms: Sequence[Term], *texts: str | None, width: int = 80) -> str | None:
    """The best window of about ``width`` characters of the first of ``texts`` (the body
    fields in order, e.g. summary then field) that contains a match of ``terms``, HTML-escaped,
    each matched stretch wrapped in <mark>…</mark>, with "…" where the text was cut; None when
    no text contains a match."""
    patterns = [_term_pattern(term) for term in dict.fromkeys(terms) if term.tokens]
    if not patterns:
        return None
    for text in texts:
        if not text:
            continue
        shown = " ".join(text.split())
        folded = _Folded.of(shown)
        matches = _find_matches(folded, patterns)
        if matches:
            marks = _merge(shown, matches)
            start, end = _window(shown, folded, matches, marks, width)
            return _render(shown, start, end, marks)
    return None


# --- matching ----------------------------------------------------------------------------------


@lru_cache(maxsize=1024)
def _term_pattern(term: Term) -> re.Pattern[str]:
    """The folded text a term matches: a CJK substring, or a whole Latin/number token."""
    first = term.tokens[0]
    if term.prefix or _IS_CJK.match(first):
        # a phrase of overlapping bigrams ("科技", "技成", "成果") spells "科技成果"
        phrase = first + "".join(token[1:] for token in term.tokens[1:])
        return re.compile(re.escape(phrase))
    word = re.escape(first)
    # the literal comes first so the search skips ahead to it; the lookarounds check its edges
    return re.compile(rf"{word}(?<!{_LATIN}{word})(?!{_LATIN})")


def _find_matches(folded: "_Folded", patterns: Sequence[re.Pattern[str]]) -> list[_Match]:
    """Every match of every term, in the unfolded text, by start."""
    text, original = folded.text, folded.original
    if folded.is_identity:
        found = [(m.start(), m.end(), i) for i, p in enumerate(patterns) for m in p.finditer(text)]
    else:
        found = [
            (*original(*m.span()), i) for i, p in enumerate(patterns) for m in p.finditer(text)
        ]
    found.sort()
    return found


def _merge(text: str, matches: Sequence[_Match]) -> list[_Span]:
    """The marked stretches: matches that overlap or touch become one, and a match keeps the
    combining marks that follow it (the accent of "é" written as "e" and U+0301)."""
    marks: list[_Span] = []
    for start, match_end, _ in matches:
        end = _past_marks(text, match_end)
        if marks and start <= marks[-1][1]:
            if end > marks[-1][1]:
                marks[-1] = (marks[-1][0], end)
        else:
            marks.append((start, end))
    return marks


# --- folding with a map back -------------------------------------------------------------------


def _fold(text: str) -> str:
    # NFKC is NFC of NFKD; this way round is ~6x faster for CJK text in CPython
    return unicodedata.normalize("NFC", unicodedata.normalize("NFKD", text)).lower()


class _Folded:
    """A text as the index reads it, and the way back to the text's own offsets."""

    __slots__ = ("_clusters", "_folded_starts", "_starts", "text")

    def __init__(self, text: str, clusters: Sequence[_Cluster] = ()) -> None:
        self.text = text
        self._clusters = clusters
        self._starts = [cluster[0] for cluster in clusters]
        self._folded_starts = [cluster[2] for cluster in clusters]

    @classmethod
    def of(cls, text: str) -> "_Folded":
        if text.isascii():
            return cls(text.lower())
        decomposed = unicodedata.normalize("NFKD", text)
        if len(decomposed) == len(text):
            folded = unicodedata.normalize("NFC", decomposed).lower()
            if len(folded) == len(text):
                return cls(folded)
        return cls._of_irregular(text)

    @classmethod
    def _of_irregular(cls, text: str) -> "_Folded":
        spans = _clusters(text)
        clusters: list[_Cluster] = []
        shift = 0  # offset in the folded text minus offset in the text, so far
        for start, end in spans:
            length = len(_fold_cluster(text[start:end]))
            if length != end - start:
                clusters.append((start, end, start + shift, start + shift + length))
                shift += length - (end - start)
        # folded whole, as the index does (a final sigma looks past a cluster's edge); the
        # runs between clusters fold one-to-one, so the clusters' lengths are the whole map
        folded = _fold(text)
        if len(folded) != len(text) + shift:  # never seen; the map then holds by construction
            edges = [0, *(edge for span in spans for edge in span), len(text)]
            folded = "".join(_fold(text[start:end]) for start, end in pairwise(edges))
        return cls(folded, clusters)

    @property
    def is_identity(self) -> bool:
        """Whether every character folded to one character at its own offset."""
        return not self._clusters

    def original(self, start: int, end: int) -> _Span:
        """The stretch of the text a stretch of the folded text came from, clusters whole."""
        return self._original_start(start), self._original_end(end)

    def _original_start(self, position: int) -> int:
        index = bisect_right(self._folded_starts, position) - 1
        if index < 0:
            return position
        start, end, _, folded_end = self._clusters[index]
        return start if position < folded_end else end + position - folded_end

    def _original_end(self, position: int) -> int:
        index = bisect_left(self._folded_starts, position) - 1
        if index < 0:
            return position
        _, end, _, folded_end = self._clusters[index]
        return end if position <= folded_end else end + position - folded_end

    def cluster_edge(self, cut: int, toward: int) -> int:
        """``cut``, or the edge of the cluster it falls inside on the side of ``toward``."""
        index = bisect_right(self._starts, cut) - 1
        if index >= 0:
            start, end, _, _ = self._clusters[index]
            if start < cut < end:
                return end if toward > cut else start
        return cut


def _clusters(text: str) -> list[_Span]:
    """The stretches of ``text`` to normalize as wholes: each character that does not fold
    one-to-one on its own, with the characters it composes with."""
    clusters: list[list[int]] = []
    for match in _irregular_chars().finditer(text):
        position, char = match.start(), match.group()
        if clusters and clusters[-1][1] == position:
            if _joins(text[clusters[-1][0] : position], char):
                clusters[-1][1] = position + 1
                continue
        elif position > 0 and _joins(text[position - 1], char):
            clusters.append([position - 1, position + 1])
            continue
        clusters.append([position, position + 1])
    return [(start, end) for start, end in clusters]


@lru_cache(maxsize=4096)
def _fold_cluster(cluster: str) -> str:
    return _fold(cluster)


@lru_cache(maxsize=4096)
def _joins(before: str, char: str) -> bool:
    """Whether ``char`` normalizes together with the text ``before`` it (a combining mark
    belongs to its base; a jamo or a voicing mark may compose with the one before)."""
    if _has_combining_class(char):
        return True
    return _fold(before + char) != _fold_cluster(before) + _fold_cluster(char)


def _has_combining_class(char: str) -> bool:
    """Whether ``char`` (or what it decomposes to) attaches to the character before it."""
    return bool(
        unicodedata.combining(char) or unicodedata.combining(unicodedata.normalize("NFKD", char)[0])
    )


@cache
def _irregular_chars() -> re.Pattern[str]:
    """One character that may not fold to one character at its own offset: it expands
    (``…``, ``㎏``, ``İ``), is or starts with a combining mark, or can compose with the one
    before it. Every character outside the BMP is taken as one, to keep the scan short."""
    composers = _composers()
    irregular: list[int] = []
    for code in range(0x10000):
        char = chr(code)
        decomposed = unicodedata.normalize("NFKD", char)
        if (
            len(_fold(char)) != 1
            or _has_combining_class(char)
            or char in composers
            or decomposed[0] in composers
        ):
            irregular.append(code)
    return re.compile("[" + _character_class(irregular) + "\U00010000-\U0010ffff]")


def _composers() -> frozenset[str]:
    """Characters canonical composition joins to the one before them: the second of a
    canonical pair, and the Hangul vowel and final jamo (composed by rule, not by table)."""
    found = {chr(code) for code in (*range(0x1161, 0x1176), *range(0x11A8, 0x11C3))}
    for code in range(0x10000):
        parts = unicodedata.decomposition(chr(code)).split()
        if len(parts) == 2 and not parts[0].startswith("<"):
            found.add(chr(int(parts[1], 16)))
    return frozenset(found)


def _character_class(codes: Sequence[int]) -> str:
    """A regular expression's character class of ``codes`` (ascending), as ranges."""
    ranges: list[list[int]] = []
    for code in codes:
        if ranges and ranges[-1][1] == code - 1:
            ranges[-1][1] = code
        else:
            ranges.append([code, code])
    return "".join(
        re.escape(chr(low)) + ("-" + re.escape(chr(high)) if high > low else "")
        for low, high in ranges
    )


# --- the window --------------------------------------------------------------------------------


def _best_span(matches: Sequence[_Match], width: int) -> _Span:
    """The shortest stretch from a match that covers the most distinct terms found within
    ``width`` of it; the earliest such stretch."""
    counts: dict[int, int] = {}
    every_term = len({term for _, _, term in matches})
    best, best_span = 0, (matches[0][0], matches[0][1])
    last = 0  # matches[first:last] are counted
    for first, (start, _, term) in enumerate(matches):
        while last < len(matches) and (last == first or matches[last][1] - start <= width):
            counts[matches[last][2]] = counts.get(matches[last][2], 0) + 1
            last += 1
        if len(counts) > best:
            best = len(counts)
            best_span = (start, _covering_end(matches[first:last], best))
            if best == every_term:
                break
        counts[term] -= 1
        if not counts[term]:
            del counts[term]
    return best_span


def _covering_end(matches: Iterable[_Match], terms: int) -> int:
    """The end of the first matches that cover ``terms`` distinct terms."""
    seen: set[int] = set()
    end = 0
    for _, match_end, term in matches:
        seen.add(term)
        end = max(end, match_end)
        if len(seen) == terms:
            break
    return end


def _window(
    text: str, folded: _Folded, matches: Sequence[_Match], marks: Sequence[_Span], width: int
) -> _Span:
    """About ``width`` characters around the best matches, cut where no word, cluster or
    mark is split, without spaces at its edges."""
    first, last = span = _best_span(matches, width)
    spare = max(width - (last - first), 0)
    start = first - spare // 2
    end = last + spare - spare // 2
    if start < 0:
        start, end = 0, end - start
    if end > len(text):
        start, end = max(start - (end - len(text)), 0), len(text)
    start = _character_edge(text, folded, _word_edge(text, start, first), first)
    end = _character_edge(text, folded, _word_edge(text, end, last), last)
    start = _mark_edge(marks, start, span, at_start=True)
    end = _mark_edge(marks, end, span, at_start=False)
    # a leading space goes, and so does an accent whose base was cut off
    while 0 < start < first and (text[start] == " " or _is_mark(text[start])):
        start += 1
    while end > last and text[end - 1] == " ":
        end -= 1
    return start, end


def _past_marks(text: str, position: int) -> int:
    """``position``, or past the combining marks that start there."""
    while position < len(text) and _is_mark(text[position]):
        position += 1
    return position


def _is_mark(char: str) -> bool:
    """Whether ``char`` belongs to the character before it when shown (an accent, a vowel
    sign): no mark or cut separates them."""
    return unicodedata.category(char)[0] == "M"


def _character_edge(text: str, folded: _Folded, cut: int, toward: int) -> int:
    """``cut`` moved toward ``toward`` out of a cluster or off the marks of a character."""
    cut = folded.cluster_edge(cut, toward)
    step = 1 if toward > cut else -1
    while cut != toward and 0 < cut < len(text) and _is_mark(text[cut]):
        cut += step
    return cut


def _splits_word(text: str, cut: int) -> bool:
    return 0 < cut < len(text) and bool(
        _LATIN_CHAR.match(text, cut - 1) and _LATIN_CHAR.match(text, cut)
    )


def _word_edge(text: str, cut: int, toward: int) -> int:
    """``cut`` moved toward ``toward`` to the edge of the Latin word it splits, if near."""
    step = 1 if toward > cut else -1
    edge = cut
    for _ in range(_WORD_REACH):
        if edge == toward or not _splits_word(text, edge):
            return edge
        edge += step
    return cut


def _mark_edge(marks: Sequence[_Span], cut: int, span: _Span, *, at_start: bool) -> int:
    """``cut`` (the window's start or end) moved out of a mark it falls inside: outward when
    the mark holds part of the chosen matches, else inward so the mark is left out."""
    index = bisect_right(marks, cut, key=itemgetter(0)) - 1
    if index < 0:
        return cut
    start, end = marks[index]
    if not start < cut < end:
        return cut
    holds_span = start < span[1] and end > span[0]
    return start if holds_span == at_start else end


def _render(text: str, start: int, end: int, marks: Sequence[_Span]) -> str:
    """``text[start:end]`` as HTML: escaped, the marks wrapped, "…" where it was cut."""
    escape = html.escape
    parts = [ELLIPSIS] if start > 0 else []
    position = start
    for mark_start, mark_end in marks[bisect_left(marks, start, key=itemgetter(0)) :]:
        if mark_start >= end:
            break
        parts += [escape(text[position:mark_start]), MARK_OPEN]
        parts += [escape(text[mark_start:mark_end]), MARK_CLOSE]
        position = mark_end
    parts.append(escape(text[position:end]))
    if end < len(text):
        parts.append(ELLIPSIS)
    return "".join(parts)
