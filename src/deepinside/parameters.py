"""The chapters' parameters ("knobs"): one declaration of each, and the checks of their values.

A chapter's ``parameters`` cell sets the knobs it has to their defaults, and papermill may
override them. :data:`KNOBS` declares every knob of every chapter: its type, its allowed values,
and whether ``None`` is allowed (it then means "the profile's value"). :func:`check` rejects a
wrong value with a ``TypeError`` or ``ValueError`` naming the knob and what it allows.
:func:`deepinside.runtime.start` checks a chapter's profile, seed, device and overrides this way,
:func:`deepinside.runtime.check_knobs` the knobs a chapter uses directly, and the book's build
every ``--param`` before it executes anything. :func:`table` writes the knob tables of the book's
running page.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from numbers import Integral

PROFILES = ("quick", "full")
DEVICES = ("auto", "cpu", "cuda", "mps")
PROFILE_VALUE = "None (the profile's value)"


@dataclass(frozen=True)
class Knob:
    """A chapter parameter: one of ``choices`` (strings) if given, else an integer from
    ``minimum`` to ``maximum`` (either may be open); ``None`` too if ``optional``."""

    name: str
    meaning: str
    choices: tuple[str, ...] = ()
    minimum: int | None = None
    maximum: int | None = None
    optional: bool = False

    def allowed(self, code: bool = False) -> str:
        """What the knob allows, in words; literal values in Markdown code with ``code``."""
        quote = (lambda text: f"`{text}`") if code else (lambda text: text)
        if self.choices:
            text = "one of " + ", ".join(quote(f'"{c}"') for c in self.choices)
        elif self.maximum is not None:
            text = f"an integer from {self.minimum} to {self.maximum}"
        elif self.minimum in (0, 1):
            text = "a " + ("positive" if self.minimum else "non-negative") + " integer"
        elif self.minimum is not None:
            text = f"an integer of at least {self.minimum}"
        else:
            text = "an integer"
        return text + (f" or {quote('None')} (the profile's value)" if self.optional else "")

    def check(self, value: object) -> object:
        """``value`` if the knob allows it; else a ``TypeError`` (wrong type) or ``ValueError``
        (out of range) saying what it allows."""
        if value is None and self.optional:
            return value
        message = f"{self.name} must be {self.allowed()}, got {value!r} ({type(value).__name__})"
        if self.choices:
            if not isinstance(value, str):
                raise TypeError(message)
            if value not in self.choices:
                raise ValueError(message)
            return value
        if not isinstance(value, Integral) or isinstance(value, bool):
            raise TypeError(message)
        too_small = self.minimum is not None and value < self.minimum
        if too_small or (self.maximum is not None and value > self.maximum):
            raise ValueError(message)
        return value


KNOBS: dict[str, Knob] = {
    knob.name: knob
    for knob in (
        Knob("PROFILE", "the data and scale of a run: `quick` on a CPU, `full` those of the "
             "papers (meant for a GPU)", choices=PROFILES),
        Knob("SEED", "seed of initializations, data order and every random draw: same seed, "
             "same numbers", minimum=0, maximum=2**32 - 1),
        Knob("DEVICE", "where tensors live; `auto` prefers a GPU", choices=DEVICES),
        Knob("EPOCHS", "training epochs", minimum=1, optional=True),
        Knob("TOP", "how many leading eigenvectors the comparison maps show", minimum=1),
        Knob("SAMPLES", "generated networks per architecture and reference network", minimum=2),
        Knob("REFERENCES", "reference networks per architecture", minimum=2),
        Knob("AGOP_IMAGES", "training images the AGOPs average over", minimum=1, optional=True),
        Knob("ITERATIONS", "ConvRFM iterations after the fixed kernel", minimum=1, optional=True),
        Knob("STEPS", "gradient-descent steps per inversion", minimum=2, optional=True),
    )
}  # fmt: skip


def knob(name: str) -> Knob:
    """The declaration of the knob ``name``; a ``ValueError`` listing the declared ones if none."""
    if name not in KNOBS:
        raise ValueError(
            f"{name} is not a declared chapter parameter (deepinside.parameters.KNOBS); "
            f"declared: {', '.join(KNOBS)}"
        )
    return KNOBS[name]


def check(name: str, value: object) -> object:
    """``value`` if the knob ``name`` allows it, else a ``TypeError`` or ``ValueError`` naming
    the knob and what it allows (see :meth:`Knob.check`)."""
    return knob(name).check(value)


def check_all(values: Mapping[str, object]) -> None:
    """Check every ``{NAME: value}`` of ``values`` (see :func:`check`)."""
    for name, value in values.items():
        check(name, value)


def _literal(value: object) -> str:
    """A default as the parameters cell writes it, in Markdown code."""
    return f'`"{value}"`' if isinstance(value, str) else f"`{value!r}`"


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"


def _shared(defaults: Mapping[str, Mapping[str, object]]) -> list[str]:
    """The knobs every chapter of ``defaults`` has, with the same default, in declared order."""
    first, *others = defaults.values()
    return [
        name
        for name in KNOBS
        if name in first and all(name in o and o[name] == first[name] for o in others)
    ]


def table(
    defaults: Mapping[str, Mapping[str, object]], comments: Mapping[str, Mapping[str, str]]
) -> str:
    """Markdown tables of the knobs of ``defaults``, ``{chapter: {NAME: default}}`` (the
    chapters' parameters cells, described by their ``comments``, ``{chapter: {NAME: text}}``):
    first those every chapter has with the same default, then each chapter's others. A knob
    missing from :data:`KNOBS`, or a default it does not allow, is a ``ValueError``."""
    if not defaults:
        raise ValueError("no chapters: there is no parameter to list")
    for chapter, values in defaults.items():
        try:
            check_all(values)
        except (TypeError, ValueError) as error:
            raise ValueError(f"parameters cell of {chapter}: {error}") from error
    shared = _shared(defaults)
    first = next(iter(defaults.values()))
    common = [
        _row([f"`{n}`", KNOBS[n].allowed(code=True), _literal(first[n]), KNOBS[n].meaning])
        for n in shared
    ]
    others = [
        _row(
            [
                f"`{chapter}`",
                f"`{name}`",
                KNOBS[name].allowed(code=True),
                _literal(value),
                comments.get(chapter, {}).get(name) or KNOBS[name].meaning,
            ]
        )
        for chapter, values in defaults.items()
        for name, value in values.items()
        if name not in shared
    ]
    tables = []
    if common:
        tables.append([_row(["parameter", "values", "default", "meaning"]), _row(["---"] * 4)])
        tables[-1] += common
    if others:
        tables.append([_row(["chapter", "parameter", "values", "default", "meaning"])])
        tables[-1] += [_row(["---"] * 5), *others]
    return "\n\n".join("\n".join(t) for t in tables) + "\n"
