"""A fictional company's knowledge base, its documents, and QA, classification and drafting tasks about it.

The company, its products and its policies are invented, so no pretrained model
can know them: a correct answer has to come from fine-tuning or retrieval. All
randomness comes from random.Random instances derived from one seed (never the
global generator), so one seed always writes byte-identical files.

Modules, bottom up: surface (surface forms of values), names (invented words),
catalogue (categories, policy pages, unstated policies), attributes (how a fact
is asked, stated and drawn), kb (the knowledge base and its revision), corpus
(documents), paraphrase (other phrasings of each document, for knowledge
fine-tuning), unanswerable (questions without an answer), shared (what the task
writers share), qa, cls and draft (one task each), all_tasks.
"""
from bench.data.synth.all_tasks import write_all_tasks
from bench.data.synth.catalogue import CATEGORIES
from bench.data.synth.cls import (
    CLS_TEMPLATES, CLS_TEST_PER_PRODUCT, CLS_TRAIN_PER_PRODUCT, category_words_in, write_cls_task,
)
from bench.data.synth.corpus import Document, build_corpus
from bench.data.synth.draft import CUSTOMER_NAMES, write_draft_task
from bench.data.synth.kb import KnowledgeBase, facts_by_key, generate_kb, revise_kb
from bench.data.synth.paraphrase import PARAPHRASES_PER_DOC, Paraphrase, build_paraphrases
from bench.data.synth.qa import write_qa_task
from bench.data.synth.unanswerable import unanswerable_questions

__all__ = [
    "CATEGORIES",
    "CLS_TEMPLATES",
    "CLS_TEST_PER_PRODUCT",
    "CLS_TRAIN_PER_PRODUCT",
    "CUSTOMER_NAMES",
    "Document",
    "KnowledgeBase",
    "PARAPHRASES_PER_DOC",
    "Paraphrase",
    "build_corpus",
    "build_paraphrases",
    "category_words_in",
    "facts_by_key",
    "generate_kb",
    "revise_kb",
    "unanswerable_questions",
    "write_all_tasks",
    "write_cls_task",
    "write_draft_task",
    "write_qa_task",
]
