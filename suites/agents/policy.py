"""The agents suite's policy: which kinds of snapshot block an upgrade and which are
reported for review. A test hands its artifacts over by these kinds
(`snapshots.check(messages=..., outputs=...)`); each kind is its own snapshot file."""

from stackqual.snapshots import Kind

SOURCE = "suites/agents/policy.py SNAPSHOT_KINDS"

SNAPSHOT_KINDS = {
    # Block: what reaches the model or the application.
    "messages": Kind(blocks=True, why="what the LM is sent (prompts, templates, message "
                     "history): a changed prompt changes every answer the application gets"),
    "outputs": Kind(blocks=True, why="parsed and typed outputs, final answers and state: what "
                    "the application reads"),
    "tool_calls": Kind(blocks=True, why="which tool is called with which arguments, and what "
                       "it returned to the agent: a changed call acts differently in the world"),
    "ranking": Kind(blocks=True, why="the order of retrieved documents: what the prompt is "
                    "built from"),
    "signals": Kind(blocks=True, why="signal handlers a framework installs when imported decide "
                    "what a scheduler's SIGTERM or a Ctrl-C does to the whole host process "
                    "(host_effects.py)"),
    # Review: a framework changes these between releases without changing behaviour.
    "events": Kind(blocks=False, why="traces, events and checkpoint history: releases add, "
                   "rename and reorder events; what the LM saw and returned is gated by "
                   "messages and outputs"),
    "scores": Kind(blocks=False, why="retrieval scores move with tokenisation, float and "
                   "scoring-formula changes (BM25 variants, idf smoothing); the ranking they "
                   "give, and which documents come back at all, is gated on its own"),
    "drawing": Kind(blocks=False, why="a graph's drawing (Mermaid) documents the graph; its "
                    "behaviour is gated by the traces and outputs"),
    "host": Kind(blocks=False, why="environment variables, loggers, threads, atexit hooks and "
                 "warnings filters a framework sets when imported: they change the host "
                 "process, reviewed rather than failed (host_effects.py)"),
    "config": Kind(blocks=False, why="serialised pipeline config: the format moves between "
                   "releases; that it round-trips is asserted in the test itself"),
}
