"""Fine-tuning in two processes through accelerate (DDP over gloo, on CPU) trains the adapter one process trains."""
import torch
from safetensors.torch import load_file

from bench.models.loading import load_tokenizer
from bench.records.config import FinetuneConfig
from bench.training.finetune import TrainPair, TrainPlan, train

# 21 pairs in batches of 5: the last batch has one row, so the second process adds nothing to that step but still
# joins its gradient exchange; at 40 tokens a part, a process's rows are split into parts of their own
PAIRS = [TrainPair(f"Question: price of lamp {i}?", f"${10 + i}") for i in range(21)]
PLAN = TrainPlan([PAIRS, PAIRS, PAIRS], [TrainPair("Question: price of lamp 30?", "$40")])


def test_two_processes_train_the_same_adapter_with_the_same_loss_curve(tiny_model_dir, tmp_path):
    tokenizer = load_tokenizer(str(tiny_model_dir))
    cfg = FinetuneConfig(batch_size=5, batch_tokens=40, learning_rate=2e-2)
    one = train(str(tiny_model_dir), tokenizer, PLAN, cfg, 0, "cpu", tmp_path / "one", tmp_path / "one-checkpoints")
    two = train(str(tiny_model_dir), tokenizer, PLAN, cfg.model_copy(update={"processes": 2}), 0, "cpu", tmp_path / "two",
                tmp_path / "two-checkpoints")
    assert len(two.losses) == len(one.losses) == 15 and two.tokens == one.tokens and two.sequences == one.sequences
    assert torch.allclose(torch.tensor(two.losses), torch.tensor(one.losses), rtol=1e-4)
    assert torch.allclose(torch.tensor(two.validation_losses), torch.tensor(one.validation_losses), rtol=1e-4)
    assert one.last_loss < one.first_loss  # it trained at all
    mine, theirs = (load_file(str(folder / "adapter_model.safetensors")) for folder in (tmp_path / "one", tmp_path / "two"))
    assert mine.keys() == theirs.keys() and all(torch.allclose(mine[k], theirs[k], atol=1e-5) for k in mine)
    log = (tmp_path / "two-checkpoints" / "distributed.log").read_text()
    assert "process 1 of 2 (DistributedType.MULTI_CPU" in log and "process 2 of 2 (DistributedType.MULTI_CPU" in log
