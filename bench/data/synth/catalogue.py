"""The catalogue: product categories, the attributes a fact can have, and the company's policy pages."""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Callable

from bench.data.synth.names import _invented_word, _slug
from bench.data.synth.surface import (
    Value, _business_days, _dollars, _extension, _months, _percent, _quantity, _support_hours,
)


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


def _ask(attribute: str, entity: str, company: str, paraphrase: bool) -> str:
    spec = ATTRIBUTES[attribute]
    return (spec.question_b if paraphrase else spec.question_a).format(entity=entity, company=company)
