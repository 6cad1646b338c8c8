"""Matching rules: versioned YAML per workflow, loaded into frozen dataclasses and validated.

Rules are data so that finance can change a tolerance without a code change, and every match
can name the rule and version that made it. A bad file fails loudly with the file name and the
key path (``rules[2].amount.tolerance_pct``) rather than silently matching less, or more.

File schema (``contracts/rules/<workflow>.yaml``)::

    workflow: cash_application        # one of contracts.recon.WORKFLOWS
    version: "2026.11.1"              # recorded on every match (rule_version)
    auto_threshold: 0.90              # confidence >= this: auto
    suggest_threshold: 0.60           # [suggest, auto): suggested; below: no match
    ambiguity_margin: 0.005           # an alternative this close makes a match suggested
    require_all_legs: false           # drop matches missing a leg (three-way)
    caps: {max_candidates, min_group_size, max_group_size, max_alternatives,
           max_component_size, max_set_packing}
    references: {patterns: [regex, ...]}     # references found in free text
    inputs: {...}                     # workflow-specific preparation settings
    rules:                            # run in this order
      - id: snake_case                # unique; version: defaults to the file's
        description: text             # first words of every explanation
        cardinality: "1:1" | "1:N" | "N:1" | "N:M"
        left: side, right: side       # prepared sides the rule matches
        left_where / right_where: {field: value | [values] | null}
        same: [field, ...]            # equal on both sides (entity, currency...)
        keys: [{left, right, compare: exact | normalised}]   # list fields: any shared
        fuzzy: {left, right, scorer: levenshtein | damerau | ratio | token_set |
                token_sort | partial | jaro_winkler, min_similarity, weight,
                block: edits | tokens | amount | keys, max_edits, max_token_frequency}
        amount: {left, right, tolerance_abs: "5.00", tolerance_pct: "1",
                 combine: max | min, base: left | right | larger | smaller,
                 direction: both | under | over, partial: bool, weight}
        checks: [same shape as amount, naming the fields]   # quantity, unit price...
        date: {left, right, min_lag_days, max_lag_days, grace_days, per_day,
               direction: any | left_after_right | left_before_right}
        fx: bool                      # compare the left amount converted to the right's
        aggregate: {left: [fields], right: [fields]}          # group keys, paired
        evidence: [{side, field, weight}]                    # 0..1 score columns
        caps: {...}                   # per-rule override of the file's caps
        confidence: 0.99              # what the rule gives when everything agrees
        auto: bool                    # false: never auto, whatever the score
        ambiguity_margin: 0.05        # per-rule override

Money and percentages are quoted decimals (``"0.50"``), never floats. A rule that compares
only amounts, dates and context fields (entity, currency, account) cannot be configured at or
above the auto threshold: amount alone never auto-matches.
"""

from __future__ import annotations

import functools
import hashlib
import math
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
RULES_DIR = Path(__file__).resolve().parents[2] / "contracts" / "rules"
CARDINALITIES = ("1:1", "1:N", "N:1", "N:M")
COMPARES = ("exact", "normalised")
SCORERS = ("levenshtein", "damerau", "ratio", "token_set", "token_sort", "partial", "jaro_winkler")
FUZZY_BLOCKS = ("edits", "tokens", "amount", "keys")
AMOUNT_BASES = ("left", "right", "larger", "smaller")
DIRECTIONS = ("both", "under", "over")
DATE_DIRECTIONS = ("any", "left_after_right", "left_before_right")
# Fields that only narrow the search: equality on them is not evidence that two records belong
# together (two payments in the same entity and currency are not the same payment).
CONTEXT_FIELDS = frozenset(
    {"entity", "currency", "bank_account_id", "account", "direction", "record_type"}
)


class RuleError(ValueError):
    """A rules file that cannot be used; the message names the file and the key."""

    def __init__(self, file: Path | str, key: str, message: str) -> None:
        self.file = str(file)
        self.key = key
        super().__init__(f"{file}: {key}: {message}")


@dataclass(frozen=True)
class KeySpec:
    """Equality between a left and a right field (list fields match on any shared element)."""

    left: str
    right: str
    compare: str = "exact"


@dataclass(frozen=True)
class FuzzySpec:
    """Similarity of two text fields, with the blocking that keeps the pair count bounded."""

    left: str
    right: str
    scorer: str = "levenshtein"
    min_similarity: float = 0.85
    block: str = "edits"
    max_edits: int = 1
    max_token_frequency: int = 50
    weight: float = 0.4


@dataclass(frozen=True)
class ToleranceSpec:
    """A numeric comparison: ``left - right`` within a tolerance of absolute and/or percent.

    The tolerance is ``max`` (either is enough) or ``min`` (both must hold) of ``abs`` and
    ``pct`` percent of the named base. ``direction`` under means left may fall short of right;
    ``partial`` lifts the lower bound (a part payment), so only the right's remainder is open.
    """

    left: str = "amount"
    right: str = "amount"
    tolerance_abs: Decimal = Decimal(0)
    tolerance_pct: Decimal = Decimal(0)
    combine: str = "max"
    base: str = "right"
    direction: str = "both"
    partial: bool = False
    weight: float = 0.05
    label: str = "amount"


@dataclass(frozen=True)
class DateSpec:
    """Lag = left date - right date in days, kept within [min_lag_days, max_lag_days]."""

    left: str = "date"
    right: str = "date"
    min_lag_days: int = -3650
    max_lag_days: int = 3650
    direction: str = "any"
    grace_days: int = 0
    per_day: float = 0.0


@dataclass(frozen=True)
class EvidenceSpec:
    """A 0..1 score column of one side (e.g. how surely the customer was inferred)."""

    side: str
    field: str
    weight: float


@dataclass(frozen=True)
class Caps:
    """Bounds that keep subset-sum and exact assignment cheap; stated in the rules file."""

    max_candidates: int = 12
    min_group_size: int = 2
    max_group_size: int = 4
    max_alternatives: int = 5
    max_component_size: int = 400
    max_set_packing: int = 22


@dataclass(frozen=True)
class Rule:
    id: str
    version: str
    description: str
    cardinality: str
    confidence: float
    left: str = "left"
    right: str = "right"
    left_where: dict[str, Any] = field(default_factory=dict)
    right_where: dict[str, Any] = field(default_factory=dict)
    same: tuple[str, ...] = ()
    keys: tuple[KeySpec, ...] = ()
    fuzzy: FuzzySpec | None = None
    amount: ToleranceSpec | None = None
    checks: tuple[ToleranceSpec, ...] = ()
    date: DateSpec | None = None
    fx: bool = False
    aggregate_left: tuple[str, ...] = ()
    aggregate_right: tuple[str, ...] = ()
    evidence: tuple[EvidenceSpec, ...] = ()
    caps: Caps = field(default_factory=Caps)
    auto: bool = True
    ambiguity_margin: float | None = None
    index: int = 0

    @property
    def identifying(self) -> bool:
        """True when the rule compares something beyond amount, date and context fields."""
        keyed = any(
            k.left not in CONTEXT_FIELDS or k.right not in CONTEXT_FIELDS for k in self.keys
        )
        aggregated = any(
            f not in CONTEXT_FIELDS for f in self.aggregate_left + self.aggregate_right
        )
        return keyed or aggregated or self.fuzzy is not None or bool(self.evidence)

    @property
    def can_auto(self) -> bool:
        """Amount alone (plus dates and context) never auto-matches, whatever the YAML says."""
        return self.auto and self.identifying

    @property
    def leg(self) -> tuple[str, str]:
        return (self.left, self.right)


@dataclass(frozen=True)
class RuleSet:
    path: Path
    workflow: str
    version: str
    auto_threshold: float
    suggest_threshold: float
    ambiguity_margin: float
    require_all_legs: bool
    caps: Caps
    references: dict[str, Any]
    inputs: dict[str, Any]
    rules: tuple[Rule, ...]
    content_hash: str

    @property
    def full_version(self) -> str:
        """The declared version plus a content hash, so an edit without a bump is visible."""
        return f"{self.version}+{self.content_hash[:8]}"


def default_rules_path(workflow: str) -> Path:
    return RULES_DIR / f"{workflow}.yaml"


class _Reader:
    """Typed access to one YAML mapping that reports the key path on any error."""

    def __init__(self, file: Path, key: str, data: Any, allowed: set[str]) -> None:
        if not isinstance(data, dict):
            raise RuleError(file, key or "(top)", f"expected a mapping, got {type(data).__name__}")
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise RuleError(
                file, _join(key, unknown[0]), f"unknown key (allowed: {sorted(allowed)})"
            )
        self.file, self.key, self.data = file, key, data

    def path(self, name: str) -> str:
        return _join(self.key, name)

    def fail(self, name: str, message: str) -> RuleError:
        return RuleError(self.file, self.path(name), message)

    def has(self, name: str) -> bool:
        return name in self.data and self.data[name] is not None

    def str(self, name: str, default: str | None = None, choices: tuple[str, ...] = ()) -> str:
        if name not in self.data or self.data[name] is None:
            if default is None:
                raise self.fail(name, "required")
            return default
        value = self.data[name]
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            raise self.fail(name, f"expected text, got {value!r}")
        text = str(value)
        if choices and text not in choices:
            raise self.fail(name, f"{text!r} is not one of {list(choices)}")
        return text

    def num(
        self, name: str, default: float | None = None, lo: float = -math.inf, hi: float = math.inf
    ) -> float:
        if name not in self.data or self.data[name] is None:
            if default is None:
                raise self.fail(name, "required")
            return default
        value = self.data[name]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(name, f"expected a number, got {value!r}")
        if not lo <= float(value) <= hi:
            raise self.fail(name, f"{value} is outside [{lo}, {hi}]")
        return float(value)

    def int(self, name: str, default: int, lo: int = -(10**9), hi: int = 10**9) -> int:
        value = self.data.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(name, f"expected a whole number, got {value!r}")
        if not lo <= value <= hi:
            raise self.fail(name, f"{value} is outside [{lo}, {hi}]")
        return value

    def dec(self, name: str, default: Decimal) -> Decimal:
        if name not in self.data or self.data[name] is None:
            return default
        value = self.data[name]
        if isinstance(value, float):
            raise self.fail(name, "write money and percentages as quoted decimals, e.g. '0.50'")
        try:
            out = Decimal(str(value))
        except InvalidOperation as exc:
            raise self.fail(name, f"not a decimal: {value!r}") from exc
        if not out.is_finite() or out < 0:
            raise self.fail(name, f"must be a finite decimal >= 0, got {value!r}")
        return out

    def bool(self, name: str, default: bool) -> bool:
        value = self.data.get(name, default)
        if not isinstance(value, bool):
            raise self.fail(name, f"expected true or false, got {value!r}")
        return value

    def names(self, name: str) -> tuple[str, ...]:
        value = self.data.get(name) or []
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise self.fail(name, f"expected a list of field names, got {value!r}")
        return tuple(value)

    def mapping(self, name: str) -> dict[str, Any]:
        value = self.data.get(name) or {}
        if not isinstance(value, dict):
            raise self.fail(name, f"expected a mapping, got {value!r}")
        return value

    def sub(self, name: str, allowed: set[str]) -> _Reader:
        return _Reader(self.file, self.path(name), self.data[name], allowed)


def _join(key: str, name: str) -> str:
    return f"{key}.{name}" if key else name


def load_rules(path: Path | str) -> RuleSet:
    """Read and validate one workflow's rules file."""
    path = Path(path)
    try:
        raw_bytes = path.read_bytes()
    except OSError as exc:
        raise RuleError(path, "(file)", f"cannot read: {exc}") from exc
    return _parse(path, raw_bytes)


@functools.lru_cache(maxsize=64)
def _parse(path: Path, raw_bytes: bytes) -> RuleSet:
    """Validated rules of one file's bytes (cached: runs reuse an unchanged file)."""
    try:
        data = yaml.load(raw_bytes, Loader=_LOADER)
    except yaml.YAMLError as exc:
        raise RuleError(path, "(file)", f"not valid YAML: {exc}") from exc
    top = _Reader(
        path,
        "",
        data,
        {
            "workflow",
            "version",
            "description",
            "auto_threshold",
            "suggest_threshold",
            "ambiguity_margin",
            "require_all_legs",
            "caps",
            "references",
            "inputs",
            "rules",
        },
    )
    from contracts.recon import WORKFLOWS

    workflow = top.str("workflow", choices=tuple(WORKFLOWS))
    version = top.str("version")
    auto = top.num("auto_threshold", lo=0.0, hi=1.0)
    suggest = top.num("suggest_threshold", lo=0.0, hi=1.0)
    if suggest > auto:
        raise top.fail("suggest_threshold", f"{suggest} is above auto_threshold {auto}")
    margin = top.num("ambiguity_margin", 0.0, lo=0.0, hi=0.5)
    caps = _caps(top, "caps", Caps()) if top.has("caps") else Caps()
    references = top.mapping("references")
    for i, pattern in enumerate(references.get("patterns") or []):
        _regex(path, f"references.patterns[{i}]", pattern)
    inputs = top.mapping("inputs")
    for key, value in inputs.items():
        if key.endswith("_pattern") and value is not None:
            _regex(path, f"inputs.{key}", value)
    raw_rules = data.get("rules")
    if not isinstance(raw_rules, list) or not raw_rules:
        raise top.fail("rules", "expected a non-empty list of rules")
    rules: list[Rule] = []
    seen: set[str] = set()
    for i, raw in enumerate(raw_rules):
        rule = _rule(path, f"rules[{i}]", raw, version, caps, i)
        if rule.id in seen:
            raise RuleError(path, f"rules[{i}].id", f"duplicate rule id {rule.id!r}")
        seen.add(rule.id)
        if rule.confidence >= auto and rule.auto and not rule.identifying:
            raise RuleError(
                path,
                f"rules[{i}].confidence",
                f"rule {rule.id!r} compares only amount, dates and context fields; its "
                f"confidence {rule.confidence} must stay below auto_threshold {auto} "
                "(amount alone never auto-matches) or set auto: false",
            )
        rules.append(rule)
    return RuleSet(
        path=path,
        workflow=workflow,
        version=version,
        auto_threshold=auto,
        suggest_threshold=suggest,
        ambiguity_margin=margin,
        require_all_legs=top.bool("require_all_legs", False),
        caps=caps,
        references=references,
        inputs=inputs,
        rules=tuple(rules),
        content_hash=hashlib.sha256(raw_bytes).hexdigest(),
    )


def _regex(path: Path, key: str, pattern: Any) -> None:
    if not isinstance(pattern, str):
        raise RuleError(path, key, f"expected a regular expression, got {pattern!r}")
    try:
        re.compile(pattern)
    except re.error as exc:
        raise RuleError(path, key, f"invalid regular expression: {exc}") from exc


def _caps(parent: _Reader, name: str, base: Caps) -> Caps:
    r = parent.sub(name, set(Caps.__dataclass_fields__))
    caps = Caps(
        max_candidates=r.int("max_candidates", base.max_candidates, 1, 24),
        min_group_size=r.int("min_group_size", base.min_group_size, 1, 12),
        max_group_size=r.int("max_group_size", base.max_group_size, 1, 12),
        max_alternatives=r.int("max_alternatives", base.max_alternatives, 1, 100),
        max_component_size=r.int("max_component_size", base.max_component_size, 2, 5000),
        max_set_packing=r.int("max_set_packing", base.max_set_packing, 1, 40),
    )
    if caps.min_group_size > caps.max_group_size:
        raise r.fail("min_group_size", "is above max_group_size")
    combos = sum(
        math.comb(caps.max_candidates, k)
        for k in range(caps.min_group_size, min(caps.max_group_size, caps.max_candidates) + 1)
    )
    if combos > 200_000:
        raise r.fail(
            "max_group_size",
            f"{combos} subsets per record to try; lower max_candidates or max_group_size",
        )
    return caps


def _tolerance(parent: _Reader, name: str, *, default_field: str) -> ToleranceSpec:
    allowed = set(ToleranceSpec.__dataclass_fields__)
    r = parent.sub(name, allowed)
    return ToleranceSpec(
        left=r.str("left", default_field),
        right=r.str("right", default_field),
        tolerance_abs=r.dec("tolerance_abs", Decimal(0)),
        tolerance_pct=r.dec("tolerance_pct", Decimal(0)),
        combine=r.str("combine", "max", ("max", "min")),
        base=r.str("base", "right", AMOUNT_BASES),
        direction=r.str("direction", "both", DIRECTIONS),
        partial=r.bool("partial", False),
        weight=r.num("weight", 0.05, 0.0, 1.0),
        label=r.str("label", default_field),
    )


def _rule(path: Path, key: str, raw: Any, set_version: str, caps: Caps, index: int) -> Rule:
    r = _Reader(
        path,
        key,
        raw,
        {
            "id",
            "version",
            "description",
            "cardinality",
            "confidence",
            "left",
            "right",
            "left_where",
            "right_where",
            "same",
            "keys",
            "fuzzy",
            "amount",
            "checks",
            "date",
            "fx",
            "aggregate",
            "evidence",
            "caps",
            "auto",
            "ambiguity_margin",
        },
    )
    rule_id = r.str("id")
    if not re.fullmatch(r"[a-z][a-z0-9_]*", rule_id):
        raise r.fail("id", f"{rule_id!r} must be lower_snake_case")
    cardinality = r.str("cardinality", "1:1", CARDINALITIES)
    keys = []
    raw_keys = r.data.get("keys") or []
    if not isinstance(raw_keys, list):
        raise r.fail("keys", "expected a list")
    for i, raw_key in enumerate(raw_keys):
        kr = _Reader(path, r.path(f"keys[{i}]"), raw_key, {"left", "right", "field", "compare"})
        if kr.has("field"):
            left = right = kr.str("field")
        else:
            left, right = kr.str("left"), kr.str("right")
        keys.append(KeySpec(left, right, kr.str("compare", "exact", COMPARES)))
    fuzzy = None
    if r.has("fuzzy"):
        fr = r.sub("fuzzy", set(FuzzySpec.__dataclass_fields__))
        fuzzy = FuzzySpec(
            left=fr.str("left"),
            right=fr.str("right"),
            scorer=fr.str("scorer", "levenshtein", SCORERS),
            min_similarity=fr.num("min_similarity", 0.85, 0.0, 1.0),
            block=fr.str("block", "edits", FUZZY_BLOCKS),
            max_edits=fr.int("max_edits", 1, 1, 2),
            max_token_frequency=fr.int("max_token_frequency", 50, 1, 100_000),
            weight=fr.num("weight", 0.4, 0.0, 1.0),
        )
    amount = _tolerance(r, "amount", default_field="amount") if r.has("amount") else None
    checks = []
    raw_checks = r.data.get("checks") or []
    if not isinstance(raw_checks, list):
        raise r.fail("checks", "expected a list")
    for i, raw_check in enumerate(raw_checks):
        holder = _Reader(path, key, {f"checks[{i}]": raw_check}, {f"checks[{i}]"})
        spec = _tolerance(holder, f"checks[{i}]", default_field="amount")
        if spec.left == "amount" and spec.right == "amount":
            raise holder.fail(f"checks[{i}]", "name the compared fields (left, right)")
        checks.append(spec)
    date = None
    if r.has("date"):
        dr = r.sub("date", set(DateSpec.__dataclass_fields__))
        date = DateSpec(
            left=dr.str("left", "date"),
            right=dr.str("right", "date"),
            min_lag_days=dr.int("min_lag_days", -3650),
            max_lag_days=dr.int("max_lag_days", 3650),
            direction=dr.str("direction", "any", DATE_DIRECTIONS),
            grace_days=dr.int("grace_days", 0, 0, 3650),
            per_day=dr.num("per_day", 0.0, 0.0, 1.0),
        )
        if date.min_lag_days > date.max_lag_days:
            raise dr.fail("min_lag_days", "is above max_lag_days")
    agg_left: tuple[str, ...] = ()
    agg_right: tuple[str, ...] = ()
    if r.has("aggregate"):
        ar = r.sub("aggregate", {"left", "right"})
        agg_left, agg_right = ar.names("left"), ar.names("right")
    evidence = []
    for i, raw_ev in enumerate(r.data.get("evidence") or []):
        er = _Reader(path, r.path(f"evidence[{i}]"), raw_ev, {"side", "field", "weight"})
        evidence.append(
            EvidenceSpec(
                side=er.str("side", choices=("left", "right")),
                field=er.str("field"),
                weight=er.num("weight", 0.3, 0.0, 1.0),
            )
        )
    rule = Rule(
        id=rule_id,
        version=r.str("version", set_version),
        description=r.str("description", rule_id),
        cardinality=cardinality,
        confidence=r.num("confidence", lo=0.0, hi=1.0),
        left=r.str("left", "left"),
        right=r.str("right", "right"),
        left_where=_where(r, "left_where"),
        right_where=_where(r, "right_where"),
        same=r.names("same"),
        keys=tuple(keys),
        fuzzy=fuzzy,
        amount=amount,
        checks=tuple(checks),
        date=date,
        fx=r.bool("fx", False),
        aggregate_left=agg_left,
        aggregate_right=agg_right,
        evidence=tuple(evidence),
        caps=_caps(r, "caps", caps) if r.has("caps") else caps,
        auto=r.bool("auto", True),
        ambiguity_margin=r.num("ambiguity_margin", 0.0, 0.0, 0.5)
        if r.has("ambiguity_margin")
        else None,
        index=index,
    )
    _check_shape(r, rule)
    return rule


def _where(r: _Reader, name: str) -> dict[str, Any]:
    where = r.mapping(name)
    for key, value in where.items():
        ok = value is None or isinstance(value, str | bool | int)
        ok = ok or (isinstance(value, list) and all(isinstance(v, str | int) for v in value))
        if not ok:
            raise r.fail(f"{name}.{key}", f"expected a value or a list of values, got {value!r}")
    return where


def _check_shape(r: _Reader, rule: Rule) -> None:
    """Reject combinations the engine cannot run boundedly or explain."""
    one_to_one = rule.cardinality == "1:1"
    aggregated = bool(rule.aggregate_left or rule.aggregate_right)
    if one_to_one and aggregated:
        raise r.fail("aggregate", "a 1:1 rule cannot aggregate")
    if rule.cardinality == "N:M" and not aggregated:
        raise r.fail("aggregate", "an N:M rule needs aggregate keys")
    if aggregated and (
        not rule.aggregate_left or len(rule.aggregate_left) != len(rule.aggregate_right)
    ):
        raise r.fail("aggregate", "left and right need the same number of keys, paired in order")
    if aggregated and (rule.keys or rule.fuzzy):
        raise r.fail("aggregate", "an aggregate rule joins on its aggregate keys only")
    if aggregated and "currency" not in rule.same:
        raise r.fail("same", "an aggregate rule sums amounts, so it needs currency in same")
    if not one_to_one and not aggregated and rule.checks:
        raise r.fail("checks", "a subset-sum rule compares amounts only")
    if rule.fx and not one_to_one:
        raise r.fail("fx", "currency conversion is supported on 1:1 rules only")
    if rule.fx and not (rule.keys or (rule.fuzzy and rule.fuzzy.block != "amount")):
        raise r.fail("fx", "an fx rule needs keys or fuzzy blocking other than amount")
    if rule.fx and "currency" in rule.same:
        raise r.fail("fx", "fx: true compares across currencies; drop currency from same")
    if rule.amount is None and not (rule.keys or rule.fuzzy or aggregated):
        raise r.fail("amount", "a rule with no keys, fuzzy or aggregate needs an amount check")
    if rule.amount is not None and rule.amount.partial and not one_to_one:
        raise r.fail("amount.partial", "partial application is supported on 1:1 rules only")
    blocked = rule.keys or (rule.fuzzy and rule.fuzzy.block != "amount")
    if not one_to_one and not aggregated and not blocked:
        raise r.fail(
            "keys", "a 1:N or N:1 subset-sum rule needs keys or fuzzy blocking other than amount"
        )
    if not one_to_one and not aggregated and rule.amount is None:
        raise r.fail("amount", "a subset-sum rule needs an amount tolerance")
    if one_to_one and not blocked and rule.amount is not None and rule.amount.partial:
        raise r.fail("amount.partial", "a partial amount cannot block candidates; add keys")
    if rule.fuzzy and rule.fuzzy.block == "amount" and rule.amount is None:
        raise r.fail("fuzzy.block", "block: amount needs an amount check")
    if (
        rule.amount is not None
        and rule.fuzzy
        and rule.fuzzy.block == "amount"
        and (rule.amount.partial)
    ):
        raise r.fail("fuzzy.block", "block: amount cannot be used with a partial amount")
