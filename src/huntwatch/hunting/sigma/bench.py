"""Time to compile and run a Sigma rule set over a tenant's lake, for ``benchmarks/hunt.py``."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from huntwatch.hunting.sigma.ruleset import SigmaRuleSet


@dataclass
class SigmaBenchmark:
    rules: int  # compiled rules evaluated
    failed: int  # rule files/rules that did not compile
    events: int  # RawEvents rows of the tenant (after after_seq)
    compile_seconds: float
    run_seconds: float
    scans: int  # rule groups evaluated (each reads its events once)
    skipped_groups: int  # rule groups whose channels/event ids the tenant never sent
    leads: int

    @property
    def events_per_second(self) -> float:
        return self.events / self.run_seconds if self.run_seconds else 0.0

    @property
    def seconds_per_million(self) -> float:
        return self.run_seconds / self.events * 1e6 if self.events else 0.0


def benchmark_rules(
    engine: Any,
    tenant: str,
    rules: SigmaRuleSet | Path | str | Iterable[Path | str],
    *,
    after_seq: int = 0,
) -> SigmaBenchmark:
    """Run every rule once over the tenant and measure; pass a loaded rule set to time the run alone."""
    started = time.perf_counter()
    ruleset = rules if isinstance(rules, SigmaRuleSet) else SigmaRuleSet.load(rules)
    compile_seconds = ruleset.seconds if isinstance(rules, SigmaRuleSet) else time.perf_counter() - started
    events = engine.query("SELECT count(*) AS n FROM RawEvents", tenant, after_seq=after_seq).column("n")[0].as_py()
    result = ruleset.evaluate(engine, tenant, after_seq=after_seq)
    return SigmaBenchmark(
        rules=len(ruleset.rules),
        failed=len(ruleset.failures),
        events=int(events),
        compile_seconds=compile_seconds,
        run_seconds=result.seconds,
        scans=result.scans,
        skipped_groups=result.skipped_groups,
        leads=len(result.leads),
    )
