"""The documents: product pages, release notes per year and policy pages that state the knowledge base's facts."""
from __future__ import annotations

import random
from dataclasses import dataclass, replace

from bench.data.synth.attributes import ATTRIBUTES
from bench.data.synth.catalogue import CATEGORIES, POLICY_PAGES, product_attributes
from bench.data.synth.kb import Fact, KnowledgeBase, Product, facts_by_key


# Opening sentences of a product page; they name the kind of product, so a page tells its category (synth_cls).
PRODUCT_INTROS = (
    "The {entity} is {a_noun} made by {company}.",
    "{company} designed the {entity} as {a_noun} for everyday use.",
    "Meet the {entity}, {a_noun} from {company}.",
)
RELEASE_OPENING = "{company} added {count} new {noun} to its range in {year}."
RELEASE_LINES = (
    "The {entity}, {a_noun}, was released in {year}.",
    "In {year} the range grew to include the {entity}, {a_noun}.",
    "The {entity} joined the catalogue in {year} as {a_noun}.",
)
RELEASE_PRICE_LINES = ("It now sells for {value}.", "Its current price is {value}.")
RELEASE_CLOSING = "Full specifications are on each product page."


@dataclass(frozen=True)
class Document:
    doc_id: str
    title: str
    text: str
    fact_ids: tuple[str, ...]  # the facts this document states


def build_corpus(kb: KnowledgeBase, seed: int) -> list[Document]:
    """Product pages, then release notes per year, then policy pages, numbered doc-000 onwards.

    Each page draws its phrasing from its own generator keyed by the page, so a
    revised knowledge base gets the same sentences with only the changed values.
    """
    index = facts_by_key(kb)
    pages = [_product_page(kb, product, index, seed) for product in kb.products]
    pages += [_release_notes(kb, year, products, index, seed) for year, products in _products_by_year(kb, index).items()]
    pages += [_policy_page(kb, page, index, seed) for page in POLICY_PAGES]
    return [replace(page, doc_id=f"doc-{number:03d}") for number, page in enumerate(pages)]


def fact_doc_ids(documents: list[Document]) -> dict[str, list[str]]:
    stated: dict[str, list[str]] = {}
    for document in documents:
        for fact_id in document.fact_ids:
            stated.setdefault(fact_id, []).append(document.doc_id)
    return stated


def _state(rng: random.Random, fact: Fact, company: str) -> str:
    template = rng.choice(ATTRIBUTES[fact.attribute].statements)
    return template.format(entity=fact.entity, value=fact.value, company=company)


def _product_page(kb: KnowledgeBase, product: Product, index: dict[tuple[str, str], Fact], seed: int) -> Document:
    rng = random.Random(f"{seed}/page/{product.name}")
    category = CATEGORIES[product.category]
    year, price, weight, warranty, partner, special = (
        index[(product.name, attribute)] for attribute in product_attributes(category)
    )
    specs = [price, weight, special]
    rng.shuffle(specs)  # vary the order of the middle sentences from page to page
    intro = rng.choice(PRODUCT_INTROS).format(entity=product.name, a_noun=category.a_noun, company=kb.company)
    facts = [year, *specs, warranty, partner]
    sentences = [intro, *(_state(rng, fact, kb.company) for fact in facts)]
    sentences += [tagline.format(company=kb.company) for tagline in rng.sample(category.taglines, 2)]
    return Document("", product.name, " ".join(sentences), tuple(fact.fact_id for fact in facts))


def _products_by_year(kb: KnowledgeBase, index: dict[tuple[str, str], Fact]) -> dict[str, list[Product]]:
    by_year: dict[str, list[Product]] = {}
    for product in kb.products:
        by_year.setdefault(index[(product.name, "release_year")].value, []).append(product)
    return dict(sorted(by_year.items()))


def _products_count(count: int) -> tuple[str, str]:
    """(count in words, noun): (two, products), (one, product)."""
    return _count_words(count), "product" if count == 1 else "products"


def _count_words(count: int) -> str:
    words = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
    return words[count] if count < len(words) else str(count)


def _release_notes(
    kb: KnowledgeBase, year: str, products: list[Product], index: dict[tuple[str, str], Fact], seed: int
) -> Document:
    """Restates the release year of each product launched that year, and the price of about half of them."""
    rng = random.Random(f"{seed}/release-notes/{year}")
    count, noun = _products_count(len(products))
    sentences = [RELEASE_OPENING.format(company=kb.company, count=count, noun=noun, year=year)]
    stated: list[str] = []
    for product in products:
        sentences.append(rng.choice(RELEASE_LINES).format(
            entity=product.name, a_noun=CATEGORIES[product.category].a_noun, year=year, company=kb.company
        ))
        stated.append(index[(product.name, "release_year")].fact_id)
        if rng.random() < 0.5:
            price = index[(product.name, "price")]
            sentences.append(rng.choice(RELEASE_PRICE_LINES).format(value=price.value))
            stated.append(price.fact_id)
    sentences.append(RELEASE_CLOSING)
    return Document("", f"{kb.company} release notes {year}", " ".join(sentences), tuple(stated))


def _categories_phrase() -> str:
    """'camera drones, electric kettles, ... and electric bikes', for the About page."""
    plurals = [category.plural for category in CATEGORIES.values()]
    return f"{', '.join(plurals[:-1])} and {plurals[-1]}"


def _policy_page(
    kb: KnowledgeBase, page: tuple[str, tuple[str, ...], tuple[str, ...]], index: dict[tuple[str, str], Fact], seed: int
) -> Document:
    title, openings, attributes = page
    rng = random.Random(f"{seed}/policy/{title}")
    facts = [index[(kb.company, attribute)] for attribute in attributes]
    sentences = [openings[0].format(company=kb.company, categories=_categories_phrase())]
    sentences += [_state(rng, fact, kb.company) for fact in facts]
    return Document("", title.format(company=kb.company), " ".join(sentences), tuple(fact.fact_id for fact in facts))
