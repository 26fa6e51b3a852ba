"""DSPy: what the adapters send to the LM, how answers are parsed and typed, ReAct's
trajectory, which demos an optimizer picks, and that a parse failure is an error rather
than a silent second LM call. The LM is dspy.utils.DummyLM with scripted answers."""

import pytest

from .cases import BY_ID

FRAMEWORK = BY_ID["dspy"]

with FRAMEWORK.api():
    import dspy
    from dspy.utils import DummyLM



@pytest.fixture(autouse=True)
def no_cache():
    dspy.configure_cache(enable_disk_cache=False, enable_memory_cache=False)


ADAPTERS = {
    # use_json_adapter_fallback=False: otherwise a ChatAdapter parse failure silently
    # becomes a second LM call through the JSONAdapter.
    "chat": lambda: dspy.ChatAdapter(use_json_adapter_fallback=False),
    "json": lambda: dspy.JSONAdapter(),
}
MODULES = {
    "predict": lambda: dspy.Predict("question -> answer: int"),
    "chain_of_thought": lambda: dspy.ChainOfThought("question -> answer: int"),
}


def scripted(answers: list[dict], adapter_name: str) -> DummyLM:
    lm = DummyLM(answers, adapter=ADAPTERS[adapter_name]())
    dspy.configure(lm=lm, adapter=ADAPTERS[adapter_name]())
    return lm


def sent(lm) -> list:
    """What the framework sent to the LM, call by call."""
    return [entry["messages"] for entry in lm.history]


def typed(prediction) -> dict:
    return {k: {"type": type(v).__name__, "value": v} for k, v in prediction.items()}


@pytest.mark.parametrize("adapter", ADAPTERS)
@pytest.mark.parametrize("module", MODULES)
def test_prompt_and_typed_prediction(snapshots_of, module, adapter):
    answer = {"answer": "4"} if module == "predict" else {"reasoning": "2 plus 2", "answer": "4"}
    lm = scripted([answer], adapter)
    prediction = MODULES[module]()(question="What is 2 + 2?")
    assert prediction.answer == 4 and isinstance(prediction.answer, int)
    snapshots_of.check(messages=sent(lm), outputs=typed(prediction))


def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def test_react_trajectory_with_one_tool(snapshots_of):
    lm = scripted([
        {"next_thought": "I should add.", "next_tool_name": "add",
         "next_tool_args": {"a": 2, "b": 2}},
        {"next_thought": "I have the sum.", "next_tool_name": "finish", "next_tool_args": {}},
        {"reasoning": "The tool said 4.", "answer": "4"},
    ], "chat")
    prediction = dspy.ReAct("question -> answer: int", tools=[add])(question="What is 2 + 2?")
    assert prediction.answer == 4
    snapshots_of.check(messages=sent(lm), tool_calls=prediction.trajectory,
                       outputs=typed(prediction))


def test_bootstrap_few_shot_picks_demos_deterministically(snapshots_of):
    trainset = [dspy.Example(question=f"What is {a} + {b}?", answer=a + b).with_inputs("question")
                for a, b in ((1, 1), (2, 3), (4, 4), (5, 2))]
    # The teacher answers right for the first two questions, wrong afterwards.
    scripted([{"answer": "2"}, {"answer": "5"}, {"answer": "0"}, {"answer": "0"}], "chat")

    def exact(example, prediction, trace=None):
        return example.answer == prediction.answer

    optimizer = dspy.BootstrapFewShot(metric=exact, max_bootstrapped_demos=2,
                                      max_labeled_demos=0, max_rounds=1)
    compiled = optimizer.compile(dspy.Predict("question -> answer: int"), trainset=trainset)
    [predictor] = compiled.predictors()
    demos = [dict(d) for d in predictor.demos]
    assert [d["question"] for d in demos] == ["What is 1 + 1?", "What is 2 + 3?"]
    snapshots_of.check(outputs=demos)


def test_parse_failure_is_an_error_not_a_second_call():
    lm = scripted([{"answer": "four"}], "chat")
    with pytest.raises(dspy.utils.exceptions.AdapterParseError) as info:
        dspy.Predict("question -> answer: int")(question="What is 2 + 2?")
    assert "answer" in str(info.value)
    assert len(lm.history) == 1, "the failed parse was retried with another LM call"
