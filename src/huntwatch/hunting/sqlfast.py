"""Hunt SQL as it runs: a chain of substring tests on one text column becomes one regex scan.

Hunts are written to be read: ``lower(ProcessCommandLine) LIKE '%get-netuser%' OR lower(...) LIKE ...``.
DuckDB evaluates every test of such a chain as its own pass over the text, lowering it each time; over the
dev corpus's 100 MB of PowerShell script blocks a 35-term chain takes about 13 s, while one
``regexp_matches(col, 'get-netuser|…', 'i')`` (RE2, a single linear scan) takes 0.6 s. Folding happens
once per query text (cached) and only where the result is the same: plain ``%text%`` patterns without
LIKE wildcards inside, two or more on the same column with the same case handling, in an OR chain (or an
AND chain of ``NOT LIKE``). Everything else is left as written.
"""

from __future__ import annotations

import functools
from collections import defaultdict

import sqlglot
from sqlglot import exp

_REGEX_SPECIAL = set("\\.^$|?*+()[]{}")


@functools.lru_cache(maxsize=4096)
def fold_substring_tests(sql: str) -> str:
    """``sql`` with substring-test chains folded into regex scans (unchanged text when nothing folds)."""
    try:
        tree = sqlglot.parse_one(sql, read="duckdb")
    except sqlglot.errors.SqlglotError:
        return sql  # the hunt loader reports unparsable queries; nothing to fold here
    changed = False
    for chain_type, negated in ((exp.Or, False), (exp.And, True)):
        for node in [n for n in tree.find_all(chain_type) if not _inside_chain(n, chain_type)]:
            folded = _fold(node, chain_type, negated)
            if folded is not None:
                node.replace(folded)
                changed = True
    return tree.sql(dialect="duckdb") if changed else sql


def _inside_chain(node: exp.Expression, chain_type: type[exp.Expression]) -> bool:
    parent = node.parent
    while isinstance(parent, exp.Paren):
        parent = parent.parent
    return isinstance(parent, chain_type)


def _operands(node: exp.Expression, chain_type: type[exp.Expression]) -> list[exp.Expression]:
    inner = node
    while isinstance(inner, exp.Paren):
        inner = inner.this
    if isinstance(inner, chain_type):
        return _operands(inner.left, chain_type) + _operands(inner.right, chain_type)
    return [node]


def _fold(node: exp.Expression, chain_type: type[exp.Expression], negated: bool) -> exp.Expression | None:
    operands = _operands(node, chain_type)
    groups: dict[tuple[str, bool], list[tuple[int, exp.Expression, str]]] = defaultdict(list)
    for i, operand in enumerate(operands):
        test = _substring_test(operand, negated)
        if test is not None:
            column, text, insensitive = test
            groups[(column.sql(dialect="duckdb"), insensitive)].append((i, column, text))
    replaced: dict[int, exp.Expression | None] = {}
    for (_, insensitive), members in groups.items():
        if len(members) < 2:
            continue
        pattern = "|".join(_escape(text) for _, _, text in members)
        args = [members[0][1].copy(), exp.Literal.string(pattern)]
        if insensitive:
            args.append(exp.Literal.string("i"))
        scan: exp.Expression = exp.Anonymous(this="regexp_matches", expressions=args)
        if negated:
            scan = exp.Not(this=scan)
        replaced[members[0][0]] = scan
        for i, _, _ in members[1:]:
            replaced[i] = None
    if not replaced:
        return None
    kept = [replaced.get(i, operand) for i, operand in enumerate(operands)]
    parts = [p.copy() if p is not None else None for p in kept]
    result = functools.reduce(lambda a, b: chain_type(this=a, expression=b), [p for p in parts if p is not None])
    return exp.Paren(this=result)


def _substring_test(node: exp.Expression, negated: bool) -> tuple[exp.Expression, str, bool] | None:
    """(column, text, case-insensitive) when ``node`` is ``[lower(]col[)] [I]LIKE '%text%'`` (negated: NOT …)."""
    if negated and isinstance(node, exp.Not):
        node = node.this
        while isinstance(node, exp.Paren):
            node = node.this
        if not isinstance(node, exp.Like | exp.ILike) or node.args.get("negate"):
            return None
    elif not isinstance(node, exp.Like | exp.ILike) or bool(node.args.get("negate")) != negated:
        return None
    if isinstance(node.parent, exp.Escape):
        return None
    pattern = node.expression
    if not (isinstance(pattern, exp.Literal) and pattern.is_string):
        return None
    text = str(pattern.this)
    if len(text) < 3 or not (text.startswith("%") and text.endswith("%")):
        return None
    inner = text[1:-1]
    if not inner or "%" in inner or "_" in inner:
        return None
    column = node.this
    insensitive = isinstance(node, exp.ILike)
    if isinstance(column, exp.Lower):
        if inner != inner.lower():
            return None  # lower(x) LIKE '%A%' never matches; leave such a test as written
        column, insensitive = column.this, True
    if not isinstance(column, exp.Column):
        return None
    return column, inner, insensitive


def _escape(text: str) -> str:
    return "".join(f"\\{c}" if c in _REGEX_SPECIAL else c for c in text)
