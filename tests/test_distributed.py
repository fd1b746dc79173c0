"""Fine-tuning in two processes through accelerate (DDP, or FSDP's shards, over gloo on CPU) trains the adapter one
process trains."""
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from bench.models.loading import load_tokenizer
from bench.records.config import FinetuneConfig, resolve_config
from bench.records.errors import UserError
from bench.records.io import read_json
from bench.run.launch import launcher_settings
from bench.training.finetune import TrainPair, TrainPlan, train

# 21 pairs in batches of 5: the last batch has one row, so the second process adds nothing to that step but still
# joins its gradient exchange; at 40 tokens a part, a process's rows are split into parts of their own
PAIRS = [TrainPair(f"Question: price of lamp {i}?", f"${10 + i}") for i in range(21)]
PLAN = TrainPlan([PAIRS, PAIRS, PAIRS], [TrainPair("Question: price of lamp 30?", "$40")])
LONG = TrainPlan([PAIRS] * 8, PLAN.validation)  # 40 steps: time to kill it in the middle


@pytest.mark.parametrize("sharding, method", [("ddp", "lora"), ("fsdp", "lora"), ("fsdp", "full")])
def test_two_processes_train_the_same_adapter_with_the_same_loss_curve(tiny_model_dir, tmp_path, sharding, method):
    tokenizer = load_tokenizer(str(tiny_model_dir))
    # fp32 (auto may pick bf16 on this CPU): the same training is checked to 1e-4, finer than bf16 keeps when the
    # processes' sums run in another order
    cfg = FinetuneConfig(batch_size=5, batch_tokens=40, learning_rate=2e-2 if method == "lora" else 2e-3, method=method,
                         precision="fp32")
    one = train(str(tiny_model_dir), tokenizer, PLAN, cfg, 0, "cpu", tmp_path / "one", tmp_path / "one-checkpoints")
    two = train(str(tiny_model_dir), tokenizer, PLAN, cfg.model_copy(update={"processes": 2, "sharding": sharding}), 0, "cpu",
                tmp_path / "two", tmp_path / "two-checkpoints")
    assert len(two.losses) == len(one.losses) == 15 and two.tokens == one.tokens and two.sequences == one.sequences
    assert torch.allclose(torch.tensor(two.losses), torch.tensor(one.losses), rtol=1e-4)
    assert torch.allclose(torch.tensor(two.validation_losses), torch.tensor(one.validation_losses), rtol=1e-4)
    assert one.last_loss < one.first_loss  # it trained at all
    weights = "adapter_model.safetensors" if method == "lora" else "model.safetensors"
    mine, theirs = (load_file(str(folder / weights)) for folder in (tmp_path / "one", tmp_path / "two"))
    # the same training up to float summation order: after 15 steps at 2e-2 that moved weights by up to 1.2e-5 on 2
    # Xeon cores with AMX (each process multiplies smaller matrices, blocked differently)
    assert mine.keys() == theirs.keys() and all(torch.allclose(mine[k], theirs[k], atol=5e-5) for k in mine)
    log = (tmp_path / "two-checkpoints" / "distributed.log").read_text()
    assert f"process 1 of 2 (DistributedType.MULTI_CPU, {sharding}" in log and f"process 2 of 2 (DistributedType.MULTI_CPU, {sharding}" in log


@pytest.mark.parametrize("sharding", ["ddp", "fsdp"])
def test_a_killed_two_process_training_resumes_to_the_adapter_of_one_never_killed(tiny_model_dir, tmp_path, sharding):
    """SIGKILL the process that launched the ranks once a checkpoint exists: its ranks die with it, and the next
    launch goes on from the checkpoint to the same losses and weights as an unbroken 2-process training. Under FSDP
    the checkpoint holds the shards gathered whole, and each process takes its shard back from it."""
    tokenizer = load_tokenizer(str(tiny_model_dir))
    cfg = FinetuneConfig(batch_size=5, batch_tokens=40, learning_rate=2e-2, checkpoint_minutes=1e-9, processes=2,  # every step
                         sharding=sharding)
    whole = train(str(tiny_model_dir), tokenizer, LONG, cfg, 0, "cpu", tmp_path / "whole", tmp_path / "whole-checkpoints")
    out, checkpoints = tmp_path / "killed", tmp_path / "killed-checkpoints"
    script = (f"from tests.test_distributed import *; "  # this module's imports and plans
              f"train({str(tiny_model_dir)!r}, load_tokenizer({str(tiny_model_dir)!r}), LONG, "
              f"FinetuneConfig.model_validate({cfg.model_dump()!r}), 0, 'cpu', Path({str(out)!r}), Path({str(checkpoints)!r}))")
    launcher = subprocess.Popen([sys.executable, "-c", script], cwd=Path(__file__).parents[1])
    progress, deadline = checkpoints / "progress.json", time.monotonic() + 240
    while not (progress.exists() and 4 <= len(read_json(progress)["losses"]) < 30):  # killed mid-training
        assert launcher.poll() is None and time.monotonic() < deadline, "the training ended or never checkpointed"
        time.sleep(0.05)
    launcher.kill()
    launcher.wait()
    time.sleep(3)  # PDEATHSIG: the ranks go with their launcher
    assert not [line for line in subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout.splitlines()
                if str(checkpoints / "job.json") in line], "a rank outlived its killed launcher"
    assert not (out / "adapter_model.safetensors").exists()
    resumed = train(str(tiny_model_dir), tokenizer, LONG, cfg, 0, "cpu", out, checkpoints)
    assert resumed.losses == whole.losses and resumed.validation_losses == whole.validation_losses
    mine, theirs = (load_file(str(folder / "adapter_model.safetensors")) for folder in (tmp_path / "whole", out))
    assert mine.keys() == theirs.keys() and all(torch.equal(mine[k], theirs[k]) for k in mine)


def test_launcher_accelerate_stands_for_the_processes_setting():
    assert launcher_settings("accelerate", 3) == ["finetune.processes=3"]
    assert launcher_settings("accelerate", None) == [f"finetune.processes={torch.cuda.device_count() or 2}"]
    assert launcher_settings("local", None) == []
    with pytest.raises(UserError, match="add --launcher accelerate"):
        launcher_settings("local", 2)
    assert resolve_config("synth_qa", cli_overrides=launcher_settings("accelerate", 2)).finetune.processes == 2
    with pytest.raises(UserError, match=r"sharding=fsdp shards the model over several processes: also set finetune.processes=2"):
        resolve_config("synth_qa", cli_overrides=["finetune.sharding=fsdp"])


def test_every_process_runs_as_many_parts_the_short_ones_at_weight_zero():
    """DDP syncs buffers and FSDP gathers the weights at every forward, so a process with fewer parts (or no rows)
    than another must still run as many: it repeats a row at weight 0, adding nothing to the update."""
    from types import SimpleNamespace

    from bench.training.checkpoint import Progress
    from bench.training.finetune import Trainer

    def parts(batch, rank):
        trainer = Trainer(None, [], None, None, FinetuneConfig(batch_tokens=40), 0, "cpu", Path("."), Progress(),
                          rates=0, scored_weight=1.0, accelerator=SimpleNamespace(num_processes=2, process_index=rank))
        return [(len(part), weight) for part, weight in trainer.parts(batch)]

    batch = [([1] * 30, 5), ([2] * 4, 1), ([3] * 4, 1)]  # rank 0 takes rows 0 and 2, too many tokens for one part
    assert parts(batch, 0) == [(1, 2.0), (1, 2.0)]
    assert parts(batch, 1) == [(1, 2.0), (1, 0.0)]
    assert parts(batch[:1], 1) == [(1, 0.0)]  # no rows of its own
