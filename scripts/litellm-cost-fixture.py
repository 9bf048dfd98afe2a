#!/usr/bin/env python3
"""Writes Tests/BillingPluginTests/Fixtures/litellm-costs.json: LiteLLM's own cost for a set of
(model, usage, service) cases, computed from the price list bundled with Tollgate, so the billing
plugin's tests can check Tollgate's integer costs against LiteLLM's to the nano-unit.

    python3 scripts/litellm-cost-fixture.py

It installs litellm==1.108.7 into .build/litellm-venv on first use (PyPI) and re-runs itself
there. LiteLLM reads our snapshot (LITELLM_LOCAL_MODEL_COST_MAP, then model_cost replaced by our
file), never the network.
"""
import json
import os
import subprocess
import sys
import venv
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

LITELLM_VERSION = "1.108.7"
ROOT = Path(__file__).resolve().parent.parent
PRICES = ROOT / "Sources/TollgateCore/Resources/model_prices_and_context_window.json"
OUT = ROOT / "Tests/BillingPluginTests/Fixtures/litellm-costs.json"
VENV = ROOT / ".build/litellm-venv"


def ensure_litellm():
    """Re-executes this script inside a venv that has the pinned litellm."""
    try:
        import litellm  # noqa: F401
        from importlib.metadata import version
        if version("litellm") == LITELLM_VERSION:
            return
    except ImportError:
        pass
    python = VENV / "bin/python"
    if os.environ.get("TOLLGATE_FIXTURE_IN_VENV"):
        sys.exit(f"litellm {LITELLM_VERSION} is not importable in {VENV}")
    if not python.exists():
        venv.create(VENV, with_pip=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", f"litellm=={LITELLM_VERSION}"], check=True)
    env = dict(os.environ, TOLLGATE_FIXTURE_IN_VENV="1")
    os.execve(str(python), [str(python), __file__, *sys.argv[1:]], env)


os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"  # before litellm is imported: no fetch
ensure_litellm()

import litellm  # noqa: E402
from litellm.cost_calculator import batch_cost_calculator, cost_per_token  # noqa: E402
from litellm.types.utils import (  # noqa: E402
    CacheCreationTokenDetails,
    CompletionTokensDetailsWrapper,
    PromptTokensDetailsWrapper,
    Usage,
)

OURS = json.loads(PRICES.read_text())
litellm.model_cost.clear()
litellm.model_cost.update(OURS)


def usage(prompt, completion=0, cache_read=0, cache_creation=0, cache_creation_1h=0, audio_prompt=0,
          reasoning=0, audio_completion=0):
    return dict(prompt=prompt, completion=completion, cache_read=cache_read, cache_creation=cache_creation,
                cache_creation_1h=cache_creation_1h, audio_prompt=audio_prompt, reasoning=reasoning,
                audio_completion=audio_completion)


def litellm_usage(u):
    details = None
    if u["cache_read"] or u["cache_creation"] or u["audio_prompt"]:
        creation_details = None
        if u["cache_creation_1h"]:
            creation_details = CacheCreationTokenDetails(
                ephemeral_5m_input_tokens=u["cache_creation"] - u["cache_creation_1h"],
                ephemeral_1h_input_tokens=u["cache_creation_1h"])
        details = PromptTokensDetailsWrapper(
            cached_tokens=u["cache_read"] or None, cache_creation_tokens=u["cache_creation"] or None,
            audio_tokens=u["audio_prompt"] or None, cache_creation_token_details=creation_details)
    completion_details = None
    if u["reasoning"] or u["audio_completion"]:
        completion_details = CompletionTokensDetailsWrapper(
            reasoning_tokens=u["reasoning"] or None, audio_tokens=u["audio_completion"] or None)
    result = Usage(prompt_tokens=u["prompt"], completion_tokens=u["completion"],
                   total_tokens=u["prompt"] + u["completion"],
                   prompt_tokens_details=details, completion_tokens_details=completion_details)
    # The plugin's convention is LiteLLM's: prompt includes cache reads and writes.
    assert result.prompt_tokens == u["prompt"], (result.prompt_tokens, u)
    return result


# Cases where Tollgate's rule deliberately differs from LiteLLM's (see docs/billing.md).
DIFFERENCES = {
    "cache-default": "no cache price in the entry: Tollgate bills cache reads at 10% and cache writes at 125% of input "
                     "(SPEC defaults); LiteLLM bills them at the full input price",
    "batch-cache": "batch with *_batches input but no cache_read_input_token_cost_batches: Tollgate bills cache reads "
                   "at 50% of the cache-read price; LiteLLM bills them as uncached input at the batch input price",
    "batch-tiered": "batch above an _above_Nk threshold without an _above_Nk_batches price: tiered comes before batch "
                    "in Tollgate's rule order, so the _above_Nk price applies; LiteLLM uses the flat *_batches price",
    "priority-default": "priority without *_priority prices: Tollgate applies the SPEC default of 170% of standard; "
                        "LiteLLM falls back to the standard price",
    "priority-cache": "priority with *_priority input but no cache_read_input_token_cost_priority: Tollgate bills "
                      "cache reads at 170% of the cache-read price; LiteLLM at the standard cache-read price",
    "batch-reasoning": "batch with a separate reasoning price: Tollgate bills reasoning at 50% of the reasoning price; "
                       "LiteLLM's batch calculator bills every completion token at the batch output price",
}

# (provider, entry key, usage, service, difference-key or None, note)
CASES = [
    # OpenAI
    ("openai", "gpt-4o", usage(1200, 300), "standard", None, "plain"),
    ("openai", "gpt-4o", usage(100_000, 50_000, cache_read=50_000), "standard", None, "cache read"),
    ("openai", "gpt-4o", usage(10_000, 2_000, cache_read=4_096), "priority", None, "priority with cache read"),
    ("openai", "gpt-4o", usage(10_000, 2_000), "batch", None, "batch"),
    ("openai", "gpt-4o", usage(10_000, 2_000, cache_read=4_096), "batch", "batch-cache", "batch with cache read"),
    ("openai", "gpt-4o-mini", usage(3_333, 777), "standard", None, "odd counts"),
    ("openai", "gpt-4o-mini", usage(3_333, 777), "priority", None, "priority"),
    ("openai", "gpt-4o-mini", usage(3_333, 777, cache_read=1_024), "standard", None, "cache read"),
    ("openai", "o3", usage(5_000, 8_000, reasoning=6_000), "standard", None, "reasoning at output price"),
    ("openai", "o3", usage(5_000, 8_000, cache_read=2_048, reasoning=6_000), "priority", None, "priority reasoning"),
    ("openai", "o3", usage(5_000, 8_000, reasoning=6_000), "batch", None, "batch reasoning"),
    ("openai", "gpt-5", usage(20_000, 4_000, cache_read=10_000), "standard", None, "cache read"),
    ("openai", "gpt-5", usage(20_000, 4_000, cache_read=10_000), "priority", None, "priority cache read"),
    ("openai", "gpt-5", usage(20_000, 4_000, cache_read=10_000), "batch", None, "batch cache read"),
    ("openai", "gpt-5", usage(20_000, 4_000, cache_read=10_001), "batch", None, "batch cache read, half nano"),
    ("openai", "gpt-5.4", usage(272_000, 1_000), "standard", None, "at the 272k threshold (not above)"),
    ("openai", "gpt-5.4", usage(272_001, 1_000), "standard", None, "above 272k"),
    ("openai", "gpt-5.4", usage(300_000, 2_000, cache_read=200_000), "standard", None, "above 272k with cache"),
    ("openai", "gpt-5.4", usage(300_000, 2_000, cache_read=200_000), "batch", None, "above 272k, batch prices"),
    ("openai", "gpt-5.4", usage(100_000, 2_000, cache_read=50_000), "batch", None, "batch below threshold"),
    ("openai", "gpt-5.4", usage(100_000, 2_000, cache_read=50_000), "priority", None, "priority"),
    ("openai", "gpt-audio", usage(2_000, 1_500, audio_prompt=1_200, audio_completion=1_000), "standard", None, "audio in and out"),
    ("openai", "gpt-audio", usage(2_000, 1_500), "standard", None, "text only"),
    # Anthropic
    ("anthropic", "claude-sonnet-4-5", usage(100_000, 50_000, cache_read=50_000), "standard", None, "SPEC cache example"),
    ("anthropic", "claude-sonnet-4-5", usage(30_000, 1_000, cache_read=10_000, cache_creation=15_000), "standard", None, "5m writes"),
    ("anthropic", "claude-sonnet-4-5", usage(30_000, 1_000, cache_read=10_000, cache_creation=15_000, cache_creation_1h=5_000), "standard", None, "1h writes"),
    ("anthropic", "claude-sonnet-4-5", usage(30_000, 1_000, cache_read=10_000, cache_creation=15_000), "batch", None, "batch with cache"),
    ("anthropic", "claude-sonnet-4-5", usage(30_000, 1_000), "batch", None, "batch"),
    ("anthropic", "claude-haiku-4-5", usage(12_345, 678, cache_read=4_000, cache_creation=2_000), "standard", None, "haiku cache"),
    ("anthropic", "claude-haiku-4-5", usage(12_345, 678), "batch", None, "haiku batch"),
    ("anthropic", "claude-opus-4-5", usage(50_000, 5_000, cache_read=20_000, cache_creation=10_000, cache_creation_1h=10_000), "standard", None, "opus 1h"),
    ("anthropic", "claude-opus-4-5", usage(50_000, 5_000, reasoning=3_000), "standard", None, "thinking tokens"),
    ("anthropic", "claude-sonnet-4-6", usage(250_000, 4_000, cache_read=100_000), "standard", None, "long context"),
    # Gemini
    ("gemini", "gemini/gemini-2.5-pro", usage(200_000, 3_000), "standard", None, "at 200k (not above)"),
    ("gemini", "gemini/gemini-2.5-pro", usage(200_001, 3_000), "standard", None, "above 200k"),
    ("gemini", "gemini/gemini-2.5-pro", usage(250_000, 3_000, cache_read=100_000), "standard", None, "above 200k with cache"),
    ("gemini", "gemini/gemini-2.5-pro", usage(250_000, 3_000, cache_read=100_000), "priority", None, "above 200k, priority prices"),
    ("gemini", "gemini/gemini-2.5-pro", usage(50_000, 3_000, cache_read=10_000), "priority", None, "priority"),
    ("gemini", "gemini/gemini-2.5-pro", usage(50_000, 3_000), "batch", None, "batch"),
    ("gemini", "gemini/gemini-2.5-pro", usage(250_000, 3_000), "batch", "batch-tiered", "batch above 200k"),
    ("gemini", "gemini/gemini-2.5-pro", usage(50_000, 9_000, reasoning=6_000), "standard", None, "thinking"),
    ("gemini", "gemini/gemini-2.5-flash", usage(10_000, 2_000, audio_prompt=4_000), "standard", None, "audio prompt"),
    ("gemini", "gemini/gemini-2.5-flash", usage(10_000, 2_000, cache_read=3_000), "standard", None, "cache read"),
    ("gemini", "gemini/gemini-2.5-flash", usage(10_000, 6_000, reasoning=5_000), "standard", None, "reasoning price"),
    ("gemini", "gemini/gemini-2.5-flash", usage(10_000, 2_000, cache_read=3_000), "priority", None, "priority"),
    ("gemini", "gemini/gemini-2.5-flash", usage(10_000, 2_000, audio_prompt=4_000), "priority", None, "priority audio"),
    ("gemini", "gemini/gemini-2.5-flash", usage(10_000, 2_000, cache_read=3_000), "batch", None, "batch"),
    ("gemini", "gemini/gemini-3.1-pro-preview", usage(210_000, 1_000, cache_read=20_000), "standard", None, "3.1 above 200k"),
    # Bedrock
    ("bedrock", "anthropic.claude-3-5-sonnet-20240620-v1:0", usage(100_000, 50_000, cache_read=50_000), "standard", None, "cache read"),
    ("bedrock", "anthropic.claude-3-5-sonnet-20240620-v1:0", usage(20_000, 500, cache_creation=8_000), "standard", None, "cache write"),
    ("bedrock", "us.anthropic.claude-sonnet-4-5-20250929-v1:0", usage(150_000, 2_000, cache_read=50_000, cache_creation=20_000, cache_creation_1h=5_000), "standard", None, "1h writes"),
    ("bedrock", "us.anthropic.claude-sonnet-4-5-20250929-v1:0", usage(220_000, 2_000, cache_read=50_000, cache_creation=20_000, cache_creation_1h=5_000), "standard", None, "above 200k, 1h writes"),
    ("bedrock", "us.anthropic.claude-sonnet-4-5-20250929-v1:0", usage(120_000, 2_000), "batch", None, "batch"),
    ("bedrock", "amazon.nova-pro-v1:0", usage(7_000, 900, cache_read=3_000), "standard", None, "nova cache"),
    ("bedrock", "amazon.nova-pro-v1:0", usage(7_000, 900, cache_read=3_000), "priority", None, "nova priority"),
    ("bedrock", "amazon.nova-pro-v1:0", usage(7_000, 900), "batch", None, "nova batch"),
    ("bedrock", "amazon.nova-micro-v1:0", usage(7_001, 901), "standard", None, "nova micro"),
    ("bedrock", "meta.llama3-70b-instruct-v1:0", usage(4_000, 1_000), "standard", None, "llama"),
    ("bedrock", "meta.llama3-70b-instruct-v1:0", usage(4_000, 1_000), "batch", None, "llama batch default 50%"),
    ("bedrock", "meta.llama3-70b-instruct-v1:0", usage(4_000, 1_000), "priority", "priority-default", "llama priority default"),
    ("bedrock", "meta.llama3-70b-instruct-v1:0", usage(4_000, 1_000, cache_read=1_000), "standard", "cache-default", "no cache price"),
    # DashScope (tiered_pricing, whole-request)
    ("dashscope", "dashscope/qwen3-max", usage(32_000, 1_000), "standard", None, "tier 0 upper bound"),
    ("dashscope", "dashscope/qwen3-max", usage(32_001, 1_000), "standard", None, "tier 1"),
    ("dashscope", "dashscope/qwen3-max", usage(150_000, 1_000), "standard", None, "tier 2 (whole request)"),
    ("dashscope", "dashscope/qwen3-max", usage(300_000, 1_000), "standard", None, "past the last tier"),
    ("dashscope", "dashscope/qwen3-max", usage(150_000, 1_000), "priority", None, "tiered beats priority"),
    ("dashscope", "dashscope/qwen3-coder-plus", usage(100_000, 4_000, cache_read=60_000), "standard", None, "tier cache read"),
    ("dashscope", "dashscope/qwen3-coder-plus", usage(300_000, 4_000, cache_read=60_000), "standard", None, "top tier cache read"),
    ("dashscope", "dashscope/qwen3-coder-plus", usage(10_000, 4_000), "standard", None, "first tier"),
    ("dashscope", "dashscope/qwen-plus-2025-07-28", usage(100_000, 9_000, reasoning=5_000), "standard", None, "tier reasoning price"),
    ("dashscope", "dashscope/qwen-plus-2025-07-28", usage(300_000, 9_000, reasoning=5_000), "standard", None, "upper tier reasoning"),
    ("dashscope", "dashscope/qwen-flash", usage(256_000, 2_000), "standard", None, "flash at tier bound"),
    ("dashscope", "dashscope/qwen-flash", usage(256_001, 2_000), "standard", None, "flash upper tier"),
    ("dashscope", "dashscope/qwen-turbo", usage(8_000, 3_000, reasoning=2_000), "standard", None, "reasoning price"),
    ("dashscope", "dashscope/qwen-turbo", usage(8_000, 3_000, reasoning=2_000), "batch", "batch-reasoning", "batch reasoning"),
    ("dashscope", "dashscope/qwen3-coder-plus-2025-07-22", usage(50_000, 1_000, cache_read=20_000), "standard", "cache-default", "tier without cache price"),
]


def litellm_cost(provider, key, u, service):
    lu = litellm_usage(u)
    if service == "batch":
        prompt, completion = batch_cost_calculator(lu, key, custom_llm_provider=provider)
    else:
        prompt, completion = cost_per_token(model=key, custom_llm_provider=provider, usage_object=lu,
                                            service_tier="priority" if service == "priority" else None)
    return prompt + completion


def main():
    cases = []
    for provider, key, u, service, difference, note in CASES:
        assert key in OURS, f"{key} is not in the bundled price list"
        cost = litellm_cost(provider, key, u, service)
        nano = Decimal(repr(cost)) * Decimal(10**9)
        case = {
            "model": key.split("/")[-1],
            "entry": key,
            "provider": provider,
            "note": note,
            "usage": {k: v for k, v in u.items() if v},
            "batch": service == "batch",
            "priority": service == "priority",
            "litellm_cost": repr(cost),
            "litellm_nano": int(nano.quantize(Decimal(1), rounding=ROUND_HALF_UP)),
        }
        # LiteLLM sums floats: an exact x.5 nano can come out a hair either side of .5.
        if abs(nano - nano.to_integral_value(rounding="ROUND_FLOOR") - Decimal("0.5")) < Decimal("0.001"):
            case["half_nano"] = True
        if difference:
            case["difference"] = DIFFERENCES[difference]
        cases.append(case)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({
        "generator": "scripts/litellm-cost-fixture.py",
        "litellm": LITELLM_VERSION,
        "prices": str(PRICES.relative_to(ROOT)),
        "cases": cases,
    }, indent=1) + "\n")
    print(f"wrote {len(cases)} cases to {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
