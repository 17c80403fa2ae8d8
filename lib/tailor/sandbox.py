"""The expression language of the config: Spark SQL expressions, limited to what cannot leave the row.

Two kinds of config hold SQL: campaign rules (``campaigns.definitions[].rule``) and source mappings
(``sources.csv.<entity>.mapping`` values that are not a column name, ``returns``). Both are written by
whoever edits the config, and run inside jobs that hold the pseudonymisation key and can read every table.
So an expression is parsed by Spark's own parser, and the parsed tree is walked against an allowlist before
Spark sees it as a column:

- column references: one-part names (whether the name is an attribute of the rule, ``recency_days``,
  ``churn_decile``..., is checked when the rule is analysed over the attributes);
- literals; ``AND``, ``OR``, ``NOT``; comparisons (``=``, ``<>``, ``<``, ``<=``, ``>``, ``>=``, ``<=>``);
  arithmetic (``+``, ``-``, ``*``, ``/``, ``%``, ``div``, unary minus); ``IN (list)``, ``BETWEEN``,
  ``CASE``, ``IS [NOT] NULL``, ``LIKE``, ``CAST``;
- the pure functions of :data:`FUNCTIONS` (rules) or :data:`SOURCE_FUNCTIONS` (mappings, which also parse
  dates and build strings).

Anything else is refused with the construct named: subqueries (and with them every table and file reference,
``text.`/etc/hostname```, ``delta.`...```), ``reflect``, ``java_method``, ``raise_error``, ``assert_true``,
user-defined and catalog functions, lambdas, non-deterministic functions (``rand``, ``current_date``...),
qualified names, ``*``.
"""

from __future__ import annotations

from pyspark.sql import SparkSession

from tailor.errors import ConfigError

NODES = frozenset({
    "Literal", "UnresolvedAttribute", "UnresolvedFunction",
    "And", "Or", "Not",
    "EqualTo", "EqualNullSafe", "LessThan", "LessThanOrEqual", "GreaterThan", "GreaterThanOrEqual",
    "Add", "Subtract", "Multiply", "Divide", "Remainder", "IntegralDivide", "UnaryMinus", "UnaryPositive",
    "In", "CaseWhen", "If", "IsNull", "IsNotNull", "Like", "Cast",
})
"""Catalyst expression classes (as parsed, before analysis) a rule may contain."""

FUNCTIONS = frozenset({
    "between", "coalesce", "nvl", "ifnull", "nullif", "if", "isnull", "isnotnull",
    "abs", "round", "bround", "floor", "ceil", "ceiling", "sqrt", "ln", "log", "log10", "exp", "pow", "power",
    "least", "greatest", "sign", "signum", "mod", "pmod",
    "lower", "upper", "trim", "ltrim", "rtrim", "length", "substring", "substr", "startswith", "endswith",
    "contains", "concat",
    "datediff", "date_add", "date_sub", "to_date", "year", "month", "day", "dayofweek",
})
"""Functions a rule may call: pure, deterministic, and unable to read or run anything outside the row."""

SOURCE_FUNCTIONS = FUNCTIONS | frozenset({
    "to_timestamp", "try_to_timestamp", "make_date", "timestamp_seconds", "date_format", "concat_ws",
    "replace", "translate", "lpad", "rpad", "split_part", "substring_index", "initcap", "try_divide",
    "try_multiply", "try_add", "try_subtract", "left", "right", "char_length",
})
"""Functions a source mapping may also call: they parse dates and numbers and build ids and text."""

_WHY = {
    "ScalarSubquery": "a subquery (rules may not read tables or files)",
    "Exists": "a subquery (rules may not read tables or files)",
    "ListQuery": "a subquery (rules may not read tables or files)",
    "InSubquery": "a subquery (rules may not read tables or files)",
    "LambdaFunction": "a lambda function",
    "UnresolvedStar": "'*'",
    "UnresolvedRegex": "a column regex",
    "UnresolvedExtractValue": "a field or element lookup",
    "RLike": "RLIKE (a regex may take unbounded time; use LIKE)",
}


def check(spark: SparkSession, rule: str, campaign: str) -> None:
    """Refuse a campaign rule that is not in the language above.

    Args:
        rule: the rule's SQL text.
        campaign: the campaign's name, for the message.

    Raises:
        ConfigError: the rule does not parse, or uses a construct, function or name outside the language.
    """
    check_expression(spark, rule, f"campaign '{campaign}': rule", FUNCTIONS, "campaign rules",
                     "the README, 'Campaign rules'")


def check_expression(spark: SparkSession, text: str, what: str, functions: frozenset[str], whose: str,
                     see: str) -> None:
    """Refuse an expression that is not in the language with ``functions``.

    Args:
        text: the expression's SQL text.
        what: what holds it, for the message ("campaign 'x': rule", "sources.csv.events.mapping.price").
        functions: the functions it may call.
        whose: who may not use a refused construct ("campaign rules", "source mappings").
        see: where the language is documented.

    Raises:
        ConfigError: it does not parse, or uses a construct, function or name outside the language.
    """
    rule = text
    parser = spark._jsparkSession.sessionState().sqlParser()
    try:
        tree = parser.parseExpression(rule)
    except Exception as e:  # a ParseException, through py4j
        text = str(e).strip().splitlines()
        detail = next((line for line in text if "PARSE_SYNTAX_ERROR" in line or "Syntax error" in line),
                      text[0] if text else "")
        raise ConfigError(f"{what} {rule!r} does not parse: {detail.strip()[:200]}") from None
    problem = _first_problem(tree, functions)
    if problem:
        raise ConfigError(f"{what} {rule!r} uses {problem}, which {whose} may not (see {see})")


def _first_problem(node, functions: frozenset[str]) -> str | None:
    kind = node.getClass().getSimpleName()
    if kind not in NODES:
        return _WHY.get(kind, f"the construct {kind}")
    if kind == "UnresolvedAttribute":
        parts = _parts(node.nameParts())
        if len(parts) != 1:
            return f"the qualified name {'.'.join(parts)}"
    if kind == "UnresolvedFunction":
        parts = _parts(node.nameParts())
        name = parts[-1].lower()
        if len(parts) != 1 or name not in functions:
            return f"the function {'.'.join(parts)}()"
        if node.isDistinct() or node.filter().isDefined():
            return f"an aggregate form of {name}()"
    children = node.children().iterator()
    while children.hasNext():
        found = _first_problem(children.next(), functions)
        if found:
            return found
    return None


def _parts(seq) -> list[str]:
    """A Scala ``Seq[String]`` (through py4j) as a list."""
    return [str(seq.apply(i)) for i in range(seq.size())]
