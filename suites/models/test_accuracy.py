"""BERT and Mamba classify IMDB reviews as well as they should.

On a seeded, stratified sample of the test split (max_length 256, batch 32): the model's
positive class is the dataset's positive label (checked, not assumed); its accuracy is at
least the expected value, allowing for the sample's binomial confidence interval (the
profile's baseline for fixture models, the model card for the hub checkpoints:
suites/models/policy.py MODEL_ACCURACY_FLOOR); BERT's attn_implementation variants predict
the same labels; and the Mamba checkpoint gives the same logits through mamba_ssm as
through transformers.
"""

import pytest
import torch

from stackqual.intervals import clopper_pearson

from . import data, loading
from . import policy as suite_policy
from .cases import model_cases


def evaluate(case, loaded):
    sample = data.sample(data.load(case.data), case.samples)
    logits = loading.predict(loaded, sample.texts, case.max_length, case.batch)
    return sample, logits


@pytest.mark.parametrize("case", model_cases())
def test_positive_class_is_the_datasets_positive_label(case, gate, load_model):
    """LABEL_1 must mean positive: compare the model's predictions with the labels under
    the identity and the swapped mapping; the identity must be the one far above chance."""
    loaded = load_model(case)
    sample = data.sample(data.load(case.data), 64)
    predicted = loading.predict(loaded, sample.texts, case.max_length, case.batch).argmax(-1)
    labels = torch.tensor(sample.labels)
    agree = (predicted == labels).float().mean().item()
    id2label = getattr(getattr(loaded.module, "config", None), "id2label", None)
    gate.require("positive_is_label_1", agree > 0.75, measured=round(agree, 4),
                 expected="> 0.75 agreement with LABEL_1 = positive",
                 source="IMDB: label 1 is pos (datasets ClassLabel ['neg', 'pos'])",
                 details={"id2label": id2label, "path": loaded.path},
                 message=f"{case.name} ({loaded.path}, id2label {id2label}) agrees with the "
                         f"labels on {agree:.1%} of 64 stratified reviews"
                         + (": its output 1 means negative (labels swapped)" if agree < 0.25
                            else ": it does not separate the classes"))


@pytest.mark.parametrize("case", model_cases())
def test_accuracy_at_least_expected(case, gate, load_model):
    loaded = load_model(case)
    sample, logits = evaluate(case, loaded)
    balance = data.check_balance(gate, sample)
    right = int((logits.argmax(-1) == torch.tensor(sample.labels)).sum())
    n = len(sample.labels)
    low, high = clopper_pearson(right, n, suite_policy.ACCURACY_CONFIDENCE)
    accuracy = right / n
    details = {"correct": right, "samples": n, "low": low, "high": high,
               "class_balance": balance, "path": loaded.path, "data": sample.origin,
               "max_length": case.max_length, "batch": case.batch}
    described = (f"{case.name} ({loaded.path}) on {sample.origin}: accuracy {accuracy:.4f} "
                 f"({right}/{n}), {suite_policy.ACCURACY_CONFIDENCE:.0%} interval "
                 f"[{low:.4f}, {high:.4f}]")
    floor = suite_policy.MODEL_ACCURACY_FLOOR.get(case.ref)
    if floor is not None:
        value, source = floor
        gate.require("accuracy_floor", high >= value, measured=round(accuracy, 4),
                     expected=f">= {value}", source=source, details=details,
                     message=f"{described}: the whole interval is below {value} ({source})")
        # the model card's floor is the gate until this profile has a baseline
        if not (gate.has_baseline("accuracy") or gate.update):
            gate.info("accuracy", round(accuracy, 4), **details)
            return
    gate.at_least_baseline("accuracy", round(accuracy, 4), low=low,
                           high=high, details=details, explain=described)


@pytest.mark.parametrize("case", model_cases("bert"))
def test_attn_implementations_predict_the_same_labels(case, gate, load_model):
    predictions = {}
    for impl in ("eager", "sdpa"):
        _, logits = evaluate(case, load_model(case, attn_implementation=impl))
        predictions[impl] = logits.argmax(-1)
    differ = torch.nonzero(predictions["eager"] != predictions["sdpa"]).flatten().tolist()
    gate.require("eager_sdpa_predictions_agree", not differ, measured=len(differ),
                 expected=0, source="attention implementations compute the same function",
                 message=f"{case.name}: attn_implementation eager and sdpa predict different "
                         f"labels for {len(differ)} of {case.samples} reviews (rows "
                         f"{differ[:10]})")


@pytest.mark.gpu
@pytest.mark.parametrize("case", model_cases("mamba"))
def test_mamba_ssm_and_transformers_agree(case, gate, load_model):
    pytest.importorskip("mamba_ssm", reason="mamba_ssm not installed: the checkpoint was "
                                            "checked through transformers' MambaModel only")
    loaded = load_model(case, device="cuda")
    reference = loading.mamba_format.load_mamba_ssm(loading.folder(case), "cuda")
    sample = data.sample(data.load(case.data), 64)
    enc = loaded.tokenize(sample.texts, case.max_length).to("cuda")
    with torch.no_grad():
        ours = loaded.logits(enc["input_ids"], enc["attention_mask"]).float()
        theirs = reference(enc["input_ids"]).float()
    same = torch.equal(ours.argmax(-1), theirs.argmax(-1))
    diff = (ours - theirs).abs().max().item()
    gate.require("paths_agree", same and diff < 1e-2, measured=diff, expected="< 1e-2, same "
                 "predictions", source="one checkpoint, two implementations (fp32)",
                 message=f"{case.name}: transformers ({loaded.path}) and mamba_ssm differ by "
                         f"max |logit| {diff:.3e}; same predictions: {same}")
