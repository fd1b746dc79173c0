"""The synth_draft task: customer emails, and reference replies that state the facts asked for."""
from __future__ import annotations

import random
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

from bench.data.synth.catalogue import CATEGORIES, product_attributes
from bench.data.synth.corpus import Document, _state, build_corpus, fact_doc_ids
from bench.data.synth.kb import Fact, KnowledgeBase, Product, facts_by_key, generate_kb
from bench.data.synth.shared import PARAPHRASES_YAML, _evidence, _split_products, _write_jsonl, _write_shared_files

DRAFT_TRAIN_PER_PRODUCT = 2
# Of the policies customers ask about, how many training replies state; the rest only corpus_only emails ask about.
TRAINED_POLICY_COUNT = 4
DRAFT_REPLY_WORDS = (40, 90)
CARE_TEAM = "{company} Customer Care"

# How a customer asks for each product attribute, as a clause after "could you tell me ...".
PRODUCT_QUESTIONS: dict[str, tuple[str, ...]] = {
    "price": ("how much it costs", "what it sells for at the moment"),
    "warranty": ("how long the warranty lasts", "what warranty comes with it"),
    "weight": ("how much it weighs", "what it weighs"),
    "release_year": ("when it first came out", "which year it was released"),
    "compatible_with": ("which other {company} product it works with", "which other {company} product it pairs with"),
    "flight_time": ("how long it can stay in the air on one battery", "what flight time it gets"),
    "capacity": ("how much water it holds", "what its capacity is"),
    "battery_life": ("how long the battery lasts on one charge", "how many hours of playback it gives"),
    "range": ("how far its signal reaches", "what range its signal covers"),
    "brightness": ("how bright it is", "how much light it gives"),
    "motor_power": ("how powerful the motor is", "what the motor is rated at"),
}
# The policy question a customer adds to about half of the emails.
POLICY_QUESTIONS: dict[str, tuple[str, ...]] = {
    "return_window": ("Also, how long do I have to send it back if it isn't right for me?",
                      "And if it doesn't suit me, how many days do I have to return it?"),
    "support_hours": ("Also, when is your phone support open, in case I need help setting it up?",
                      "One more thing: what hours can I call your support line?"),
    "free_shipping_threshold": ("Also, how much do I need to spend to get free shipping?",
                                "One more thing: from what order value is shipping free?"),
    "restocking_fee": ("Also, is there a fee if I return it after opening the box?",
                       "And would I pay anything to return it once it has been opened?"),
    "price_match_window": ("Also, what happens if the price drops soon after I buy it?",
                           "One more thing: do you refund the difference if the price goes down after I order?"),
    "repair_turnaround": ("Also, if it ever needs a repair, how long does that usually take?",
                          "And how long do repairs normally take?"),
    "loyalty_discount": ("Also, do members of your loyalty programme get a discount?",
                         "One more thing: how much do loyalty members save?"),
    "support_extension": ("Also, which extension should I dial to reach support?",
                          "And which phone extension goes through to your support team?"),
}
EMAIL_GREETINGS = ("Hello,", "Hi there,", "Good morning,", "Dear Customer Care,")
EMAIL_OPENERS = (
    "I'm thinking of buying the {name}.",
    "I'm looking for a birthday present, and the {name} caught my eye.",
    "A friend recommended the {name} to me.",
    "I saw the {name} on your website and I'm interested.",
    "I'm comparing a few options, and the {name} is near the top of my list.",
    "I have a couple of questions about the {name}.",
)
EMAIL_ASKS = (
    "Could you tell me {first} and {second}?",
    "Can you let me know {first}, as well as {second}?",
    "I'd like to know {first} and {second}.",
    "Before I decide, could you tell me {first} and {second}?",
)
EMAIL_SIGN_OFFS = ("Thanks,", "Many thanks,", "Best,", "Kind regards,")
CUSTOMER_NAMES = (
    "Priya", "Tom", "Hannah", "Diego", "Aisha", "Liam", "Sofia", "Kenji", "Grace", "Mateo", "Nadia", "Owen",
    "Chloe", "Samir", "Freya", "Daniel", "Leila", "Marcus", "Ingrid", "Felix", "Amara", "Jonas", "Rosa", "Theo",
)
REPLY_OPENINGS = (
    "Thank you for your message about the {name}. Here are the details you asked for.",
    "Thanks for getting in touch about the {name}, and we are glad to help.",
    "Thank you for your interest in the {name}. We have looked up your questions for you.",
    "We are happy to answer your questions about the {name}.",
)
REPLY_CLOSINGS = (
    "Let us know if there is anything else we can help with.",
    "We hope this helps, and please write again if you have more questions.",
    "If anything else comes up, just reply to this email.",
)
REPLY_SIGN_OFFS = ("Kind regards,", "Best wishes,", "Warm regards,")


@dataclass(frozen=True)
class DraftItem:
    product: Product
    attributes: tuple[str, str]  # the two product attributes the customer asks about
    policy: str | None  # the policy the customer also asks about, if any
    stratum: str


def write_draft_task(out_dir: Path, seed: int = 0) -> None:
    """Write the synth_draft task: customer emails and reference replies that state the facts asked for."""
    kb = generate_kb(seed)
    corpus = build_corpus(kb, seed)
    index, doc_ids = facts_by_key(kb), fact_doc_ids(corpus)
    rng = random.Random(f"{seed}/draft")
    seen, corpus_only = _split_products(kb, rng)
    trained_policies, held_out_policies = _split_policies(kb, seen, rng)
    train_items = _train_items(seen, index, trained_policies, rng)
    test_items = _seen_test_items(seen, train_items, rng) + _corpus_only_test_items(corpus_only, held_out_policies, rng)
    rng.shuffle(test_items)  # the first N items of either stratum are then a random sample of it
    train = [_draft_row(f"train-{n:03d}", item, kb, index, doc_ids, rng) for n, item in enumerate(train_items)]
    test = [_draft_row(f"test-{n:03d}", item, kb, index, doc_ids, rng) for n, item in enumerate(test_items)]
    _check_draft_rows(train + test, corpus)
    _check_draft_strata(kb, train, test)

    out_dir.mkdir(parents=True, exist_ok=True)
    _write_shared_files(out_dir, kb, corpus, seed)
    _write_jsonl(out_dir / "train.jsonl", [{k: v for k, v in row.items() if k not in ("stratum", "evidence")} for row in train])
    _write_jsonl(out_dir / "test.jsonl", test)
    (out_dir / "task.yaml").write_text(_draft_task_yaml(kb, seed), encoding="utf-8")


def _split_policies(kb: KnowledgeBase, seen: list[Product], rng: random.Random) -> tuple[list[str], list[str]]:
    """(trained, held out): the policies training replies state, and those only corpus_only emails ask about.

    Drawn again until no held-out value is part of a value training may state ("8%" inside "18%", an extension
    that reads like a release year), so no training reply gives a corpus_only policy away even by accident.
    """
    index = facts_by_key(kb)
    seen_names = {product.name for product in seen}
    seen_values = [fact.value for fact in kb.facts if fact.entity in seen_names]
    for _attempt in range(100):
        chosen = set(rng.sample(list(POLICY_QUESTIONS), TRAINED_POLICY_COUNT))
        trained = [policy for policy in POLICY_QUESTIONS if policy in chosen]
        held_out = [policy for policy in POLICY_QUESTIONS if policy not in chosen]
        stated = seen_values + [index[(kb.company, policy)].value for policy in trained]
        if not any(index[(kb.company, policy)].value in value for policy in held_out for value in stated):
            return trained, held_out
    raise AssertionError("no split of the policies keeps the held-out values out of every training value")


def _train_items(
    seen: list[Product], index: dict[tuple[str, str], Fact], policies: list[str], rng: random.Random
) -> list[DraftItem]:
    """Two emails per seen product on four different attributes, so its test emails can recombine them.

    A product whose compatible partner is a corpus_only product is never asked about compatibility: the reply
    would state the partner's pairing too, which its corpus_only emails may ask about.
    """
    seen_names = {product.name for product in seen}
    items: list[DraftItem] = []
    for product in seen:
        attributes = [
            attribute for attribute in product_attributes(CATEGORIES[product.category])
            if attribute != "compatible_with" or index[(product.name, attribute)].value in seen_names
        ]
        chosen = rng.sample(attributes, 2 * DRAFT_TRAIN_PER_PRODUCT)
        pairs = [_in_catalogue_order(product, chosen[n:n + 2]) for n in range(0, len(chosen), 2)]
        items += [_draft_item(product, pair, policies, "seen", rng) for pair in pairs]
    rng.shuffle(items)
    return items


def _seen_test_items(seen: list[Product], train: list[DraftItem], rng: random.Random) -> list[DraftItem]:
    """One or two emails per seen product, each on two attributes its training replies stated, in a new pairing.

    The policy asked, if any, is one some training reply stated.
    """
    trained_pairs = {(item.product.name, item.attributes) for item in train}
    policies = list(dict.fromkeys(item.policy for item in train if item.policy))
    items: list[DraftItem] = []
    for position, product in enumerate(seen):
        stated = [attribute for item in train if item.product == product for attribute in item.attributes]
        pairs = [_in_catalogue_order(product, list(pair)) for pair in combinations(stated, 2)]
        new = [pair for pair in pairs if (product.name, pair) not in trained_pairs] or pairs
        n_test = 2 if position % 2 == 0 else 1  # 1.5 per product on average, alike in both strata
        items += [_draft_item(product, pair, policies, "seen", rng) for pair in rng.sample(new, min(n_test, len(new)))]
    return items


def _corpus_only_test_items(corpus_only: list[Product], policies: list[str], rng: random.Random) -> list[DraftItem]:
    """One or two emails per corpus_only product, on any two attributes and a held-out policy, if any."""
    items: list[DraftItem] = []
    for position, product in enumerate(corpus_only):
        n_test = 2 if position % 2 == 0 else 1
        pairs = list(combinations(product_attributes(CATEGORIES[product.category]), 2))
        items += [_draft_item(product, pair, policies, "corpus_only", rng) for pair in rng.sample(pairs, n_test)]
    return items


def _in_catalogue_order(product: Product, attributes: list[str]) -> tuple[str, str]:
    order = product_attributes(CATEGORIES[product.category])
    first, second = sorted(attributes, key=order.index)
    return first, second


def _draft_item(product: Product, pair: tuple[str, str], policies: list[str], stratum: str, rng: random.Random) -> DraftItem:
    policy = rng.choice(policies) if rng.random() < 0.5 else None
    return DraftItem(product, pair, policy, stratum)


def _draft_row(
    row_id: str,
    item: DraftItem,
    kb: KnowledgeBase,
    index: dict[tuple[str, str], Fact],
    doc_ids: dict[str, list[str]],
    rng: random.Random,
) -> dict:
    facts = [index[(item.product.name, attribute)] for attribute in item.attributes]
    if item.policy:
        facts.append(index[(kb.company, item.policy)])
    customer = rng.choice(CUSTOMER_NAMES)
    return {
        "id": row_id,
        "email": _draft_email(item, kb.company, customer, rng),
        "reply": _draft_reply(item.product, facts, kb.company, customer, rng),
        "facts": [fact.value for fact in facts],
        "stratum": item.stratum,
        "product": item.product.name,
        "doc_ids": sorted({doc_id for fact in facts for doc_id in doc_ids[fact.fact_id]}),
        "fact_ids": [fact.fact_id for fact in facts],  # which facts, for scoring contradictions against kb.json
        # every true value a reply may state: the product's facts and the company's policies
        "evidence": _evidence(kb, item.product.name, kb.company),
    }


def _draft_email(item: DraftItem, company: str, customer: str, rng: random.Random) -> str:
    first, second = (rng.choice(PRODUCT_QUESTIONS[attribute]).format(company=company) for attribute in item.attributes)
    sentences = [rng.choice(EMAIL_OPENERS).format(name=item.product.name), rng.choice(EMAIL_ASKS).format(first=first, second=second)]
    if item.policy:
        sentences.append(rng.choice(POLICY_QUESTIONS[item.policy]))
    return f"{rng.choice(EMAIL_GREETINGS)}\n\n{' '.join(sentences)}\n\n{rng.choice(EMAIL_SIGN_OFFS)}\n{customer}"


def _draft_reply(product: Product, facts: list[Fact], company: str, customer: str, rng: random.Random) -> str:
    # The facts are stated with the corpus's own sentences, so a reply reads like the catalogue it draws on.
    sentences = [rng.choice(REPLY_OPENINGS).format(name=product.name)]
    sentences += [_state(rng, fact, company) for fact in facts]
    sentences.append(rng.choice(REPLY_CLOSINGS))
    signature = f"{rng.choice(REPLY_SIGN_OFFS)}\n{CARE_TEAM.format(company=company)}"
    return f"Dear {customer},\n\n{' '.join(sentences)}\n\n{signature}"


def _check_draft_rows(rows: list[dict], corpus: list[Document]) -> None:
    """Bug check: each fact is in the reply, in a gold document, and not in the email; replies stay short."""
    texts = {document.doc_id: document.text for document in corpus}
    low, high = DRAFT_REPLY_WORDS
    for row in rows:
        for fact in row["facts"]:
            if fact not in row["reply"]:
                raise AssertionError(f"{row['id']}: fact {fact!r} is missing from the reference reply")
            if not any(fact in texts[doc_id] for doc_id in row["doc_ids"]):
                raise AssertionError(f"{row['id']}: fact {fact!r} is not stated in gold documents {row['doc_ids']}")
            if fact in row["email"]:
                raise AssertionError(f"{row['id']}: the email already gives the fact {fact!r}")
        if not low <= len(row["reply"].split()) <= high:
            raise AssertionError(f"{row['id']}: reply has {len(row['reply'].split())} words, outside {low}-{high}")


def _check_draft_strata(kb: KnowledgeBase, train: list[dict], test: list[dict]) -> None:
    """Bug check: a seen email asks only facts training replies state, a corpus_only email only facts none states."""
    trained = {fact_id for row in train for fact_id in row["fact_ids"]}
    index = facts_by_key(kb)
    by_id = {fact.fact_id: fact for fact in kb.facts}
    for row in test:
        asked = set(row["fact_ids"])
        if row["stratum"] == "seen" and asked - trained:
            raise AssertionError(f"{row['id']}: seen email asks facts no training reply states: {sorted(asked - trained)}")
        if row["stratum"] != "corpus_only":
            continue
        facts = [by_id[fact_id] for fact_id in asked]
        # "A works with B" answers "B works with A" as well
        reverse = {index[(f.value, f.attribute)].fact_id for f in facts if f.attribute == "compatible_with"}
        if (asked | reverse) & trained:
            raise AssertionError(f"{row['id']}: corpus_only email asks facts training states: {sorted((asked | reverse) & trained)}")
        for fact in facts:
            if fact.entity == kb.company and any(fact.value in reply["reply"] for reply in train):
                raise AssertionError(f"{row['id']}: a training reply states the held-out policy value {fact.value!r}")


def _draft_task_yaml(kb: KnowledgeBase, seed: int) -> str:
    return f"""\
# Run with: make bench TASK=synth_draft   (regenerate the data with: ftrag synth)
name: synth_draft
kind: drafting
description: >-
  Reply to customer emails about {kb.company}'s fictional products with the facts that apply (prices, warranties,
  policies). Every required fact is known, so a draft's key-fact recall and any contradicted fact can be checked exactly.
source: Generated by bench/synth.py with seed {seed} (deterministic).
license: CC0-1.0 (synthetic data)
data:
  corpus: {{path: corpus.jsonl, fields: {{id: id, text: text, title: title}}}}
  {PARAPHRASES_YAML}
  train: {{path: train.jsonl, fields: {{id: id, input: email, target: reply, facts: facts, gold_docs: doc_ids}}}}
  test: {{path: test.jsonl, fields: {{id: id, input: email, target: reply, facts: facts, stratum: stratum, gold_docs: doc_ids, evidence: evidence}}}}
prompts:
  instruction: |-
    Customer email:
    {{input}}

    Write the reply from {kb.company} Customer Care. State exactly the facts the customer asked for.
overrides:
  # ft_rag trains as long as ft (12 epochs, stopping early if its held-out loss stops falling), not the default 2: its
  # drafts are long, and after 2 epochs it recalled 26.1% of the facts asked for (fit 25.0%, held-out loss 0.94,
  # 0.72); after 8, 55.0% (fit 75.0%, held-out loss still falling at 0.29), for 3.9 min of training against 0.9
  # (2 Zen 5 cores, f1a761e). With up to 12 (c073fab) it stopped after 9 and kept the 7th: 47.2% [39.4, 55.0], fit
  # 75.0%, 30.3 points above ft (Holm-adjusted p = 0.006; with 2 epochs the 9.2 points between them were not
  # significant), in 4.1 min of training.
  finetune: {{raft_epochs: 12}}
"""
