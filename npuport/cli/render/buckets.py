"""What `npuport buckets plan` (and `convert --buckets auto`) print: padding and truncation, defaults vs planned."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.table import Table

from npuport.cli.render.base import emit_json, line, new_table, out

if TYPE_CHECKING:
    from npuport.core.buckets import BucketPlan, Coverage


def bucket_plan(plan: BucketPlan, as_json: bool) -> None:
    if as_json:
        return emit_json(plan.to_dict())
    out.print(bucket_plan_table(plan))
    line(f"padding: share of computed tokens that are padding; truncated: texts cut by the longest bucket "
         f"(allowed: {plan.max_truncated:.1%}, or what max length {plan.max_length} cuts anyway)")


def bucket_plan_table(plan: BucketPlan) -> Table:
    from npuport.core.buckets import DEFAULT_BUCKETS

    table = new_table(f"buckets for {plan.after.texts} texts", ("", "buckets", "padding", "padding tokens", "truncated"),
                      right=("padding", "padding tokens", "truncated"), no_wrap=True)
    for name, buckets, cover in (("default", DEFAULT_BUCKETS, plan.before),
                                 ("planned", ",".join(map(str, plan.buckets)), plan.after)):
        table.add_row(name, buckets, f"{cover.waste:.1%}", f"{cover.padding:,}", _truncated(cover))
    return table


def _truncated(cover: Coverage) -> str:
    return f"{cover.truncated} ({cover.truncated_share:.1%})"
