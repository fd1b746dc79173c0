"""The attributes a fact can have: how a question asks it, how a document states it, and how its value is drawn."""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Callable

from bench.data.synth.catalogue import Category
from bench.data.synth.names import _invented_word, _slug
from bench.data.synth.surface import (
    Value, _business_days, _dollars, _extension, _months, _percent, _quantity, _support_hours,
)


@dataclass(frozen=True)
class Attribute:
    question_a: str  # training phrasing
    question_b: str  # test phrasing of the same question
    statements: tuple[str, ...]  # sentences that state the value in a document
    draw: Callable[[random.Random, Category | None, str], Value] | None  # None: set by pairing products
    revisable: bool = False  # whether a later revision may change it
    # More sentences that state the value, used only by the corpus paraphrases: the documents keep drawing from
    # statements alone, so adding phrasings here leaves the corpus (and what was measured on it) unchanged.
    restatements: tuple[str, ...] = ()


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


ATTRIBUTES: dict[str, Attribute] = {
    "release_year": Attribute(
        "In what year was the {entity} released?", "Which year did the {entity} first go on sale?",
        ("It was released in {value}.", "{company} launched it in {value}.", "It first went on sale in {value}."),
        lambda rng, _category, _company: (str(rng.randint(2015, 2024)), ()),
        restatements=("The {entity} came out in {value}.", "Its launch year was {value}.",
                      "The {entity} has been on the market since {value}."),
    ),
    "price": Attribute(
        "How much does the {entity} cost?", "What is the price of the {entity}?",
        ("The {entity} costs {value}.", "It retails for {value}.", "Its list price is {value}."),
        _price, revisable=True,
        restatements=("It sells for {value}.", "The {entity} is priced at {value}.", "You can buy it for {value}."),
    ),
    "weight": Attribute(
        "How much does the {entity} weigh?", "What is the weight of the {entity}?",
        ("It weighs {value}.", "The {entity} weighs {value}.", "It has a weight of {value}."),
        _weight,
        restatements=("Its weight is {value}.", "The {entity} comes in at {value}.",
                      "Weighed on its own, it comes to {value}."),
    ),
    "warranty": Attribute(
        "How long is the warranty on the {entity}?", "What warranty period does {company} give on the {entity}?",
        ("{company} covers it with a warranty of {value}.",
         "The warranty runs for {value} from the date of purchase.",
         "Every unit comes with {value} of warranty cover."),
        lambda rng, _category, _company: _months(rng.choice((6, 9, 12, 15, 18, 24, 30, 36, 48, 60))), revisable=True,
        restatements=("Its warranty lasts {value}.", "The {entity} carries a warranty of {value}.",
                      "{company} guarantees it for {value} after purchase."),
    ),
    "compatible_with": Attribute(
        "Which product is the {entity} compatible with?", "Which other {company} product works with the {entity}?",
        ("It is compatible with the {value}, and both run from the same {company} app.",
         "The {entity} works with the {value}.",
         "Owners can pair it with the {value}."),
        None,
        restatements=("It pairs with the {value}.", "The {entity} and the {value} are designed to work together.",
                      "Its companion product is the {value}."),
    ),
    "flight_time": Attribute(
        "What is the flight time of the {entity}?", "How long can the {entity} stay in the air on one battery?",
        ("A full battery gives a flight time of {value}.", "It can stay airborne for {value} on one charge.",
         "Its flight time is rated at {value}."),
        lambda rng, _category, _company: _quantity(str(rng.randint(18, 46)), "minutes", "min", "mins"), revisable=True,
        restatements=("One battery keeps it in the air for {value}.", "The {entity} flies for up to {value} per charge.",
                      "Expect {value} of flight from a full battery."),
    ),
    "capacity": Attribute(
        "What is the capacity of the {entity}?", "How much water does the {entity} hold?",
        ("It holds {value} of water.", "Its capacity is {value}.", "The jug takes up to {value}."),
        lambda rng, _category, _company: _quantity(f"{rng.randint(8, 22) / 10:.1f}", "litres", "liters", "l"),
        revisable=True,
        restatements=("The {entity} has a capacity of {value}.", "It can boil up to {value} at a time.",
                      "Fill it with as much as {value} of water."),
    ),
    "battery_life": Attribute(
        "What is the battery life of the {entity}?", "How long does the {entity} play on a single charge?",
        ("The battery lasts {value} on a single charge.", "Battery life is rated at {value}.",
         "One charge gives {value} of playback."),
        lambda rng, _category, _company: _quantity(str(rng.randint(14, 62)), "hours", "h", "hrs"), revisable=True,
        restatements=("A full charge keeps the music going for {value}.", "The {entity} plays for {value} between charges.",
                      "Its battery is good for {value} of listening."),
    ),
    "range": Attribute(
        "What is the range of the {entity}?", "How far does the wireless signal of the {entity} reach?",
        ("Its wireless signal reaches {value}.", "The signal covers a range of {value}.",
         "Its coverage extends to {value}."),
        lambda rng, _category, _company: _quantity(str(rng.randint(25, 140)), "metres", "meters", "m"), revisable=True,
        restatements=("The {entity} has a range of {value}.", "Its Wi-Fi reaches devices up to {value} away.",
                      "The wireless range is {value}."),
    ),
    "brightness": Attribute(
        "How bright is the {entity}?", "What is the light output of the {entity}?",
        ("It puts out {value}.", "Its brightness is rated at {value}.", "At full power it gives {value} of light."),
        lambda rng, _category, _company: _quantity(str(rng.randint(30, 180) * 10), "lumens", "lm"), revisable=True,
        restatements=("The {entity} gives off {value}.", "Its light output is {value}.",
                      "Turned all the way up, it shines with {value}."),
    ),
    "motor_power": Attribute(
        "How powerful is the motor of the {entity}?", "What is the motor power rating of the {entity}?",
        ("Its motor delivers {value}.", "The hub motor is rated at {value}.",
         "Pedal assist comes from a motor rated at {value}."),
        lambda rng, _category, _company: _quantity(str(rng.randrange(200, 760, 10)), "watts", "W", "watt"),
        revisable=True,
        restatements=("The motor of the {entity} is rated at {value}.", "Its motor puts out {value}.",
                      "Power comes from a motor of {value}."),
    ),
    "founding_year": Attribute(
        "In what year was {company} founded?", "When was {company} established?",
        ("{company} was founded in {value}.", "The company was established in {value}."),
        lambda rng, _category, _company: (str(rng.randint(1978, 2009)), ()),
        restatements=("{company} started out in {value}.", "The company dates back to {value}.",
                      "The business has been running since {value}.", "{company} opened its doors in {value}."),
    ),
    "headquarters": Attribute(
        "Where is {company} headquartered?", "In which city are the headquarters of {company}?",
        ("Its headquarters are in {value}.", "The company is based in the city of {value}."),
        _city,
        restatements=("{company} has its head office in {value}.", "The head office is in {value}.",
                      "Its home base is the city of {value}.", "{company} is headquartered in {value}."),
    ),
    "chief_executive": Attribute(
        "Who is the chief executive of {company}?", "Who runs {company} as CEO?",
        ("{value} serves as chief executive.", "The company is led by chief executive {value}."),
        _chief_executive,
        restatements=("The chief executive of {company} is {value}.", "{value} runs the company as CEO.",
                      "At the top of the company is chief executive {value}.",
                      "{company} is run by its chief executive, {value}."),
    ),
    "return_window": Attribute(
        "How many days does {company} allow for returns?", "What is the return window at {company}?",
        ("You can return any product within {value} of delivery.",
         "{company} accepts returns for {value} after delivery.", "The return window is {value}."),
        # Kept apart from the price match window (7 to 18 days) so the two never share a value.
        lambda rng, _category, _company: _quantity(str(rng.randint(21, 70)), "days"), revisable=True,
        restatements=("Customers have {value} from delivery to send a product back.",
                      "Returns are accepted up to {value} after delivery.",
                      "Anything you buy can go back within {value}."),
    ),
    "restocking_fee": Attribute(
        "What restocking fee does {company} charge?", "How large is the restocking fee on returns to {company}?",
        # "A restocking fee of" rather than "A {value} restocking fee", which reads "A 8%" for some values.
        ("Opened items carry a restocking fee of {value}.", "A restocking fee of {value} applies to opened items."),
        lambda rng, _category, _company: _percent(rng.randint(6, 19)), revisable=True,
        restatements=("Returning an opened item costs a restocking fee of {value}.",
                      "{company} charges a restocking fee of {value} on opened items.",
                      "The restocking fee for opened items is {value}.",
                      "If the box has been opened, a fee of {value} is deducted."),
    ),
    "free_shipping_threshold": Attribute(
        "Above what order value does {company} ship for free?",
        "What is the minimum order for free shipping at {company}?",
        ("Shipping is free on orders over {value}.", "Orders above {value} ship free of charge."),
        lambda rng, _category, _company: _dollars(rng.randint(35, 149)), revisable=True,
        restatements=("Spend more than {value} and delivery is free.",
                      "{company} pays the shipping on any order above {value}.",
                      "Free shipping starts at orders over {value}.",
                      "There is no delivery charge once an order passes {value}."),
    ),
    "price_match_window": Attribute(
        "How long does the {company} price match guarantee last?",
        "Within how many days of purchase will {company} match a lower price?",
        ("If the price drops within {value} of your purchase, {company} refunds the difference.",
         "The price match guarantee lasts {value} from the day you buy."),
        lambda rng, _category, _company: _quantity(str(rng.randint(7, 18)), "days"), revisable=True,
        restatements=("{company} matches a lower price for {value} after purchase.",
                      "The price match guarantee covers {value} from the purchase date.",
                      "Should the price fall within {value} of buying, you get the difference back.",
                      "Price drops within {value} of your order are refunded."),
    ),
    "support_hours": Attribute(
        "What are the support hours of {company}?", "When is the {company} phone support line open?",
        ("Phone support is open from {value}.", "Support agents answer calls from {value}."),
        lambda rng, _category, _company: _support_hours(rng), revisable=True,
        restatements=("The support line is staffed from {value}.", "You can call support from {value}.",
                      "Phone lines are open from {value}.", "{company} answers support calls from {value}."),
    ),
    "support_extension": Attribute(
        "What is the support phone extension at {company}?",
        "Which extension should you dial to reach {company} support?",
        ("Call the main line and dial extension {value} to reach support.",
         "Support can be reached on phone extension {value}."),
        lambda rng, _category, _company: _extension(rng.randint(2000, 9899)), revisable=True,
        restatements=("The support team answers on extension {value}.", "Dial extension {value} for support.",
                      "Support has its own phone extension, {value}.", "For support, ask for extension {value}."),
    ),
    "support_email": Attribute(
        "What is the support email address of {company}?",
        "Which email address should you write to for {company} support?",
        ("You can also write to {value}.", "Questions by email go to {value}."),
        _support_email,
        restatements=("The support email address is {value}.", "Email support at {value}.",
                      "Written questions can be sent to {value}.", "{company} answers emails sent to {value}."),
    ),
    "repair_turnaround": Attribute(
        "How long does a repair at {company} take?", "What is the usual repair turnaround at {company}?",
        ("Most repairs are finished within {value}.", "Repairs usually take {value}."),
        lambda rng, _category, _company: _business_days(rng.randint(3, 12)), revisable=True,
        restatements=("A typical repair takes {value}.", "Repaired products are usually back within {value}.",
                      "The usual repair turnaround is {value}.", "{company} completes most repairs in {value}."),
    ),
    "loyalty_discount": Attribute(
        "What discount do {company} loyalty members get?",
        "How much do members of the {company} loyalty programme save?",
        ("Loyalty programme members save {value} on every order.",
         "Members of the loyalty programme get a {value} discount."),
        lambda rng, _category, _company: _percent(rng.randint(3, 15)), revisable=True,
        restatements=("The loyalty programme gives members {value} off every order.",
                      "Loyalty members receive a discount of {value}.",
                      "Joining the loyalty programme saves {value} on each purchase.",
                      "{company} gives loyalty members {value} off."),
    ),
}


def _ask(attribute: str, entity: str, company: str, paraphrase: bool) -> str:
    spec = ATTRIBUTES[attribute]
    return (spec.question_b if paraphrase else spec.question_a).format(entity=entity, company=company)
