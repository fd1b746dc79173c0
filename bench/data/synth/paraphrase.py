"""Paraphrases of the corpus: other phrasings of each document's facts, for knowledge fine-tuning.

Fine-tuning takes in new facts better the more phrasings of them it reads
(Ovadia et al. 2024, "Fine-tuning or retrieval?"). Each paraphrase states every
fact value of its document word for word, but with other statement templates,
another opening sentence and another sentence order. The templates a paraphrase
may use are those whose sentence the document does not contain; each document
deals them out in its own order (a generator keyed by the document), so its
paraphrases use different templates from each other wherever there are enough.
Sentence order and closing sentences come from a generator keyed by the document
and the paraphrase number. Neither touches the generators of the corpus, so the
corpus stays byte-identical whether or not paraphrases are written.
"""
from __future__ import annotations

import random
from dataclasses import dataclass

from bench.data.synth.attributes import ATTRIBUTES
from bench.data.synth.catalogue import CATEGORIES, POLICY_PAGES
from bench.data.synth.corpus import (
    PRODUCT_INTROS, RELEASE_CLOSING, RELEASE_LINES, RELEASE_OPENING, RELEASE_PRICE_LINES, Document,
    _categories_phrase, _products_count,
)
from bench.data.synth.kb import Fact, KnowledgeBase

PARAPHRASES_PER_DOC = 5

# Phrasings only paraphrases use, beside the corpus's own (which a paraphrase uses where its document does not).
MORE_PRODUCT_INTROS = (
    "{company} sells the {entity}, {a_noun}.",
    "The {entity} from {company} is {a_noun}.",
    "Here are the key facts about the {entity}, {a_noun} by {company}.",
    "This page describes the {entity}, {a_noun} in the {company} range.",
)
MORE_RELEASE_OPENINGS = (
    "In {year}, {company} launched {count} new {noun}.",
    "{company} brought out {count} new {noun} in {year}.",
    "These notes list the new {noun} {company} released in {year}.",
    "The {company} range grew by {count} {noun} in {year}.",
    "Here is what {company} released in {year}.",
)
MORE_RELEASE_LINES = (
    "{company} launched the {entity}, {a_noun}, in {year}.",
    "The {entity}, {a_noun}, first went on sale in {year}.",
    "{year} saw the launch of the {entity}, {a_noun}.",
)
MORE_RELEASE_PRICE_LINES = ("Today it costs {value}.", "It is now priced at {value}.", "The current price is {value}.")
RELEASE_CLOSINGS = (RELEASE_CLOSING, "Each product page lists the full specifications.", "See the product pages for details.")


@dataclass(frozen=True)
class Paraphrase:
    doc_id: str  # the document it rephrases
    number: int  # 1 to PARAPHRASES_PER_DOC
    title: str
    text: str


def build_paraphrases(kb: KnowledgeBase, corpus: list[Document], seed: int) -> list[Paraphrase]:
    """PARAPHRASES_PER_DOC paraphrases of each document, in corpus order."""
    facts = {fact.fact_id: fact for fact in kb.facts}
    products = {product.name: product for product in kb.products}
    policy_pages = {title.format(company=kb.company): openings for title, openings, _attributes in POLICY_PAGES}
    paraphrases = []
    for document in corpus:
        doc_facts = [facts[fact_id] for fact_id in document.fact_ids]
        deal = random.Random(f"{seed}/paraphrase/{document.doc_id}")
        # Closing sentences state no fact: a product's taglines, the release notes' pointer to the product pages.
        closings: tuple[str, ...] = ()
        if document.title in products:
            category = CATEGORIES[products[document.title].category]
            slots = _product_slots(kb, document, category.a_noun, doc_facts, deal)
            closings = tuple(tagline.format(company=kb.company) for tagline in category.taglines)
        elif document.title in policy_pages:
            slots = _policy_slots(kb, document, doc_facts, policy_pages[document.title], deal)
        else:
            slots = _release_slots(kb, document, doc_facts, deal)
            closings = RELEASE_CLOSINGS
        for number in range(1, PARAPHRASES_PER_DOC + 1):
            rng = random.Random(f"{seed}/paraphrase/{document.doc_id}/{number}")
            text = _render(slots, number, rng, closings)
            paraphrases.append(Paraphrase(document.doc_id, number, document.title, text))
    _check_paraphrases(corpus, paraphrases, facts)
    return paraphrases


# A slot is one sentence, or a block of sentences that must stay together (a release-notes product and its
# price), as the alternatives dealt for it: paraphrase n takes alternative n (cycling when there are fewer).
Slot = list[str]


def _dealt(deal: random.Random, templates: tuple[str, ...], document: Document, **fields: str) -> Slot:
    """The renderings of templates that the document does not contain, in the document's own dealing order."""
    options = list(dict.fromkeys(template.format(**fields) for template in templates))
    options = [option for option in options if option not in document.text]
    if not options:
        raise AssertionError(f"{document.doc_id}: every phrasing of {templates[0]!r} is already in the document")
    deal.shuffle(options)
    return options


def _statement_slot(deal: random.Random, fact: Fact, company: str, document: Document) -> Slot:
    spec = ATTRIBUTES[fact.attribute]
    return _dealt(deal, spec.statements + spec.restatements, document, entity=fact.entity, value=fact.value, company=company)


def _product_slots(
    kb: KnowledgeBase, document: Document, a_noun: str, facts: list[Fact], deal: random.Random
) -> tuple[Slot, list[Slot]]:
    """(opening, one slot per fact in the document's order); the opening names the kind of product, as the page does."""
    intro = _dealt(
        deal, PRODUCT_INTROS + MORE_PRODUCT_INTROS, document, entity=document.title, a_noun=a_noun, company=kb.company
    )
    return intro, [_statement_slot(deal, fact, kb.company, document) for fact in facts]


def _policy_slots(
    kb: KnowledgeBase, document: Document, facts: list[Fact], openings: tuple[str, ...], deal: random.Random
) -> tuple[Slot, list[Slot]]:
    opening = _dealt(deal, openings, document, company=kb.company, categories=_categories_phrase())
    return opening, [_statement_slot(deal, fact, kb.company, document) for fact in facts]


def _release_slots(kb: KnowledgeBase, document: Document, facts: list[Fact], deal: random.Random) -> tuple[Slot, list[Slot]]:
    """One block per product launched that year: its launch sentence, then its price sentence where the notes give one."""
    year = facts[0].value
    launched = [fact for fact in facts if fact.attribute == "release_year"]
    prices = {fact.entity: fact for fact in facts if fact.attribute == "price"}
    count, noun = _products_count(len(launched))
    opening = _dealt(
        deal, (RELEASE_OPENING, *MORE_RELEASE_OPENINGS), document, company=kb.company, count=count, noun=noun, year=year
    )
    categories = {product.name: CATEGORIES[product.category] for product in kb.products}
    blocks = []
    for fact in launched:
        a_noun = categories[fact.entity].a_noun
        lines = _dealt(
            deal, RELEASE_LINES + MORE_RELEASE_LINES, document, entity=fact.entity, a_noun=a_noun, year=year, company=kb.company
        )
        if fact.entity in prices:
            # Price sentences start with "It", so each is dealt in step with a launch sentence and stays behind it.
            price = prices[fact.entity].value
            price_lines = _dealt(deal, RELEASE_PRICE_LINES + MORE_RELEASE_PRICE_LINES, document, value=price)
            lines = [f"{line} {price_lines[n % len(price_lines)]}" for n, line in enumerate(lines)]
        blocks.append(lines)
    return opening, blocks


def _render(slots: tuple[Slot, list[Slot]], number: int, rng: random.Random, closings: tuple[str, ...]) -> str:
    """The opening, then the fact sentences in another order than the document's, then maybe a closing sentence."""
    opening, bodies = slots
    order = list(range(len(bodies)))
    while len(order) > 1 and order == sorted(order):
        rng.shuffle(order)
    sentences = [opening[(number - 1) % len(opening)]]
    sentences += [bodies[index][(number - 1) % len(bodies[index])] for index in order]
    if closings and rng.random() < 0.7:
        sentences.append(rng.choice(closings))
    return " ".join(sentences)


def _check_paraphrases(corpus: list[Document], paraphrases: list[Paraphrase], facts: dict[str, Fact]) -> None:
    """Bug check: a paraphrase states every fact value of its document and is neither the document nor a repeat."""
    documents = {document.doc_id: document for document in corpus}
    seen: set[str] = set()
    for paraphrase in paraphrases:
        document = documents[paraphrase.doc_id]
        missing = [facts[f].value for f in document.fact_ids if facts[f].value not in paraphrase.text]
        if missing:
            raise AssertionError(f"{paraphrase.doc_id}#p{paraphrase.number}: paraphrase leaves out {missing}")
        if paraphrase.text == document.text or paraphrase.text in seen:
            raise AssertionError(f"{paraphrase.doc_id}#p{paraphrase.number}: paraphrase repeats a text: {paraphrase.text!r}")
        seen.add(paraphrase.text)
