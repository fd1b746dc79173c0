"""The knowledge base: a fictional company, its products and their facts, drawn from one seed, and its revision."""
from __future__ import annotations

import random
from dataclasses import dataclass, replace

from bench.data.synth.attributes import ATTRIBUTES
from bench.data.synth.catalogue import CATEGORIES, MODEL_WORDS, POLICY_ATTRIBUTES, Category, product_attributes
from bench.data.synth.names import _distinct_words, _slug

REVISED_SHARE = 0.1  # share of facts that the later revision changes


@dataclass(frozen=True)
class Fact:
    fact_id: str
    entity: str  # a product name, or the company name for a policy
    attribute: str
    value: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Product:
    name: str
    category: str  # a key of CATEGORIES


@dataclass(frozen=True)
class KnowledgeBase:
    company: str
    products: tuple[Product, ...]
    facts: tuple[Fact, ...]


def _fact_id(entity: str, attribute: str) -> str:
    return f"{_slug(entity)}/{attribute}"


def facts_by_key(kb: KnowledgeBase) -> dict[tuple[str, str], Fact]:
    return {(fact.entity, fact.attribute): fact for fact in kb.facts}


def generate_kb(seed: int = 0, n_products: int = 40) -> KnowledgeBase:
    """A fictional company: products in six categories, their attributes, and company policies."""
    if n_products < 2 or n_products % 2:
        raise ValueError(f"n_products must be even and at least 2 (products come in compatible pairs), got {n_products}")
    rng = random.Random(seed)
    words = _distinct_words(rng, 1 + 2 * len(CATEGORIES))
    # A suffix that does not end in "s" keeps possessives out of the templates' way.
    company = f"{words[0]} {rng.choice(('Electric', 'Home', 'Tech', 'Design'))}"
    products = _make_products(rng, words[1:], n_products)
    partners = _pair_up(rng, products)
    facts = [fact for product in products for fact in _product_facts(rng, product, partners[product.name], company)]
    facts += [_draw_fact(rng, company, attribute, None, company) for attribute in POLICY_ATTRIBUTES]
    return KnowledgeBase(company, tuple(products), tuple(facts))


def _make_products(rng: random.Random, line_words: list[str], count: int) -> list[Product]:
    """Names like 'Velkor Nova 3': a product line, a model word and a digit, none tied to a category."""
    category_names = list(CATEGORIES)
    products: list[Product] = []
    names: set[str] = set()
    for index in range(count):
        category = category_names[index % len(category_names)]
        while (name := f"{rng.choice(line_words)} {rng.choice(MODEL_WORDS)} {rng.randint(2, 9)}") in names:
            pass
        names.add(name)
        products.append(Product(name, category))
    return products


def _pair_up(rng: random.Random, products: list[Product]) -> dict[str, str]:
    # Mutual pairs, so "which product is X compatible with?" has exactly one right answer.
    order = list(products)
    rng.shuffle(order)
    partners: dict[str, str] = {}
    for first, second in zip(order[::2], order[1::2]):
        partners[first.name], partners[second.name] = second.name, first.name
    return partners


def _product_facts(rng: random.Random, product: Product, partner: str, company: str) -> list[Fact]:
    category = CATEGORIES[product.category]
    facts = []
    for attribute in product_attributes(category):
        if attribute == "compatible_with":
            facts.append(Fact(_fact_id(product.name, attribute), product.name, attribute, partner))
        else:
            facts.append(_draw_fact(rng, product.name, attribute, category, company))
    return facts


def _draw_fact(rng: random.Random, entity: str, attribute: str, category: Category | None, company: str) -> Fact:
    draw = ATTRIBUTES[attribute].draw
    assert draw is not None, attribute
    value, aliases = draw(rng, category, company)
    return Fact(_fact_id(entity, attribute), entity, attribute, value, aliases)


def revise_kb(kb: KnowledgeBase, seed: int) -> tuple[KnowledgeBase, list[str]]:
    """A later revision of the knowledge base with about a tenth of the facts changed.

    Only revisable attributes change (prices, warranties, specs after firmware
    updates, policies), never names or release years, so the revised corpus
    keeps the same documents and doc ids.
    """
    rng = random.Random(f"{seed}/revise")
    revisable = [fact for fact in kb.facts if ATTRIBUTES[fact.attribute].revisable]
    count = min(round(len(kb.facts) * REVISED_SHARE), len(revisable))
    chosen = {fact.fact_id for fact in rng.sample(revisable, count)}
    categories = {product.name: CATEGORIES[product.category] for product in kb.products}
    facts = tuple(
        _redrawn(rng, fact, categories.get(fact.entity), kb.company) if fact.fact_id in chosen else fact
        for fact in kb.facts
    )
    return replace(kb, facts=facts), [fact.fact_id for fact in kb.facts if fact.fact_id in chosen]


def _redrawn(rng: random.Random, fact: Fact, category: Category | None, company: str) -> Fact:
    # The new value shares no surface form with the old one, so old and new answers never both score.
    old_forms = {fact.value, *fact.aliases}
    while True:
        new = _draw_fact(rng, fact.entity, fact.attribute, category, company)
        if not old_forms & {new.value, *new.aliases}:
            return new
