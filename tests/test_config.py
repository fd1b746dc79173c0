import pytest

from bench.records.config import resolve_config
from bench.records.errors import UserError


def test_command_line_overrides_beat_task_overrides_which_beat_defaults():
    cfg = resolve_config("t", {"retrieval": {"k": 2}, "fewshot_k": 2}, ["retrieval.k=5", "finetune.method=full"])
    assert (cfg.retrieval.k, cfg.fewshot_k, cfg.finetune.method, cfg.finetune.epochs) == (5, 2, "full", 12)


def test_learning_rate_default_depends_on_method():
    assert resolve_config("t").finetune.lr() == 1e-3
    assert resolve_config("t", cli_overrides=["finetune.method=full"]).finetune.lr() == 1e-4


def test_misspelled_setting_is_reported_with_its_path():
    with pytest.raises(UserError, match=r"retrieval\.kk: unknown key"):
        resolve_config("t", cli_overrides=["retrieval.kk=3"])


def test_unknown_arm_is_rejected():
    with pytest.raises(UserError, match=r"arms: .*Unknown arm 'fewshots'. Did you mean: fewshot\?"):
        resolve_config("t", cli_overrides=["arms=[base, fewshots]"])


def test_config_digest_changes_with_any_setting():
    assert resolve_config("t").digest() != resolve_config("t", cli_overrides=["seed=1"]).digest()
    assert resolve_config("t").digest() == resolve_config("t").digest()
