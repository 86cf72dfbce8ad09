"""Prometheus metrics the workers record; the health server exposes them."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

POSTS_PUBLISHED = Counter("curator_posts_total", "Publication outcomes", ["platform", "outcome"])
RUN_DURATION = Histogram(
    "curator_worker_run_seconds",
    "Duration of one worker run",
    ["worker"],
    buckets=(0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
)
RUN_FAILURES = Counter("curator_worker_run_failures_total", "Worker runs that raised", ["worker"])
QUEUE_DEPTH = Gauge("curator_queue_depth", "Posts due and not yet published")
LATENESS = Histogram(
    "curator_publish_lateness_seconds",
    "Seconds between a post's scheduled time and its publication",
    ["platform"],
    buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900, 3600),
)
RULES_EXECUTED = Counter("curator_rules_total", "Rule executions", ["outcome"])
AI_TOKENS = Counter("curator_ai_tokens_total", "Tokens used by AI generation", ["kind"])
