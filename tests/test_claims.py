"""The claims ledger: one test per declared claim, evaluated on its executed chapter; the ties
between declarations and prose; the record of several seeds."""

import functools

import pytest

from conftest import CHAPTERS, ROOT, glued
from deepinside.book import claims, record
from deepinside.book.fingerprints import chapter_notebook

DECLARED = [claim for chapter in CHAPTERS for claim in claims.load(ROOT, chapter)]
RECORD = record.read_record(ROOT, "quick")


@functools.cache
def recorded(chapter):
    """The chapter's seeds recorded from its present inputs, ``{seed: entry}``."""
    return record.current_entries(ROOT, chapter, RECORD)[0]


@pytest.mark.chapters
@pytest.mark.parametrize("claim", DECLARED, ids=lambda c: f"{c.chapter}:{c.id}")
def test_claim(claim):
    outcome = claims.evaluate(claim, glued(claim.chapter))
    assert outcome.verdict == "holds", outcome.describe()


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_claims_are_declared_and_stated_where_the_chapter_makes_them(chapter):
    assert claims.load(ROOT, chapter), f"declare its claims in chapters/claims/{chapter}.yml"
    problems = claims.problems(ROOT, chapter, chapter_notebook(ROOT, chapter))
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("claim", DECLARED, ids=lambda c: f"{c.chapter}:{c.id}")
def test_claim_holds_in_every_recorded_seed(claim):
    current = recorded(claim.chapter)
    if not current:
        pytest.skip(f"no seed of {claim.chapter} recorded from its present inputs")
    failed = {
        seed: outcome.describe()
        for seed, entry in sorted(current.items())
        if (outcome := claims.evaluate(claim, entry["glued"])).verdict != "holds"
    }
    assert not failed, failed
