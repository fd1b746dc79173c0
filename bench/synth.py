"""A fictional company's knowledge base, its documents, and QA, classification and drafting tasks about it.

The company, its products and its policies are invented, so no pretrained model
can know them: a correct answer has to come from fine-tuning or retrieval. All
randomness comes from random.Random instances derived from one seed (never the
global generator), so one seed always writes byte-identical files.
"""
from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass, replace
from itertools import combinations
from pathlib import Path
from typing import Callable

UNKNOWN_ANSWER = "I don't know"
REVISED_SHARE = 0.1  # share of facts that the later revision changes
# Unanswerable questions of each kind: (training pairs, probe items).
UNANSWERABLE_SPLIT = {"unstated_policy": (4, 10), "missing_attribute": (5, 15), "unknown_product": (6, 15)}

Value = tuple[str, tuple[str, ...]]  # the canonical surface form and the other accepted forms


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


@dataclass(frozen=True)
class Document:
    doc_id: str
    title: str
    text: str
    fact_ids: tuple[str, ...]  # the facts this document states


@dataclass(frozen=True)
class Unanswerable:
    entity: str
    attribute: str  # an attribute the knowledge base does not hold for this entity
    question: str


@dataclass(frozen=True)
class Category:
    a_noun: str  # "a camera drone": how a page introduces one product
    plural: str
    price_range: tuple[int, int]  # USD
    weight_range: tuple[float, float]  # kg
    weight_decimals: int
    special: str  # the attribute only this category has
    taglines: tuple[str, ...]  # closing sentences that state no fact


@dataclass(frozen=True)
class Attribute:
    question_a: str  # training phrasing
    question_b: str  # test phrasing of the same question
    statements: tuple[str, ...]  # sentences that state the value in a document
    draw: Callable[[random.Random, Category | None, str], Value] | None  # None: set by pairing products
    revisable: bool = False  # whether a later revision may change it


# ----------------------------------------------------------------------------- surface forms


def _dollars(amount: int) -> Value:
    plain, grouped = str(amount), f"{amount:,}"
    aliases = [plain, f"{plain} dollars", f"USD {plain}"]
    if grouped != plain:
        aliases += [grouped, f"${plain}"]
    return f"${grouped}", tuple(aliases)


def _quantity(number: str, unit: str, *other_units: str) -> Value:
    """('27', 'minutes', 'min') -> ('27 minutes', ('27', '27 min')); '2.0' also accepts '2'."""
    numbers = [number]
    if "." in number and (short := number.rstrip("0").rstrip(".")) != number:
        numbers.append(short)
    aliases = [form for n in numbers for form in (n, *(f"{n} {u}" for u in (unit, *other_units)))]
    return f"{number} {unit}", tuple(alias for alias in aliases if alias != f"{number} {unit}")


def _percent(number: int) -> Value:
    return f"{number}%", (f"{number} percent", f"{number} per cent", str(number))


_NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five")


def _months(months: int) -> Value:
    aliases = [str(months)]
    if months % 12 == 0:
        years = months // 12
        unit = "year" if years == 1 else "years"
        aliases += [f"{years} {unit}", f"{_NUMBER_WORDS[years]} {unit}"]
    elif months % 6 == 0:
        aliases.append(f"{months / 12:g} years")
    return f"{months} months", tuple(aliases)


def _extension(number: int) -> Value:
    return str(number), (f"extension {number}", f"ext. {number}")


def _business_days(days: int) -> Value:
    return f"{days} business days", (str(days), f"{days} days", f"{days} working days")


def _twelve_hour(clock: str) -> str:
    """'19:00' -> '7 pm'; '8:30' -> '8:30 am'."""
    hour, minute = (int(part) for part in clock.split(":"))
    suffix = "am" if hour < 12 else "pm"
    hour = hour % 12 or 12
    return f"{hour} {suffix}" if minute == 0 else f"{hour}:{minute:02d} {suffix}"


def _support_hours(rng: random.Random) -> Value:
    start = rng.choice(("6:30", "7:00", "7:30", "8:00", "8:30", "9:00", "9:30"))
    end = rng.choice(("16:30", "17:00", "17:30", "18:00", "18:30", "19:00", "20:00", "21:00", "21:30"))
    return f"{start} to {end}", (f"{start}-{end}", f"{_twelve_hour(start)} to {_twelve_hour(end)}")


# ----------------------------------------------------------------------------- invented names

_ONSETS = ("b", "br", "d", "dr", "f", "g", "k", "kr", "l", "m", "n", "p", "r", "s", "t", "th", "v", "z")
_VOWELS = ("a", "e", "i", "o", "u")
_MIDDLES = ("l", "r", "n", "lk", "rv", "nd", "sk", "x", "v", "d", "m", "t")
_ENDINGS = ("", "n", "r", "x", "k", "l", "s", "th")


def _invented_word(rng: random.Random) -> str:
    """Two syllables such as 'Velkor'; at least five letters, so short real words and brands cannot come out."""
    while True:
        word = "".join((
            rng.choice(_ONSETS), rng.choice(_VOWELS), rng.choice(_MIDDLES), rng.choice(_VOWELS), rng.choice(_ENDINGS)
        ))
        if len(word) >= 5:
            return word.capitalize()


def _distinct_words(rng: random.Random, count: int) -> list[str]:
    words: list[str] = []
    while len(words) < count:
        word = _invented_word(rng)
        if word not in words:
            words.append(word)
    return words


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _city(rng: random.Random, _category: Category | None, _company: str) -> Value:
    return _invented_word(rng) + rng.choice(("haven", "ford", "mere", "wick", "stead", "port")), ()


def _chief_executive(rng: random.Random, _category: Category | None, _company: str) -> Value:
    first = rng.choice(("Mara", "Tobias", "Ines", "Joran", "Elif", "Ravi", "Oona", "Caspar", "Lidia", "Yusuf"))
    surname = _invented_word(rng)
    return f"{first} {surname}", (surname,)


def _support_email(rng: random.Random, _category: Category | None, company: str) -> Value:
    # .example is reserved (RFC 2606), so the address can never belong to anyone.
    user = rng.choice(("help", "care", "support", "service"))
    return f"{user}@{_slug(company.split()[0])}.example", ()


def _weight(rng: random.Random, category: Category | None, _company: str) -> Value:
    assert category is not None
    kilograms = rng.uniform(*category.weight_range)
    return _quantity(f"{kilograms:.{category.weight_decimals}f}", "kg", "kilograms")


def _price(rng: random.Random, category: Category | None, _company: str) -> Value:
    assert category is not None
    amount = rng.randint(*category.price_range)
    return _dollars(amount - amount % 10 + 9)  # shop prices end in 9


# ----------------------------------------------------------------------------- categories and attributes

CATEGORIES: dict[str, Category] = {
    "drone": Category(
        "a camera drone", "camera drones", (199, 1899), (0.25, 2.4), 2,
        "flight_time",
        ("Its arms fold flat, so it fits in a small backpack.",
         "Obstacle sensors on the front help beginners fly with confidence.",
         "A return-home button brings it back if the signal drops."),
    ),
    "kettle": Category(
        "an electric kettle", "electric kettles", (29, 189), (0.8, 1.9), 1,
        "capacity",
        ("A soft blue light glows while the water heats.",
         "It switches itself off once the water boils.",
         "The limescale filter lifts out for rinsing."),
    ),
    "headphones": Category(
        "a pair of wireless headphones", "wireless headphones", (59, 549),
        (0.18, 0.42), 2, "battery_life",
        ("Memory-foam cushions keep long listening sessions comfortable.",
         "Noise cancelling blocks out engine hum on trains and planes.",
         "The ear cups fold flat for travel."),
    ),
    "router": Category(
        "a mesh Wi-Fi router", "Wi-Fi routers", (49, 499), (0.3, 1.6), 2,
        "range",
        ("Setup takes a few minutes in the {company} app.",
         "Firmware updates install automatically overnight.",
         "Parents can pause the internet for chosen devices."),
    ),
    "lamp": Category(
        "a desk lamp", "desk lamps", (25, 289), (0.6, 3.8), 1,
        "brightness",
        ("The arm and head can be angled in any direction.",
         "A touch strip moves the light from warm to cool white.",
         "Its small base leaves plenty of room on the desk."),
    ),
    "e-bike": Category(
        "an electric bike", "electric bikes", (899, 4499), (14.0, 29.0), 1,
        "motor_power",
        ("The removable battery charges from a standard wall socket.",
         "Hydraulic disc brakes give firm stopping power in the wet.",
         "Built-in lights switch on by themselves at dusk."),
    ),
}

# The middle word of product names, shared by all categories: a name must not give its category away
# (synth_cls routes messages by category, which only the catalogue may tell).
MODEL_WORDS = ("Nova", "Prime", "Edge", "Core", "Flex", "Neo", "Lite", "Zen", "Solo", "Mode")

PRODUCT_ATTRIBUTES = ("release_year", "price", "weight", "warranty", "compatible_with")  # plus the category's own
SPECIAL_ATTRIBUTES = tuple(category.special for category in CATEGORIES.values())
# A product with the first attribute effectively answers a question about the second, so asking it is not unanswerable.
TOO_CLOSE_TO_CALL_MISSING = {("flight_time", "battery_life")}

ATTRIBUTES: dict[str, Attribute] = {
    "release_year": Attribute(
        "In what year was the {entity} released?", "Which year did the {entity} first go on sale?",
        ("It was released in {value}.", "{company} launched it in {value}.", "It first went on sale in {value}."),
        lambda rng, _category, _company: (str(rng.randint(2015, 2024)), ()),
    ),
    "price": Attribute(
        "How much does the {entity} cost?", "What is the price of the {entity}?",
        ("The {entity} costs {value}.", "It retails for {value}.", "Its list price is {value}."),
        _price, revisable=True,
    ),
    "weight": Attribute(
        "How much does the {entity} weigh?", "What is the weight of the {entity}?",
        ("It weighs {value}.", "The {entity} weighs {value}.", "It has a weight of {value}."),
        _weight,
    ),
    "warranty": Attribute(
        "How long is the warranty on the {entity}?", "What warranty period does {company} give on the {entity}?",
        ("{company} covers it with a warranty of {value}.",
         "The warranty runs for {value} from the date of purchase.",
         "Every unit comes with {value} of warranty cover."),
        lambda rng, _category, _company: _months(rng.choice((6, 9, 12, 15, 18, 24, 30, 36, 48, 60))), revisable=True,
    ),
    "compatible_with": Attribute(
        "Which product is the {entity} compatible with?", "Which other {company} product works with the {entity}?",
        ("It is compatible with the {value}, and both run from the same {company} app.",
         "The {entity} works with the {value}.",
         "Owners can pair it with the {value}."),
        None,
    ),
    "flight_time": Attribute(
        "What is the flight time of the {entity}?", "How long can the {entity} stay in the air on one battery?",
        ("A full battery gives a flight time of {value}.", "It can stay airborne for {value} on one charge.",
         "Its flight time is rated at {value}."),
        lambda rng, _category, _company: _quantity(str(rng.randint(18, 46)), "minutes", "min", "mins"), revisable=True,
    ),
    "capacity": Attribute(
        "What is the capacity of the {entity}?", "How much water does the {entity} hold?",
        ("It holds {value} of water.", "Its capacity is {value}.", "The jug takes up to {value}."),
        lambda rng, _category, _company: _quantity(f"{rng.randint(8, 22) / 10:.1f}", "litres", "liters", "l"),
        revisable=True,
    ),
    "battery_life": Attribute(
        "What is the battery life of the {entity}?", "How long does the {entity} play on a single charge?",
        ("The battery lasts {value} on a single charge.", "Battery life is rated at {value}.",
         "One charge gives {value} of playback."),
        lambda rng, _category, _company: _quantity(str(rng.randint(14, 62)), "hours", "h", "hrs"), revisable=True,
    ),
    "range": Attribute(
        "What is the range of the {entity}?", "How far does the wireless signal of the {entity} reach?",
        ("Its wireless signal reaches {value}.", "The signal covers a range of {value}.",
         "Its coverage extends to {value}."),
        lambda rng, _category, _company: _quantity(str(rng.randint(25, 140)), "metres", "meters", "m"), revisable=True,
    ),
    "brightness": Attribute(
        "How bright is the {entity}?", "What is the light output of the {entity}?",
        ("It puts out {value}.", "Its brightness is rated at {value}.", "At full power it gives {value} of light."),
        lambda rng, _category, _company: _quantity(str(rng.randint(30, 180) * 10), "lumens", "lm"), revisable=True,
    ),
    "motor_power": Attribute(
        "How powerful is the motor of the {entity}?", "What is the motor power rating of the {entity}?",
        ("Its motor delivers {value}.", "The hub motor is rated at {value}.",
         "Pedal assist comes from a motor rated at {value}."),
        lambda rng, _category, _company: _quantity(str(rng.randrange(200, 760, 10)), "watts", "W", "watt"),
        revisable=True,
    ),
    "founding_year": Attribute(
        "In what year was {company} founded?", "When was {company} established?",
        ("{company} was founded in {value}.", "The company was established in {value}."),
        lambda rng, _category, _company: (str(rng.randint(1978, 2009)), ()),
    ),
    "headquarters": Attribute(
        "Where is {company} headquartered?", "In which city are the headquarters of {company}?",
        ("Its headquarters are in {value}.", "The company is based in the city of {value}."),
        _city,
    ),
    "chief_executive": Attribute(
        "Who is the chief executive of {company}?", "Who runs {company} as CEO?",
        ("{value} serves as chief executive.", "The company is led by chief executive {value}."),
        _chief_executive,
    ),
    "return_window": Attribute(
        "How many days does {company} allow for returns?", "What is the return window at {company}?",
        ("You can return any product within {value} of delivery.",
         "{company} accepts returns for {value} after delivery.", "The return window is {value}."),
        # Kept apart from the price match window (7 to 18 days) so the two never share a value.
        lambda rng, _category, _company: _quantity(str(rng.randint(21, 70)), "days"), revisable=True,
    ),
    "restocking_fee": Attribute(
        "What restocking fee does {company} charge?", "How large is the restocking fee on returns to {company}?",
        # "A restocking fee of" rather than "A {value} restocking fee", which reads "A 8%" for some values.
        ("Opened items carry a restocking fee of {value}.", "A restocking fee of {value} applies to opened items."),
        lambda rng, _category, _company: _percent(rng.randint(6, 19)), revisable=True,
    ),
    "free_shipping_threshold": Attribute(
        "Above what order value does {company} ship for free?",
        "What is the minimum order for free shipping at {company}?",
        ("Shipping is free on orders over {value}.", "Orders above {value} ship free of charge."),
        lambda rng, _category, _company: _dollars(rng.randint(35, 149)), revisable=True,
    ),
    "price_match_window": Attribute(
        "How long does the {company} price match guarantee last?",
        "Within how many days of purchase will {company} match a lower price?",
        ("If the price drops within {value} of your purchase, {company} refunds the difference.",
         "The price match guarantee lasts {value} from the day you buy."),
        lambda rng, _category, _company: _quantity(str(rng.randint(7, 18)), "days"), revisable=True,
    ),
    "support_hours": Attribute(
        "What are the support hours of {company}?", "When is the {company} phone support line open?",
        ("Phone support is open from {value}.", "Support agents answer calls from {value}."),
        lambda rng, _category, _company: _support_hours(rng), revisable=True,
    ),
    "support_extension": Attribute(
        "What is the support phone extension at {company}?",
        "Which extension should you dial to reach {company} support?",
        ("Call the main line and dial extension {value} to reach support.",
         "Support can be reached on phone extension {value}."),
        lambda rng, _category, _company: _extension(rng.randint(2000, 9899)), revisable=True,
    ),
    "support_email": Attribute(
        "What is the support email address of {company}?",
        "Which email address should you write to for {company} support?",
        ("You can also write to {value}.", "Questions by email go to {value}."),
        _support_email,
    ),
    "repair_turnaround": Attribute(
        "How long does a repair at {company} take?", "What is the usual repair turnaround at {company}?",
        ("Most repairs are finished within {value}.", "Repairs usually take {value}."),
        lambda rng, _category, _company: _business_days(rng.randint(3, 12)), revisable=True,
    ),
    "loyalty_discount": Attribute(
        "What discount do {company} loyalty members get?",
        "How much do members of the {company} loyalty programme save?",
        ("Loyalty programme members save {value} on every order.",
         "Members of the loyalty programme get a {value} discount."),
        lambda rng, _category, _company: _percent(rng.randint(3, 15)), revisable=True,
    ),
}


# (title, opening sentence that states no fact, the policies the page states)
POLICY_PAGES = (
    ("About {company}", "{company} designs {categories}.", ("founding_year", "headquarters", "chief_executive")),
    ("Returns and shipping", "This page explains how shipping and returns work at {company}.",
     ("return_window", "restocking_fee", "free_shipping_threshold", "price_match_window")),
    ("Customer support", "The {company} support team helps with orders, repairs and the loyalty programme.",
     ("support_hours", "support_extension", "support_email", "repair_turnaround", "loyalty_discount")),
)
POLICY_ATTRIBUTES = tuple(attribute for _title, _opening, attributes in POLICY_PAGES for attribute in attributes)

# Company questions that look like the policy questions, but whose answer no document gives.
UNSTATED_POLICIES = (
    ("student_discount", "What student discount does {company} offer?"),
    ("employee_count", "How many people work at {company}?"),
    ("gift_wrap_fee", "How much does {company} charge for gift wrapping?"),
    ("warehouse_city", "In which city is the main {company} warehouse?"),
    ("fax_number", "What is the fax number of {company}?"),
    ("express_shipping_fee", "How much does express shipping cost at {company}?"),
    ("trade_in_credit", "How much trade-in credit does {company} give for an old device?"),
    ("chief_financial_officer", "Who is the chief financial officer of {company}?"),
    ("annual_revenue", "What was the annual revenue of {company} last year?"),
    ("support_languages", "In how many languages does {company} offer support?"),
    ("gift_card_validity", "How long are {company} gift cards valid?"),
    ("shipping_countries", "How many countries does {company} ship to?"),
    ("store_count", "How many retail stores does {company} operate?"),
    ("stock_ticker", "Under what ticker symbol does {company} trade?"),
)


def product_attributes(category: Category) -> tuple[str, ...]:
    return (*PRODUCT_ATTRIBUTES, category.special)


def _fact_id(entity: str, attribute: str) -> str:
    return f"{_slug(entity)}/{attribute}"


def _ask(attribute: str, entity: str, company: str, paraphrase: bool) -> str:
    spec = ATTRIBUTES[attribute]
    return (spec.question_b if paraphrase else spec.question_a).format(entity=entity, company=company)


def facts_by_key(kb: KnowledgeBase) -> dict[tuple[str, str], Fact]:
    return {(fact.entity, fact.attribute): fact for fact in kb.facts}


# ----------------------------------------------------------------------------- knowledge base


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


# ----------------------------------------------------------------------------- documents


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
    intro = rng.choice((
        "The {entity} is {a_noun} made by {company}.",
        "{company} designed the {entity} as {a_noun} for everyday use.",
        "Meet the {entity}, {a_noun} from {company}.",
    )).format(entity=product.name, a_noun=category.a_noun, company=kb.company)
    facts = [year, *specs, warranty, partner]
    sentences = [intro, *(_state(rng, fact, kb.company) for fact in facts)]
    sentences += [tagline.format(company=kb.company) for tagline in rng.sample(category.taglines, 2)]
    return Document("", product.name, " ".join(sentences), tuple(fact.fact_id for fact in facts))


def _products_by_year(kb: KnowledgeBase, index: dict[tuple[str, str], Fact]) -> dict[str, list[Product]]:
    by_year: dict[str, list[Product]] = {}
    for product in kb.products:
        by_year.setdefault(index[(product.name, "release_year")].value, []).append(product)
    return dict(sorted(by_year.items()))


def _count_words(count: int) -> str:
    words = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
    return words[count] if count < len(words) else str(count)


def _release_notes(
    kb: KnowledgeBase, year: str, products: list[Product], index: dict[tuple[str, str], Fact], seed: int
) -> Document:
    """Restates the release year of each product launched that year, and the price of about half of them."""
    rng = random.Random(f"{seed}/release-notes/{year}")
    noun = "product" if len(products) == 1 else "products"
    sentences = [f"{kb.company} added {_count_words(len(products))} new {noun} to its range in {year}."]
    stated: list[str] = []
    for product in products:
        sentences.append(rng.choice((
            "The {entity}, {a_noun}, was released in {year}.",
            "In {year} the range grew to include the {entity}, {a_noun}.",
            "The {entity} joined the catalogue in {year} as {a_noun}.",
        )).format(entity=product.name, a_noun=CATEGORIES[product.category].a_noun, year=year))
        stated.append(index[(product.name, "release_year")].fact_id)
        if rng.random() < 0.5:
            price = index[(product.name, "price")]
            template = rng.choice(("It now sells for {value}.", "Its current price is {value}."))
            sentences.append(template.format(value=price.value))
            stated.append(price.fact_id)
    sentences.append("Full specifications are on each product page.")
    return Document("", f"{kb.company} release notes {year}", " ".join(sentences), tuple(stated))


def _policy_page(
    kb: KnowledgeBase, page: tuple[str, str, tuple[str, ...]], index: dict[tuple[str, str], Fact], seed: int
) -> Document:
    title, opening, attributes = page
    rng = random.Random(f"{seed}/policy/{title}")
    plurals = [category.plural for category in CATEGORIES.values()]
    categories = f"{', '.join(plurals[:-1])} and {plurals[-1]}"
    facts = [index[(kb.company, attribute)] for attribute in attributes]
    sentences = [opening.format(company=kb.company, categories=categories)]
    sentences += [_state(rng, fact, kb.company) for fact in facts]
    return Document("", title.format(company=kb.company), " ".join(sentences), tuple(fact.fact_id for fact in facts))


# ----------------------------------------------------------------------------- unanswerable questions


def unanswerable_questions(kb: KnowledgeBase, seed: int) -> tuple[list[Unanswerable], list[Unanswerable]]:
    """(training questions, probe questions) whose answer the knowledge base does not hold.

    Three kinds: company policies no page states, attributes a product does not
    have (the battery life of a kettle), and products that do not exist but
    are named like the real ones. The two lists share no entity-attribute pair.
    """
    rng = random.Random(f"{seed}/unanswerable")
    sizes = {kind: n_train + n_probe for kind, (n_train, n_probe) in UNANSWERABLE_SPLIT.items()}
    pools = {
        "unstated_policy": _unstated_policy_questions(kb, rng, sizes["unstated_policy"]),
        "missing_attribute": _missing_attribute_questions(kb, rng, sizes["missing_attribute"]),
        "unknown_product": _unknown_product_questions(kb, rng, sizes["unknown_product"]),
    }
    train: list[Unanswerable] = []
    probe: list[Unanswerable] = []
    for kind, (n_train, _n_probe) in UNANSWERABLE_SPLIT.items():
        train += pools[kind][:n_train]
        probe += pools[kind][n_train:]
    rng.shuffle(probe)  # mix the kinds, so the first N probes are a fair sample
    return train, probe


def _unstated_policy_questions(kb: KnowledgeBase, rng: random.Random, count: int) -> list[Unanswerable]:
    questions = [
        Unanswerable(kb.company, attribute, text.format(company=kb.company)) for attribute, text in UNSTATED_POLICIES
    ]
    if count > len(questions):
        raise ValueError(f"asked for {count} unstated-policy questions, only {len(questions)} exist")
    rng.shuffle(questions)
    return questions[:count]


def _missing_attribute_questions(kb: KnowledgeBase, rng: random.Random, count: int) -> list[Unanswerable]:
    candidates = [
        (product, attribute)
        for product in kb.products
        for attribute in SPECIAL_ATTRIBUTES
        if attribute != CATEGORIES[product.category].special
        and (CATEGORIES[product.category].special, attribute) not in TOO_CLOSE_TO_CALL_MISSING
    ]
    # The training phrasing is the generic one ("What is the capacity of ..."), which fits any product.
    return [
        Unanswerable(product.name, attribute, _ask(attribute, product.name, kb.company, paraphrase=False))
        for product, attribute in rng.sample(candidates, count)
    ]


def _unknown_product_questions(kb: KnowledgeBase, rng: random.Random, count: int) -> list[Unanswerable]:
    questions = []
    for name, category in _unknown_product_names(kb, rng, count):
        attribute = rng.choice(product_attributes(CATEGORIES[category]))
        questions.append(Unanswerable(name, attribute, _ask(attribute, name, kb.company, paraphrase=rng.random() < 0.5)))
    return questions


def _unknown_product_names(kb: KnowledgeBase, rng: random.Random, count: int) -> list[tuple[str, str]]:
    """Names built from the real product lines and model words, so they look like siblings of real products."""
    lines = sorted({p.name.split()[0] for p in kb.products})
    taken = {product.name for product in kb.products}
    chosen: list[tuple[str, str]] = []
    while len(chosen) < count:
        category = rng.choice(list(CATEGORIES))
        name = f"{rng.choice(lines)} {rng.choice(MODEL_WORDS)} {rng.randint(2, 9)}"
        if name not in taken:
            taken.add(name)
            chosen.append((name, category))
    return chosen


# ----------------------------------------------------------------------------- task files


def write_qa_task(out_dir: Path, seed: int = 0) -> None:
    """Write the synth_qa task (corpus, train, test, probes, knowledge bases, task.yaml) into out_dir."""
    kb = generate_kb(seed)
    kb_v2, changed = revise_kb(kb, seed)
    corpus, corpus_v2 = build_corpus(kb, seed), build_corpus(kb_v2, seed)
    doc_ids = fact_doc_ids(corpus)
    if fact_doc_ids(corpus_v2) != doc_ids:
        raise AssertionError("the revised corpus states facts in different documents than the original")
    rng = random.Random(f"{seed}/split")
    train_ids = _train_fact_ids(kb, rng)
    unanswerable_train, unanswerable_probe = unanswerable_questions(kb, seed)
    train = _train_rows(kb, train_ids, doc_ids, unanswerable_train, rng)
    test = _test_rows(kb, train_ids, doc_ids, rng)
    update = _update_rows(kb, kb_v2, changed, doc_ids)
    _check_answers_in_gold_docs([(r["id"], r["answer"], r["doc_ids"]) for r in train if r["fact_id"]], corpus)
    _check_answers_in_gold_docs([(r["id"], r["answers"][0], r["doc_ids"]) for r in test], corpus)
    _check_answers_in_gold_docs([(r["id"], r["answers"][0], r["doc_ids"]) for r in update], corpus_v2)
    _check_unanswerable(kb, unanswerable_train, unanswerable_probe)

    out_dir.mkdir(parents=True, exist_ok=True)
    _write_jsonl(out_dir / "corpus.jsonl", [_corpus_row(document) for document in corpus])
    _write_jsonl(out_dir / "corpus_v2.jsonl", [_corpus_row(document) for document in corpus_v2])
    _write_jsonl(out_dir / "train.jsonl", train)
    _write_jsonl(out_dir / "test.jsonl", test)
    _write_jsonl(out_dir / "unanswerable.jsonl", _unanswerable_rows(unanswerable_probe))
    _write_jsonl(out_dir / "update.jsonl", update)
    _write_json(out_dir / "kb.json", _kb_record(kb, doc_ids, seed, revision=1))
    _write_json(out_dir / "kb_v2.json", {**_kb_record(kb_v2, doc_ids, seed, revision=2), "changed_fact_ids": changed})
    (out_dir / "task.yaml").write_text(_task_yaml(kb, seed), encoding="utf-8")


def _train_fact_ids(kb: KnowledgeBase, rng: random.Random) -> set[str]:
    """Half of each attribute's facts (policies count as one group), so both test strata mix attributes alike."""
    groups: dict[str, list[Fact]] = {}
    for fact in kb.facts:
        groups.setdefault("policy" if fact.entity == kb.company else fact.attribute, []).append(fact)
    return {fact.fact_id for facts in groups.values() for fact in rng.sample(facts, len(facts) // 2)}


def _train_rows(
    kb: KnowledgeBase,
    train_ids: set[str],
    doc_ids: dict[str, list[str]],
    unanswerable: list[Unanswerable],
    rng: random.Random,
) -> list[dict]:
    pairs: list[tuple[str, str, str | None, list[str]]] = [
        (_ask(fact.attribute, fact.entity, kb.company, paraphrase=False), fact.value, fact.fact_id, doc_ids[fact.fact_id])
        for fact in kb.facts
        if fact.fact_id in train_ids
    ]
    pairs += [(item.question, UNKNOWN_ANSWER, None, []) for item in unanswerable]
    rng.shuffle(pairs)
    return [
        {"id": f"train-{number:04d}", "question": question, "answer": answer, "fact_id": fact_id, "doc_ids": docs}
        for number, (question, answer, fact_id, docs) in enumerate(pairs)
    ]


def _test_rows(kb: KnowledgeBase, train_ids: set[str], doc_ids: dict[str, list[str]], rng: random.Random) -> list[dict]:
    facts = list(kb.facts)
    rng.shuffle(facts)  # the first N items of either stratum are then a random sample of it
    return [
        {
            "id": f"test-{number:04d}",
            "question": _ask(fact.attribute, fact.entity, kb.company, paraphrase=True),
            "answers": [fact.value, *fact.aliases],
            "stratum": "seen" if fact.fact_id in train_ids else "corpus_only",
            "fact_id": fact.fact_id,
            "doc_ids": doc_ids[fact.fact_id],
        }
        for number, fact in enumerate(facts)
    ]


def _update_rows(kb: KnowledgeBase, kb_v2: KnowledgeBase, changed: list[str], doc_ids: dict[str, list[str]]) -> list[dict]:
    old = {fact.fact_id: fact for fact in kb.facts}
    new = {fact.fact_id: fact for fact in kb_v2.facts}
    return [
        {
            "id": f"update-{number:03d}",
            "question": _ask(new[fact_id].attribute, new[fact_id].entity, kb.company, paraphrase=True),
            "answers": [new[fact_id].value, *new[fact_id].aliases],
            "old_answers": [old[fact_id].value, *old[fact_id].aliases],
            "stratum": "update",
            "fact_id": fact_id,
            "doc_ids": doc_ids[fact_id],
        }
        for number, fact_id in enumerate(changed)
    ]


def _unanswerable_rows(items: list[Unanswerable]) -> list[dict]:
    return [
        {"id": f"unans-{number:03d}", "question": item.question, "answers": [], "stratum": "unanswerable"}
        for number, item in enumerate(items)
    ]


def _check_answers_in_gold_docs(claims: list[tuple[str, str, list[str]]], corpus: list[Document]) -> None:
    """Bug check: every gold document must state the canonical answer word for word."""
    texts = {document.doc_id: document.text for document in corpus}
    for item_id, answer, gold in claims:
        missing = [doc_id for doc_id in gold if answer not in texts[doc_id]]
        if not gold or missing:
            raise AssertionError(f"{item_id}: answer {answer!r} is not stated in gold documents {missing or gold}")


def _check_unanswerable(kb: KnowledgeBase, train: list[Unanswerable], probe: list[Unanswerable]) -> None:
    """Bug check: no unanswerable question may hit a real fact or repeat between train and probes."""
    known = facts_by_key(kb)
    answerable = {
        _ask(fact.attribute, fact.entity, kb.company, paraphrase) for fact in kb.facts for paraphrase in (False, True)
    }
    for item in train + probe:
        if (item.entity, item.attribute) in known or item.question in answerable:
            raise AssertionError(f"unanswerable question has an answer in the knowledge base: {item.question!r}")
    if {(i.entity, i.attribute) for i in train} & {(i.entity, i.attribute) for i in probe}:
        raise AssertionError("unanswerable training and probe questions overlap")


def _corpus_row(document: Document) -> dict:
    return {"id": document.doc_id, "title": document.title, "text": document.text}


def _kb_record(kb: KnowledgeBase, doc_ids: dict[str, list[str]], seed: int, revision: int) -> dict:
    return {
        "company": kb.company,
        "seed": seed,
        "revision": revision,
        "products": [{"name": product.name, "category": product.category} for product in kb.products],
        "facts": [
            {
                "fact_id": fact.fact_id,
                "entity": fact.entity,
                "attribute": fact.attribute,
                "value": fact.value,
                "aliases": list(fact.aliases),
                "doc_ids": doc_ids[fact.fact_id],
            }
            for fact in kb.facts
        ],
    }


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")


def _write_json(path: Path, record: dict) -> None:
    path.write_text(json.dumps(record, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def _task_yaml(kb: KnowledgeBase, seed: int) -> str:
    return f"""\
# Run with: make bench TASK=synth_qa   (regenerate the data with: ftrag synth)
name: synth_qa
kind: qa
description: >-
  Question answering about {kb.company}, a fictional company generated by ftrag (seed {seed}):
  {len(kb.products)} products, {len(kb.facts)} facts. No pretrained model can know these facts, so any correct
  answer comes from fine-tuning or retrieval.
source: Generated by bench/synth.py with seed {seed} (deterministic).
license: CC0-1.0 (synthetic data)
data:
  corpus: {{path: corpus.jsonl, fields: {{id: id, text: text, title: title}}}}
  train: {{path: train.jsonl, fields: {{id: id, input: question, target: answer, gold_docs: doc_ids}}}}
  test: {{path: test.jsonl, fields: {{id: id, input: question, target: answers, stratum: stratum, gold_docs: doc_ids}}}}
probes:
  unanswerable: {{path: unanswerable.jsonl, fields: {{id: id, input: question, target: answers, stratum: stratum}}}}
  update: {{path: update.jsonl, corpus: corpus_v2.jsonl, fields: {{id: id, input: question, target: answers, stratum: stratum, gold_docs: doc_ids}}}}
overrides:
  # product pages are one 80-word chunk each: top-2 chunks hold the answer for 99% of test questions
  # (measured with all-MiniLM-L6-v2), and a third chunk would only lengthen every RAG prompt
  retrieval: {{k: 2}}
"""


# ----------------------------------------------------------------------------- shared by the synth tasks


def write_all_tasks(tasks_root: Path, seed: int = 0) -> list[Path]:
    """Write synth_qa, synth_cls and synth_draft under tasks_root; return the three folders."""
    writers = {"synth_qa": write_qa_task, "synth_cls": write_cls_task, "synth_draft": write_draft_task}
    for name, writer in writers.items():
        writer(tasks_root / name, seed)
    return [tasks_root / name for name in writers]


def _split_products(kb: KnowledgeBase, rng: random.Random) -> tuple[list[Product], list[Product]]:
    """(seen, corpus_only): exactly half of all products, and half of each category give or take one."""
    order = list(kb.products)
    rng.shuffle(order)
    # A stable sort keeps the shuffled order within each category; alternating then splits every category evenly.
    order.sort(key=lambda product: list(CATEGORIES).index(product.category))
    return order[0::2], order[1::2]


def _product_page_ids(kb: KnowledgeBase, corpus: list[Document]) -> dict[str, str]:
    # A product page is titled with the product name; release notes and policy pages never are.
    doc_id_by_title = {document.title: document.doc_id for document in corpus}
    return {product.name: doc_id_by_title[product.name] for product in kb.products}


def _write_shared_files(out_dir: Path, kb: KnowledgeBase, corpus: list[Document], seed: int) -> None:
    """corpus.jsonl and kb.json exactly as synth_qa writes them, so every synth task reads one catalogue."""
    _write_jsonl(out_dir / "corpus.jsonl", [_corpus_row(document) for document in corpus])
    _write_json(out_dir / "kb.json", _kb_record(kb, fact_doc_ids(corpus), seed, revision=1))


# ----------------------------------------------------------------------------- classification task

CLS_LABELS = tuple(CATEGORIES)  # one product team per category, named by the category id
CLS_TRAIN_PER_PRODUCT = 5
CLS_TEST_PER_PRODUCT = 3

# Words that would tell a message's category without the catalogue. A message is checked word by word with
# its product name taken out, since a few names hold such a word themselves (the "Lutur Boil 2").
CATEGORY_WORDS = frozenset({
    "drone", "drones", "fly", "flies", "flying", "flew", "flight", "airborne", "propeller", "propellers", "camera",
    "aerial", "kettle", "kettles", "boil", "boils", "boiling", "water", "tea", "jug", "limescale", "heat", "heats",
    "hot", "headphone", "headphones", "earphones", "ear", "ears", "listen", "listening", "music", "song", "songs",
    "audio", "playback", "router", "routers", "wifi", "wi", "fi", "internet", "network", "signal", "mesh",
    "broadband", "lamp", "lamps", "light", "lights", "bulb", "bright", "brightness", "lumens", "desk", "bike",
    "bikes", "ebike", "bicycle", "ride", "riding", "pedal", "pedals", "cycle", "cycling", "saddle", "tyre", "tyres",
    "tire", "tires", "wheel", "wheels", "motor",
    # Batteries and charging narrow the choice to drones, headphones and e-bikes.
    "battery", "batteries", "charge", "charging", "charger",
})

# Problems and requests that fit every category, so only the catalogue tells which team owns the product.
CLS_TEMPLATES = (
    "My {name} won't turn on any more. What should I try first?",
    "The {name} I ordered arrived with a scratch on the side. Can I get it swapped?",
    "I want to buy a spare part for my {name}. Where can I order one?",
    "The app doesn't find my {name} any more, even after I restarted my phone.",
    "How do I reset my {name} to its factory settings?",
    "Is there a newer version of the {name} coming out soon?",
    "My {name} has started making a rattling noise. Is that normal?",
    "I lost the manual for my {name}. Could you email me a copy?",
    "I'd like to return the {name} I bought last month, because it isn't what I expected.",
    "Does the {name} come in any other colours?",
    "The box for my {name} arrived with one of the parts missing.",
    "My {name} stopped working two weeks after I bought it. Is it still under warranty?",
    "Can my {name} be repaired, or do I need to buy a new one?",
    "An update for my {name} failed halfway through, and now the app shows an error.",
    "A button on my {name} feels loose. Can someone take a look at it?",
    "I'd like to order a second {name} for my sister. Is it in stock?",
    "My new {name} gives off a strange smell. Should I stop using it?",
    "My {name} keeps switching itself off after a few minutes.",
    "Where do I register my {name} for the extended warranty?",
    "The finish on my {name} is starting to peel. Is that covered?",
)


def write_cls_task(out_dir: Path, seed: int = 0) -> None:
    """Write the synth_cls task: route customer messages to the team of the product they name."""
    kb = generate_kb(seed)
    corpus = build_corpus(kb, seed)
    page_ids = _product_page_ids(kb, corpus)
    _check_pages_state_category(kb, corpus, page_ids)
    rng = random.Random(f"{seed}/cls")
    seen, corpus_only = _split_products(kb, rng)
    train_items, test_items = _cls_items(seen, corpus_only, rng)
    train = [_cls_row(f"train-{n:03d}", product, template, None, page_ids) for n, (product, template, _) in enumerate(train_items)]
    test = [_cls_row(f"test-{n:03d}", product, template, stratum, page_ids) for n, (product, template, stratum) in enumerate(test_items)]
    _check_cls_rows(train + test)

    out_dir.mkdir(parents=True, exist_ok=True)
    _write_shared_files(out_dir, kb, corpus, seed)
    _write_jsonl(out_dir / "train.jsonl", train)
    _write_jsonl(out_dir / "test.jsonl", test)
    (out_dir / "task.yaml").write_text(_cls_task_yaml(kb, seed), encoding="utf-8")


def _cls_items(
    seen: list[Product], corpus_only: list[Product], rng: random.Random
) -> tuple[list[tuple[Product, str, str]], list[tuple[Product, str, str]]]:
    """(product, template, stratum) for train and test; a product's test templates are never its train templates."""
    train: list[tuple[Product, str, str]] = []
    test: list[tuple[Product, str, str]] = []
    for stratum, products in (("seen", seen), ("corpus_only", corpus_only)):
        n_train = CLS_TRAIN_PER_PRODUCT if stratum == "seen" else 0
        for product in products:
            templates = rng.sample(CLS_TEMPLATES, n_train + CLS_TEST_PER_PRODUCT)
            train += [(product, template, stratum) for template in templates[:n_train]]
            test += [(product, template, stratum) for template in templates[n_train:]]
    rng.shuffle(train)
    rng.shuffle(test)  # the first N items of either stratum are then a random sample of it
    return train, test


def _cls_row(row_id: str, product: Product, template: str, stratum: str | None, page_ids: dict[str, str]) -> dict:
    row = {"id": row_id, "text": template.format(name=product.name), "label": product.category}
    if stratum is not None:  # test rows only
        row["stratum"] = stratum
    return {**row, "product": product.name, "doc_ids": [page_ids[product.name]]}


def category_words_in(text: str) -> list[str]:
    """The words of text that give a product category away (see CATEGORY_WORDS)."""
    return sorted(set(re.findall(r"[a-z]+", text.lower())) & CATEGORY_WORDS)


def _check_cls_rows(rows: list[dict]) -> None:
    """Bug check: every label is a team, and no message tells its category without the product name."""
    for row in rows:
        if row["label"] not in CLS_LABELS:
            raise AssertionError(f"{row['id']}: label {row['label']!r} is not one of {CLS_LABELS}")
        if revealing := category_words_in(row["text"].replace(row["product"], "")):
            raise AssertionError(f"{row['id']}: message gives its category away with {revealing}: {row['text']!r}")


def _check_pages_state_category(kb: KnowledgeBase, corpus: list[Document], page_ids: dict[str, str]) -> None:
    """Bug check: the label must be learnable from the product page, which names the kind of product."""
    texts = {document.doc_id: document.text for document in corpus}
    for product in kb.products:
        if CATEGORIES[product.category].a_noun not in texts[page_ids[product.name]]:
            raise AssertionError(f"the page of the {product.name} does not say it is {CATEGORIES[product.category].a_noun}")


def _cls_task_yaml(kb: KnowledgeBase, seed: int) -> str:
    return f"""\
# Run with: make bench TASK=synth_cls   (regenerate the data with: ftrag synth)
name: synth_cls
kind: classification
description: >-
  Route customer messages about {kb.company}'s fictional products to the right product team. Messages name a
  product but not its category, so the label comes only from knowing the catalogue (fine-tuning) or reading it (RAG).
source: Generated by bench/synth.py with seed {seed} (deterministic).
license: CC0-1.0 (synthetic data)
labels: [{", ".join(CLS_LABELS)}]
data:
  corpus: {{path: corpus.jsonl, fields: {{id: id, text: text, title: title}}}}
  train: {{path: train.jsonl, fields: {{id: id, input: text, target: label, gold_docs: doc_ids}}}}
  test: {{path: test.jsonl, fields: {{id: id, input: text, target: label, stratum: stratum, gold_docs: doc_ids}}}}
overrides:
  # the product page settles the label: 2 chunks beside the 4 nearest labeled messages keep prompts short
  retrieval: {{k: 2}}
"""


# ----------------------------------------------------------------------------- drafting task

DRAFT_TRAIN_PER_PRODUCT = 2
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
    train_items, test_items = _draft_items(seen, corpus_only, rng)
    train = [_draft_row(f"train-{n:03d}", item, kb, index, doc_ids, rng) for n, item in enumerate(train_items)]
    test = [_draft_row(f"test-{n:03d}", item, kb, index, doc_ids, rng) for n, item in enumerate(test_items)]
    _check_draft_rows(train + test, corpus)

    out_dir.mkdir(parents=True, exist_ok=True)
    _write_shared_files(out_dir, kb, corpus, seed)
    _write_jsonl(out_dir / "train.jsonl", [{k: v for k, v in row.items() if k != "stratum"} for row in train])
    _write_jsonl(out_dir / "test.jsonl", test)
    (out_dir / "task.yaml").write_text(_draft_task_yaml(kb, seed), encoding="utf-8")


def _draft_items(seen: list[Product], corpus_only: list[Product], rng: random.Random) -> tuple[list[DraftItem], list[DraftItem]]:
    """Two train emails per seen product; one or two test emails per product, each on a pair no train email asked."""
    train: list[DraftItem] = []
    test: list[DraftItem] = []
    for stratum, products in (("seen", seen), ("corpus_only", corpus_only)):
        n_train = DRAFT_TRAIN_PER_PRODUCT if stratum == "seen" else 0
        for position, product in enumerate(products):
            n_test = 2 if position % 2 == 0 else 1  # 1.5 per product on average, alike in both strata
            pairs = list(combinations(product_attributes(CATEGORIES[product.category]), 2))
            chosen = [_draft_item(product, pair, stratum, rng) for pair in rng.sample(pairs, n_train + n_test)]
            train += chosen[:n_train]
            test += chosen[n_train:]
    rng.shuffle(train)
    rng.shuffle(test)  # the first N items of either stratum are then a random sample of it
    return train, test


def _draft_item(product: Product, pair: tuple[str, str], stratum: str, rng: random.Random) -> DraftItem:
    policy = rng.choice(list(POLICY_QUESTIONS)) if rng.random() < 0.5 else None
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
  train: {{path: train.jsonl, fields: {{id: id, input: email, target: reply, facts: facts, gold_docs: doc_ids}}}}
  test: {{path: test.jsonl, fields: {{id: id, input: email, target: reply, facts: facts, stratum: stratum, gold_docs: doc_ids}}}}
prompts:
  instruction: |-
    Customer email:
    {{input}}

    Write the reply from {kb.company} Customer Care. State exactly the facts the customer asked for.
"""
