"""Our pySigma backend: a rule's detection becomes a boolean SQL predicate over the lake's ``RawEvents``.

The predicate does not read ``Fields[...]`` itself: every referenced field is an identifier
(``f_CommandLine``) that the evaluator defines ONCE per scan as the lower-cased field value, so a hundred
rules testing ``CommandLine`` share one map lookup and one ``lower()`` per row. Values are lower-cased at
conversion time; the match is therefore case-insensitive, as Windows is. Plain matches use ``=``,
``contains``, ``starts_with`` and ``ends_with`` (no wildcard semantics at all, so ``_`` and ``%`` in a
value stay literal); only values with inner Sigma wildcards use ``LIKE ... ESCAPE '\\'`` with ``%``, ``_``
and ``\\`` escaped. Regular expressions that only spell a substring, prefix, suffix or literal
alternation become those plain tests; the rest keep the author's pattern (leading/trailing ``.*`` dropped,
it means nothing to a search) with ``(?i)``.
"""

from __future__ import annotations

import hashlib
import re
import re._constants as sre_c  # type: ignore[import-not-found]
import re._parser as sre_parse  # type: ignore[import-not-found]
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, ClassVar

import duckdb
from sigma.conditions import ConditionAND, ConditionFieldEqualsValueExpression, ConditionItem, ConditionNOT, ConditionOR
from sigma.conversion.base import TextQueryBackend
from sigma.conversion.state import ConversionState
from sigma.exceptions import SigmaFeatureNotSupportedByBackendError
from sigma.rule import SigmaRule
from sigma.types import (
    CompareOperators,
    SigmaCasedString,
    SigmaRegularExpression,
    SigmaRegularExpressionFlag,
    SigmaString,
    SpecialChars,
)

from huntwatch.hunting.sigma.pipeline import STATE_FIELDS, STATE_SOURCES, Source, windows_pipeline

# Sigma field names that are columns of RawEvents, read from the column (typed, no map lookup).
COLUMN_FIELDS: dict[str, str] = {
    "EventID": "CAST(EventID AS VARCHAR)",
    "Channel": "Channel",
    "Provider_Name": "Provider",
}
ALL_FIELDS = "*"  # pseudo field: every field value joined, for keyword (field-less) searches

_SIMPLE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


def field_ident(name: str, *, cased: bool = False) -> str:
    """The SQL identifier standing for a Sigma field's value (lower-cased unless ``cased``)."""
    prefix = "r_" if cased else "f_"
    if name == ALL_FIELDS:
        return prefix + "_all"
    if _SIMPLE_NAME.fullmatch(name):
        return prefix + name
    digest = hashlib.blake2b(name.encode(), digest_size=3).hexdigest()
    return f"{prefix}{re.sub(r'[^A-Za-z0-9_]', '_', name)}_{digest}"


def sql_string(text: str) -> str:
    """A SQL string literal (standard SQL: only the quote is doubled; backslashes are literal)."""
    return "'" + text.replace("'", "''") + "'"


@dataclass(frozen=True)
class FieldRef:
    """What an identifier reads: event fields tried in order, lower-cased or as recorded."""

    names: tuple[str, ...]
    lowered: bool = True

    def expression(self) -> str:
        if self.names == (ALL_FIELDS,):
            joined = "array_to_string(map_values(Fields), chr(10))"
            return f"lower({joined})" if self.lowered else joined
        parts = [COLUMN_FIELDS.get(n, f"Fields[{sql_string(n)}]") for n in self.names]
        expr = parts[0] if len(parts) == 1 else f"coalesce({', '.join(parts)})"
        return f"lower({expr})" if self.lowered else expr


@dataclass(frozen=True)
class Conversion:
    """One Sigma rule as SQL: a predicate over identifiers, what they read, and which events to scan."""

    predicate: str
    fields: dict[str, FieldRef] = field(hash=False)
    sources: tuple[Source, ...]


class HuntwatchBackend(TextQueryBackend):
    """Converts Sigma rules into predicates for the Huntwatch lake (DuckDB SQL that sqlglot takes to Spark)."""

    name: ClassVar[str] = "Huntwatch RawEvents SQL"
    formats: ClassVar[dict[str, str]] = {"default": "Predicate, field references and source filter"}
    requires_pipeline: ClassVar[bool] = False
    backend_processing_pipeline: ClassVar = windows_pipeline()

    precedence: ClassVar[tuple[type[ConditionItem], type[ConditionItem], type[ConditionItem]]] = (
        ConditionNOT,
        ConditionAND,
        ConditionOR,
    )
    group_expression: ClassVar[str] = "({expr})"
    token_separator: str = " "
    or_token: ClassVar[str] = "OR"
    and_token: ClassVar[str] = "AND"
    not_token: ClassVar[str] = "NOT"
    eq_token: ClassVar[str] = " = "

    str_quote: ClassVar[str] = "'"
    escape_char: ClassVar[str] = "\\"
    wildcard_multi: ClassVar[str] = "%"
    wildcard_single: ClassVar[str] = "_"
    add_escaped: ClassVar[str] = "\\"
    bool_values: ClassVar[dict[bool, str | None]] = {True: "'true'", False: "'false'"}

    eq_expression: ClassVar[str] = "{field} = {value}"
    startswith_expression: ClassVar[str] = "starts_with({field}, {value})"
    endswith_expression: ClassVar[str] = "ends_with({field}, {value})"
    contains_expression: ClassVar[str] = "contains({field}, {value})"
    wildcard_match_expression: ClassVar[str] = "{field} LIKE {value} ESCAPE '\\'"
    case_sensitive_match_expression: ClassVar[str] = "{field} LIKE {value} ESCAPE '\\'"
    case_sensitive_startswith_expression: ClassVar[str] = startswith_expression
    case_sensitive_endswith_expression: ClassVar[str] = endswith_expression
    case_sensitive_contains_expression: ClassVar[str] = contains_expression

    re_expression: ClassVar[str] = "regexp_matches({field}, {regex})"  # {regex}: a quoted RE2 pattern

    compare_op_expression: ClassVar[str] = "TRY_CAST({field} AS DOUBLE) {operator} {value}"
    compare_operators: ClassVar[dict[CompareOperators, str]] = {
        CompareOperators.LT: "<",
        CompareOperators.LTE: "<=",
        CompareOperators.GT: ">",
        CompareOperators.GTE: ">=",
        CompareOperators.NEQ: "<>",
    }
    field_null_expression: ClassVar[str] = "{field} IS NULL"
    field_exists_expression: ClassVar[str] = "{field} IS NOT NULL"
    field_not_exists_expression: ClassVar[str] = "{field} IS NULL"
    field_equals_field_expression: ClassVar[str] = "{field1} = {field2}"
    field_equals_field_startswith_expression: ClassVar[str] = "starts_with({field1}, {field2})"
    field_equals_field_endswith_expression: ClassVar[str] = "ends_with({field1}, {field2})"
    field_equals_field_contains_expression: ClassVar[str] = "contains({field1}, {field2})"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(collect_errors=False, **kwargs)
        self._fields: dict[str, tuple[str, bool]] = {}
        self._cased = False

    # -- fields -------------------------------------------------------------------------------------
    def escape_and_quote_field(self, field_name: str) -> str:
        ident = field_ident(field_name, cased=self._cased)
        self._fields[ident] = (field_name, not self._cased)
        return ident

    # -- values -------------------------------------------------------------------------------------
    def convert_value_str(self, s: SigmaString, state: ConversionState) -> str:
        """Plain text for ``=``/``contains``/…; a LIKE pattern (escaped) only when the value has wildcards."""
        if s.contains_placeholder():
            raise SigmaFeatureNotSupportedByBackendError("placeholder values need a value list (|expand)")
        if s.contains_special():
            text = s.convert(self.escape_char, self.wildcard_multi, self.wildcard_single, self.add_escaped)
        else:
            text = s.convert(None, None, None)
        return sql_string(text if self._cased else text.lower())

    def convert_condition_field_eq_val_str(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        """Pick ``=``, ``starts_with``, ``ends_with``, ``contains`` or ``LIKE`` from where the wildcards are.

        Same choice as pySigma's, without building (and compiling) a regex of every value it never uses.
        """
        value = cond.value
        assert isinstance(value, SigmaString)
        multi = SpecialChars.WILDCARD_MULTI
        expr = self.eq_expression
        if value.contains_special():
            expr = self.wildcard_match_expression
            head, tail = value.startswith(multi), value.endswith(multi)
            if head and tail and len(value) > 1 and not value[1:-1].contains_special():
                expr, value = self.contains_expression, value[1:-1]
            elif tail and not value[:-1].contains_special():
                expr, value = self.startswith_expression, value[:-1]
            elif head and not value[1:].contains_special():
                expr, value = self.endswith_expression, value[1:]
        return expr.format(field=self.escape_and_quote_field(cond.field), value=self.convert_value_str(value, state))

    def convert_condition_field_eq_val_str_case_sensitive(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Any:
        self._cased = True
        try:
            if isinstance(cond.value, SigmaCasedString) and not cond.value.contains_special():
                return self.eq_expression.format(
                    field=self.escape_and_quote_field(cond.field), value=self.convert_value_str(cond.value, state)
                )
            return super().convert_condition_field_eq_val_str_case_sensitive(cond, state)
        finally:
            self._cased = False

    def convert_condition_field_eq_val_num(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        """Field values are text: compare a number by its text (EventID 4688 = '4688')."""
        return f"{self.escape_and_quote_field(cond.field)} = {sql_string(str(cond.value))}"

    def convert_condition_field_eq_val_cidr(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        """pySigma expands a CIDR into prefix matches; group them so they stay one operand of an AND."""
        return self.group_expression.format(expr=super().convert_condition_field_eq_val_cidr(cond, state))

    def convert_condition_field_eq_val_re(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        value = cond.value
        assert isinstance(value, SigmaRegularExpression)
        return regex_predicate(self.escape_and_quote_field(cond.field), value)

    # -- keywords (no field): search the concatenation of every field value -------------------------
    def convert_condition_val_str(self, cond: Any, state: ConversionState) -> str:
        value: SigmaString = cond.value
        if not value.startswith(self._multi()):
            value = self._multi() + value
        if not value.endswith(self._multi()):
            value = value + self._multi()
        return self.convert_condition_field_eq_val_str(ConditionFieldEqualsValueExpression(ALL_FIELDS, value), state)

    def convert_condition_val_num(self, cond: Any, state: ConversionState) -> str:
        text = SigmaString(str(cond.value))
        return self.convert_condition_val_str(ConditionFieldEqualsValueExpression(ALL_FIELDS, text), state)

    def convert_condition_val_re(self, cond: Any, state: ConversionState) -> str:
        return regex_predicate(self.escape_and_quote_field(ALL_FIELDS), cond.value)

    @staticmethod
    def _multi() -> SigmaString:
        return SigmaString("*")

    # -- logic --------------------------------------------------------------------------------------
    def convert_condition_not(self, cond: ConditionNOT, state: ConversionState) -> str:
        """``NOT coalesce(x, false)``: an absent field does not match, so its negation does (two-valued)."""
        inner = self.convert_condition(cond.args[0], state)
        return f"NOT coalesce({inner}, false)"

    def convert_condition_or(self, cond: ConditionOR, state: ConversionState) -> Any:
        """Many ``contains`` of one field become one RE2 alternation: one pass over the text, not N.

        PowerShell and command-line rules OR hundreds of tool names over long script text; N substring
        scans of a multi-kilobyte field cost N times more than one automaton run.
        """
        literals: dict[str, list[str]] = defaultdict(list)
        for arg in cond.args:
            lit = _contains_literal(arg)
            if lit is not None:
                literals[arg.field].append(lit)
        merged = {name: lits for name, lits in literals.items() if len(lits) >= MIN_ALTERNATION}
        if not merged:
            return super().convert_condition_or(cond, state)
        rest = [arg for arg in cond.args if not (_contains_literal(arg) is not None and arg.field in merged)]
        parts = [
            self.re_expression.format(
                field=self.escape_and_quote_field(name), regex=sql_string("|".join(_re2_literal(x) for x in lits))
            )
            for name, lits in merged.items()
        ]
        if len(rest) > 1:
            parts.append(super().convert_condition_or(ConditionOR(rest, cond.source), state))
        elif rest:
            arg = rest[0]
            parts.append(
                self.convert_condition(arg, state)
                if self.compare_precedence(cond, arg)
                else self.convert_condition_group(arg, state)
            )
        return f" {self.or_token} ".join(parts)

    # -- result -------------------------------------------------------------------------------------
    def convert_rule(self, rule: SigmaRule, output_format: str | None = None, callback: Any = None) -> list[Any]:
        self._fields = {}
        return super().convert_rule(rule, output_format, callback)

    def finalize_query_default(self, rule: SigmaRule, query: Any, index: int, state: ConversionState) -> Conversion:
        sources = state.processing_state.get(STATE_SOURCES)
        if not sources:
            logsource = rule.logsource
            raise SigmaFeatureNotSupportedByBackendError(
                f"log source product={logsource.product} category={logsource.category} "
                f"service={logsource.service} is not mapped to any event log channel"
            )
        alternatives: dict[str, tuple[str, ...]] = state.processing_state.get(STATE_FIELDS) or {}
        refs = {
            ident: FieldRef(alternatives.get(name, (name,)), lowered) for ident, (name, lowered) in self._fields.items()
        }
        return Conversion(predicate=str(query), fields=refs, sources=tuple(sources))


MIN_ALTERNATION = 6  # contains-tests of one field in one OR from which an alternation is cheaper
_RE2_SPECIAL = frozenset("\\.^$|?*+()[]{}")
_RE2_CHECK: duckdb.DuckDBPyConnection | None = None


def _contains_literal(arg: Any) -> str | None:
    """The lower-cased literal of a case-insensitive ``field|contains`` test without inner wildcards."""
    if not isinstance(arg, ConditionFieldEqualsValueExpression) or isinstance(arg.value, SigmaCasedString):
        return None
    value = arg.value
    if not isinstance(value, SigmaString) or len(value) < 3 or value.contains_placeholder():
        return None
    multi = SpecialChars.WILDCARD_MULTI
    if not (value.startswith(multi) and value.endswith(multi)) or value[1:-1].contains_special():
        return None
    return value[1:-1].convert(None, None, None).lower()


def _re2_literal(text: str) -> str:
    return "".join("\\" + c if c in _RE2_SPECIAL else c for c in text)


def _is_dotstar(item: tuple[Any, Any]) -> bool:
    op, av = item
    if op not in (sre_c.MAX_REPEAT, sre_c.MIN_REPEAT):
        return False
    low, high, sub = av
    return low == 0 and high == sre_c.MAXREPEAT and list(sub) == [(sre_c.ANY, None)]


def _literal(items: list[tuple[Any, Any]]) -> str | None:
    if all(op is sre_c.LITERAL for op, _ in items):
        return "".join(chr(av) for _, av in items)
    return None


def literal_form(pattern: str) -> tuple[bool, bool, list[str]] | None:
    """(anchored at start, anchored at end, literal alternatives) if the regex only spells literals."""
    try:
        items = list(sre_parse.parse(pattern))
    except re.error:
        return None
    start = end = False
    if items and items[0] == (sre_c.AT, sre_c.AT_BEGINNING):
        start, items = True, items[1:]
    elif items and _is_dotstar(items[0]):
        items = items[1:]
    if items and items[-1] == (sre_c.AT, sre_c.AT_END):
        end, items = True, items[:-1]
    elif items and _is_dotstar(items[-1]):
        items = items[:-1]
    text = _literal(items)
    if text is not None:
        return start, end, [text]
    if len(items) == 1 and items[0][0] is sre_c.SUBPATTERN:
        items = list(items[0][1][3])
    if len(items) == 1 and items[0][0] is sre_c.BRANCH:
        alternatives = [_literal(list(branch)) for branch in items[0][1][1]]
        if all(a is not None for a in alternatives):
            return start, end, [a for a in alternatives if a is not None]
    return None


def _strip_dotstar(pattern: str) -> str:
    """Drop a leading/trailing ``.*`` (a search finds the rest anywhere anyway)."""
    if pattern.startswith(".*") and not pattern.startswith(".*?"):
        pattern = pattern[2:]
    if pattern.endswith(".*"):
        body = pattern[:-2]
        backslashes = len(body) - len(body.rstrip("\\"))
        if backslashes % 2 == 0 and not body.endswith(("(", "|")):
            pattern = body
    return pattern


def regex_predicate(ident: str, value: SigmaRegularExpression) -> str:
    """A plain test where the regex only spells literals; otherwise an RE2 search with ``(?i)``."""
    pattern = str(value.regexp)
    flags = value.flags
    if SigmaRegularExpressionFlag.MULTILINE not in flags:
        form = literal_form(pattern)
        if form is not None:
            start, end, alternatives = form
            tests = []
            for alt in alternatives:
                lit = sql_string(alt.lower())
                if start and end:
                    tests.append(f"{ident} = {lit}")
                elif start:
                    tests.append(f"starts_with({ident}, {lit})")
                elif end:
                    tests.append(f"ends_with({ident}, {lit})")
                else:
                    tests.append(f"contains({ident}, {lit})")
            return tests[0] if len(tests) == 1 else "(" + " OR ".join(tests) + ")"
    prefix = "(?i" + ("m" if SigmaRegularExpressionFlag.MULTILINE in flags else "")
    prefix += ("s" if SigmaRegularExpressionFlag.DOTALL in flags else "") + ")"
    body = prefix + _strip_dotstar(pattern)
    _check_re2(body)
    return f"regexp_matches({ident}, {sql_string(body)})"


def _check_re2(pattern: str) -> None:
    """Refuse at conversion a regex the engines' RE2 cannot compile (look-around, back-references)."""
    global _RE2_CHECK
    if _RE2_CHECK is None:
        _RE2_CHECK = duckdb.connect(":memory:")
    try:
        _RE2_CHECK.execute(f"SELECT regexp_matches('', {sql_string(pattern)})").fetchall()
    except duckdb.Error as exc:
        message = str(exc).strip().splitlines()[0]
        raise SigmaFeatureNotSupportedByBackendError(f"regular expression not supported by RE2: {message}") from exc
