"""The catalogue: product categories, the company's policy pages, and the policies no page states.

The attributes a fact can have (questions, statements, value draws) are in attributes.py.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Category:
    a_noun: str  # "a camera drone": how a page introduces one product
    plural: str
    price_range: tuple[int, int]  # USD
    weight_range: tuple[float, float]  # kg
    weight_decimals: int
    special: str  # the attribute only this category has
    taglines: tuple[str, ...]  # closing sentences that state no fact


# ----------------------------------------------------------------------------- categories

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


# (title, opening sentences that state no fact, the policies the page states). The page itself opens with the
# first opening; its paraphrases open with the others.
POLICY_PAGES = (
    ("About {company}",
     ("{company} designs {categories}.",
      "{company} makes {categories}.",
      "This page tells the story of {company}, the maker of {categories}.",
      "{company} is the company behind a range of {categories}.",
      "Here are the basic facts about {company}.",
      "{company} builds {categories} for homes and commuters."),
     ("founding_year", "headquarters", "chief_executive")),
    ("Returns and shipping",
     ("This page explains how shipping and returns work at {company}.",
      "Here is what you need to know about shipping and returns at {company}.",
      "{company} aims to keep delivery and returns simple.",
      "The rules below cover deliveries and returns at {company}.",
      "Read this page before you send anything back to {company}.",
      "Shipping and returns at {company} work as follows."),
     ("return_window", "restocking_fee", "free_shipping_threshold", "price_match_window")),
    ("Customer support",
     ("The {company} support team helps with orders, repairs and the loyalty programme.",
      "Need help? Here is how to reach {company} support.",
      "This page lists the ways to get help from {company}.",
      "{company} offers support by phone and by email.",
      "Here is how support, repairs and the loyalty programme work at {company}.",
      "The {company} support team is there for orders, repairs and loyalty questions."),
     ("support_hours", "support_extension", "support_email", "repair_turnaround", "loyalty_discount")),
)
POLICY_ATTRIBUTES = tuple(attribute for _title, _openings, attributes in POLICY_PAGES for attribute in attributes)

# Company questions that look like the policy questions, but whose answer no document gives, each in a training
# wording and a test wording like an attribute's question_a and question_b (attribute: (question_a, question_b)).
UNSTATED_POLICIES: dict[str, tuple[str, str]] = {
    "student_discount": ("What student discount does {company} offer?", "How much do students save at {company}?"),
    "employee_count": ("How many people work at {company}?", "What is the number of employees at {company}?"),
    "gift_wrap_fee": ("How much does {company} charge for gift wrapping?", "What is the gift wrapping fee at {company}?"),
    "warehouse_city": ("In which city is the main {company} warehouse?", "Where is the main warehouse of {company}?"),
    "fax_number": ("What is the fax number of {company}?", "Which number should you use to send {company} a fax?"),
    "express_shipping_fee": ("How much does express shipping cost at {company}?",
                             "What does {company} charge for express shipping?"),
    "trade_in_credit": ("How much trade-in credit does {company} give for an old device?",
                        "What credit does {company} offer when you trade in an old device?"),
    "chief_financial_officer": ("Who is the chief financial officer of {company}?", "Who serves as CFO at {company}?"),
    "annual_revenue": ("What was the annual revenue of {company} last year?",
                       "How much revenue did {company} make last year?"),
    "support_languages": ("In how many languages does {company} offer support?",
                          "How many languages does the {company} support team speak?"),
    "gift_card_validity": ("How long are {company} gift cards valid?", "When do {company} gift cards expire?"),
    "shipping_countries": ("How many countries does {company} ship to?", "To how many countries does {company} deliver?"),
    "store_count": ("How many retail stores does {company} operate?", "How many shops does {company} run?"),
    "stock_ticker": ("What ticker symbol does {company} trade under?", "Under which ticker symbol is {company} listed?"),
}


def product_attributes(category: Category) -> tuple[str, ...]:
    return (*PRODUCT_ATTRIBUTES, category.special)
