"""The claims of each chapter: declared in ``chapters/claims/<chapter>.yml``, stated in the
chapter's prose, evaluated on its executed notebook.

A declaration file holds a list ``claims``; each claim has

- ``id``: a short name (lowercase, digits, hyphens), unique in its chapter; the prose marks the
  place that makes the claim with ``<a id="claim-ID"></a>`` right before ``sentence``;
- ``sentence``: the sentence as the chapter states it (MyST, glue roles included);
- ``source``: ``book`` (the book's own claim) or ``{key: <references.bib key>, where: "§3"}``,
  optionally with ``value``, the number the source reports;
- ``effect`` and ``control``: what was measured and what its control or null model gave, each a
  Python expression over the chapter's glued values, or a mapping ``label: expression``;
  ``control`` may be ``null`` where the claim is a bound rather than a comparison;
- ``holds``: an expression, or a list of them, that must all be true; ``effect`` and ``control``
  are bound to their values, every glued value to its name;
- ``states`` (optional): the glued word or phrase the prose uses for the verdict.

Expressions see the glued values and a few builtins (:data:`BUILTINS`), nothing else.
"""

from __future__ import annotations

import ast
import math
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat
import yaml

BUILTINS = {
    "abs": abs,
    "all": all,
    "any": any,
    "bool": bool,
    "isclose": math.isclose,
    "len": len,
    "max": max,
    "min": min,
    "round": round,
    "sorted": sorted,
    "sum": sum,
}
KEYS = {"id", "sentence", "source", "effect", "control", "holds", "states"}
ID = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
GLUE_ROLE = re.compile(r"\{glue:text\}`([A-Za-z0-9_]+)(?::([^`]*))?`")
SPACE = re.compile(r"\s+")

Expression = str | dict[str, str]


@dataclass(frozen=True)
class Claim:
    chapter: str
    id: str
    sentence: str
    source: dict[str, str] | None  # None: the book's own claim
    effect: Expression
    control: Expression | None
    holds: tuple[str, ...]
    states: Expression | None = None

    @property
    def anchor(self) -> str:
        return f"claim-{self.id}"

    def expressions(self) -> list[str]:
        return [
            *_expressions(self.effect),
            *_expressions(self.control),
            *self.holds,
            *_expressions(self.states),
        ]


@dataclass(frozen=True)
class Outcome:
    """A claim evaluated on one set of glued values: ``verdict`` is holds, fails or error."""

    claim: Claim
    verdict: str
    effect: object = None
    control: object = None
    states: object = None
    failed: tuple[str, ...] = ()
    error: str = ""

    def describe(self) -> str:
        if self.verdict == "error":
            return f"{self.claim.chapter}:{self.claim.id}: {self.error}"
        return (
            f"{self.claim.chapter}:{self.claim.id} {self.verdict}: effect {self.effect!r}, "
            f"control {self.control!r}" + "".join(f"\n  false: {e}" for e in self.failed)
        )


def _expressions(value: Expression | None) -> list[str]:
    if value is None:
        return []
    return list(value.values()) if isinstance(value, dict) else [value]


def declarations_file(root: Path, chapter: str) -> Path:
    return root / "chapters" / "claims" / f"{chapter}.yml"


def _fail(path: Path, where: str, message: str) -> None:
    raise ValueError(f"{path}: {where}: {message}")


def _literal(value: object) -> object:
    """A YAML number read as the expression that writes it."""
    return repr(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


def _expression(path: Path, where: str, value: object, mapping: bool = True) -> Expression:
    """A valid expression (or mapping of them), else ValueError naming file and field."""
    if isinstance(value, dict) and mapping:
        value = {label: _literal(text) for label, text in value.items()}
    else:
        value = _literal(value)
    items = value.items() if isinstance(value, dict) and mapping else [(None, value)]
    for label, text in items:
        if not isinstance(text, str) or not text.strip():
            _fail(path, where, f"expected an expression, got {text!r}")
        try:
            ast.parse(text, mode="eval")
        except SyntaxError as error:
            _fail(path, where, f"{text!r} is not a Python expression ({error.msg})")
        if label is not None and not isinstance(label, str):
            _fail(path, where, f"labels are strings, got {label!r}")
    return dict(value) if isinstance(value, dict) else value


def _source(path: Path, where: str, value: object) -> dict[str, str] | None:
    if value == "book":
        return None
    if not isinstance(value, dict) or not isinstance(value.get("key"), str):
        _fail(path, where, f"source is `book` or {{key: <bib key>, where: ...}}, got {value!r}")
    unknown = set(value) - {"key", "where", "value"}
    if unknown:
        _fail(path, where, f"unknown source fields {sorted(unknown)}; allowed: key, where, value")
    return {k: str(v) for k, v in value.items()}


def _claim(path: Path, chapter: str, entry: object) -> Claim:
    if not isinstance(entry, dict):
        _fail(path, "claims", f"each claim is a mapping, got {entry!r}")
    where = f"claim {entry.get('id')!r}"
    missing = {"id", "sentence", "source", "effect", "holds"} - set(entry)
    unknown = set(entry) - KEYS
    if missing or unknown:
        _fail(path, where, f"missing {sorted(missing)}, unknown {sorted(unknown)}")
    if not isinstance(entry["id"], str) or not ID.fullmatch(entry["id"]):
        _fail(path, where, "id is lowercase words joined by hyphens")
    if not isinstance(entry["sentence"], str) or not entry["sentence"].strip():
        _fail(path, where, "sentence is the text the chapter states")
    holds = entry["holds"] if isinstance(entry["holds"], list) else [entry["holds"]]
    control = entry.get("control")
    return Claim(
        chapter=chapter,
        id=entry["id"],
        sentence=SPACE.sub(" ", entry["sentence"]).strip(),
        source=_source(path, where, entry["source"]),
        effect=_expression(path, where, entry["effect"]),
        control=None if control is None else _expression(path, where, control),
        holds=tuple(_expression(path, where, h, mapping=False) for h in holds),
        states=None if entry.get("states") is None else _expression(path, where, entry["states"]),
    )


def load(root: Path, chapter: str) -> list[Claim]:
    """The chapter's declared claims (an empty list if it declares none); ValueError naming the
    file and the claim if a declaration is malformed or an id repeats."""
    path = declarations_file(root, chapter)
    if not path.exists():
        return []
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        raise ValueError(f"{path}: not valid YAML: {error}") from error
    if not isinstance(data, dict) or not isinstance(data.get("claims"), list):
        _fail(path, "top level", "expected a mapping with a list `claims`")
    claims = [_claim(path, chapter, entry) for entry in data["claims"]]
    ids = [c.id for c in claims]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        _fail(path, "claims", f"ids repeat: {repeated}")
    return claims


def names(claim: Claim) -> set[str]:
    """The glued values a claim's expressions read (not the names they bind themselves)."""
    used, bound = set(), {"effect", "control", *BUILTINS}
    for text in claim.expressions():
        for node in ast.walk(ast.parse(text, mode="eval")):
            if isinstance(node, ast.Name):
                (bound if isinstance(node.ctx, ast.Store) else used).add(node.id)
    return used - bound


def _value(expression: Expression | None, scope: dict) -> object:
    if expression is None:
        return None
    if isinstance(expression, dict):
        return {label: eval(text, scope) for label, text in expression.items()}  # noqa: S307
    return eval(expression, scope)  # noqa: S307


def evaluate(claim: Claim, glued: dict[str, object]) -> Outcome:
    """The claim evaluated on a chapter's glued values."""
    missing = sorted(names(claim) - set(glued))
    if missing:
        return Outcome(claim, "error", error=f"no glued value named {missing}")
    scope = {"__builtins__": BUILTINS, **glued}
    try:
        scope["effect"] = effect = _value(claim.effect, scope)
        scope["control"] = control = _value(claim.control, scope)
        failed = tuple(h for h in claim.holds if not eval(h, scope))  # noqa: S307
        states = _value(claim.states, scope)
    except Exception as error:  # noqa: BLE001 - any failure of an expression is reported
        return Outcome(claim, "error", error=f"{type(error).__name__}: {error}")
    verdict = "fails" if failed else "holds"
    return Outcome(claim, verdict, effect, control, states, failed)


def what_we_learned(markdown: str) -> str:
    """The text of the chapter's "What we learned" section."""
    section = markdown.split("## What we learned", 1)[1:]
    return re.split(r"^## ", section[0], maxsplit=1, flags=re.M)[0] if section else ""


def cited(markdown: str) -> set[str]:
    """The glued values the Markdown cites with ``{glue:text}`` roles."""
    return {name for name, _ in GLUE_ROLE.findall(markdown)}


def stated(claim: Claim, markdown: str) -> bool:
    """Whether the chapter's Markdown marks the claim's place and states its sentence there."""
    text = SPACE.sub(" ", markdown)
    return f'<a id="{claim.anchor}"></a>{claim.sentence}' in text.replace("</a> ", "</a>")


def anchors(markdown: str) -> list[str]:
    """The claim ids the Markdown marks."""
    return re.findall(r'<a id="claim-([a-z0-9-]+)"></a>', markdown)


def markdown_of(notebook: nbformat.NotebookNode) -> str:
    return "\n\n".join(c.source for c in notebook.cells if c.cell_type == "markdown")


def _name_pattern(node: ast.expr) -> str:
    """A regex for the names a string or f-string can take (its fields match identifier parts)."""
    if isinstance(node, ast.Constant):
        return re.escape(node.value)
    return "".join(
        re.escape(v.value) if isinstance(v, ast.Constant) else "[a-z0-9_]+" for v in node.values
    )


def glued_name_patterns(notebook: nbformat.NotebookNode) -> list[str]:
    """Regexes of the names the notebook's code glues: ``glue("name", ...)``, ``glue(f"...")``
    (an f-string's fields match any identifier part) and ``glue_all(prefix, key=...)``."""
    code = "\n".join(c.source for c in notebook.cells if c.cell_type == "code")
    patterns = []
    for call in ast.walk(ast.parse(code)):
        if not (isinstance(call, ast.Call) and call.args):
            continue
        function = getattr(call.func, "id", None)
        if function == "glue" and isinstance(call.args[0], ast.Constant | ast.JoinedStr):
            patterns.append(_name_pattern(call.args[0]))
        elif function == "glue_all":
            prefix = _name_pattern(call.args[0])
            patterns += [f"{prefix}_{keyword.arg}" for keyword in call.keywords]
    return patterns


def problems(root: Path, chapter: str, notebook: nbformat.NotebookNode) -> list[str]:
    """What ties the chapter's prose and its declarations together, and is broken: a claim not
    stated where its anchor is, an anchor without a declaration, a value cited in "What we
    learned" that no claim reads, a name no code cell glues."""
    declared = load(root, chapter)
    markdown = markdown_of(notebook)
    out = [
        f'claim {c.id!r}: the chapter has no `<a id="{c.anchor}"></a>` followed by its sentence'
        for c in declared
        if not stated(c, markdown)
    ]
    marked = anchors(markdown)
    out += [
        f"anchor claim-{a} has no declaration" for a in marked if a not in {c.id for c in declared}
    ]
    out += [
        f"anchor claim-{a} appears more than once"
        for a in sorted(set(marked))
        if marked.count(a) > 1
    ]
    read = set().union(*(names(c) for c in declared)) if declared else set()
    summary = cited(what_we_learned(markdown))
    out += [f"'What we learned' cites {n}, which no claim reads" for n in sorted(summary - read)]
    patterns = glued_name_patterns(notebook)
    out += [
        f"claim {c.id!r} reads {n}, which the chapter never glues"
        for c in declared
        for n in sorted(names(c))
        if not any(re.fullmatch(p, n) for p in patterns)
    ]
    return out


def main(argv: list[str] | None = None) -> int:
    """``python -m deepinside.book.claims [CHAPTER ...] [--glued dump.json]``: each declared
    claim evaluated on the staged chapters (or a ``glued dump``), and what is broken between
    the declarations and the prose. Exit status 1 if a claim does not hold or anything is."""
    import argparse
    import json

    import jupytext

    from .fingerprints import stage
    from .glued import glued_values
    from .toc import add_root_argument, toc_chapters

    cli = argparse.ArgumentParser(description=main.__doc__.split(":")[0])
    add_root_argument(cli)
    cli.add_argument("chapters", nargs="*", help="default: every chapter of _toc.yml")
    cli.add_argument("--glued", type=Path, help="a dump of `python -m deepinside.book.glued`")
    args = cli.parse_args(argv)
    root = args.root.resolve()
    dump = json.loads(args.glued.read_text()) if args.glued else None
    bad = 0
    for chapter in args.chapters or toc_chapters(root):
        if dump is not None:
            glued = dump.get(chapter, {})
        else:
            path = stage(root) / "chapters" / f"{chapter}.ipynb"
            glued = glued_values(nbformat.read(path, as_version=4)) if path.exists() else {}
        source = jupytext.read(root / "chapters" / f"{chapter}.py")
        for line in problems(root, chapter, source):
            print(f"{chapter}: {line}")
            bad += 1
        for claim in load(root, chapter):
            outcome = evaluate(claim, glued)
            bad += outcome.verdict != "holds"
            print(
                outcome.describe() if outcome.verdict != "holds" else f"{chapter}:{claim.id} holds"
            )
    return 1 if bad else 0


if __name__ == "__main__":
    import sys

    sys.exit(main())
