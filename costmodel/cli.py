"""The command line: ``costmodel compare``, ``costmodel cost``, ``costmodel models``, ``costmodel hardware``.

Thin: it parses arguments, calls :func:`costmodel.planner.compare`,
:func:`costmodel.planner.cost_table` or the catalogs, and prints a table (or writes CSV). Every error is one line on
standard error and a non-zero exit status, never a traceback. Defined in
:ref:`sec_planner`.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from typing import Sequence

import pandas as pd

__all__ = ["main", "main_entry"]

_COLUMNS = ["model", "hardware", "weight_dtype", "n_devices", "fits", "batch", "ttft_s", "tpot_s",
            "output_tokens_per_s", "output_tokens_per_s_per_user", "usd_per_1m_output_tokens", "price_source",
            "note"]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="costmodel",
        description="SLM or LLM, with numbers: compare models on devices (latency, throughput, dollars).")
    sub = p.add_subparsers(dest="command", metavar="{compare,cost,models,hardware}")
    sub.required = True
    c = sub.add_parser("compare", help="compare models on a device at a given traffic",
                       description="Serving operating point of each MODEL on the device: the fewest devices that "
                                   "hold it, TTFT, TPOT, output tokens/s and, with --price or --date, $ per 1M output "
                                   "tokens.")
    c.add_argument("models", nargs="+", metavar="MODEL", help="catalog model ids (see: costmodel models)")
    c.add_argument("--hardware", required=True, action="append", metavar="ID",
                   help="catalog device id (see: costmodel hardware); repeat for several")
    c.add_argument("--dtype", action="append", metavar="FORMAT",
                   help="weight format: bf16, fp8, int8, int4, q4_0, q4_k_m... (repeatable; default bf16)")
    c.add_argument("--batch", type=int, help="running requests (default: the largest that fits)")
    c.add_argument("--input-tokens", type=int, default=1024, help="prompt tokens per request (default 1024)")
    c.add_argument("--output-tokens", type=int, default=256, help="output tokens per request (default 256)")
    c.add_argument("--n-devices", type=int, help="devices per model replica (default: the fewest that hold it)")
    c.add_argument("--price", type=float, metavar="USD", help="price of one device-hour, for $ per 1M tokens")
    c.add_argument("--date", metavar="YYYY[-MM[-DD]]",
                   help="instead of --price: each device's cheapest offer in the price catalog at this date")
    c.add_argument("--csv", metavar="FILE", help="also write the table as CSV (and Excel when openpyxl is installed)")
    k = sub.add_parser("cost", help="dollars, kWh and CO2 per 1M tokens of models on a device",
                       description="USD per 1M input, output and blended tokens of each MODEL on the fewest "
                                   "devices that hold it, at the price catalog's cheapest offer on --date (or "
                                   "--price), with kWh and kg CO2 per 1M output tokens.")
    k.add_argument("models", nargs="+", metavar="MODEL", help="catalog model ids (see: costmodel models)")
    k.add_argument("--hardware", required=True, metavar="ID", help="catalog device id (see: costmodel hardware)")
    price = k.add_mutually_exclusive_group(required=True)
    price.add_argument("--date", metavar="YYYY[-MM[-DD]]", help="the date of the catalog price to use")
    price.add_argument("--price", type=float, metavar="USD", help="price of one device-hour")
    k.add_argument("--dtype", default="bf16", metavar="FORMAT", help="weight format (default bf16)")
    k.add_argument("--input-tokens", type=int, default=1024, help="prompt tokens per request (default 1024)")
    k.add_argument("--output-tokens", type=int, default=256, help="output tokens per request (default 256)")
    k.add_argument("--batch", type=int, help="running requests (default: the largest that fits)")
    k.add_argument("--utilisation", type=float, default=1.0, help="busy share of the paid hour, in (0, 1]")
    k.add_argument("--csv", metavar="FILE", help="also write the table as CSV (and Excel when openpyxl is installed)")
    sub.add_parser("models", help="list the model catalog", description="List the model catalog.")
    sub.add_parser("hardware", help="list the hardware catalog", description="List the hardware catalog.")
    return p


def _print(df: pd.DataFrame) -> None:
    with pd.option_context("display.width", 200, "display.max_columns", 30, "display.max_rows", 500,
                           "display.float_format", "{:,.4g}".format):
        print(df.to_string(index=False))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status. Defined in :ref:`sec_planner`."""
    args = _parser().parse_args(argv)
    import costmodel as cm
    from costmodel import planner

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if args.command == "models":
                _print(cm.model_table()[["model", "family", "n_params", "n_active_params", "size_class"]])
            elif args.command == "hardware":
                t = cm.hardware_table()
                _print(t[["id", "name", "category", "memory_bytes", "memory_bandwidth_bytes_per_s"]])
            elif args.command == "cost":
                df = planner.cost_table(args.models, args.hardware, input_tokens=args.input_tokens,
                                        output_tokens=args.output_tokens, date=args.date,
                                        price_per_device_hour_usd=args.price, utilisation=args.utilisation,
                                        weight_dtype=args.dtype, batch=args.batch)
                _print(df)
                if args.csv:
                    for path in planner.export_table(df, args.csv):
                        print(f"wrote {path}", file=sys.stderr)
            else:
                df = planner.compare(args.models, args.hardware, weight_dtypes=args.dtype or ["bf16"],
                                     input_tokens=args.input_tokens, output_tokens=args.output_tokens,
                                     batch=args.batch, n_devices=args.n_devices, price_per_device_hour_usd=args.price,
                                     date=args.date)
                _print(df[[c for c in _COLUMNS if c in df]])
                if args.csv:
                    for path in planner.export_table(df, args.csv):
                        print(f"wrote {path}", file=sys.stderr)
    except ValueError as e:
        print(f"costmodel: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"costmodel: error: {e.strerror}: {e.filename}", file=sys.stderr)
        return 2
    return 0


def main_entry() -> None:
    """The console script: exit with :func:`main`'s status. Defined in :ref:`sec_planner`."""
    sys.exit(main())


if __name__ == "__main__":  # pragma: no cover
    main_entry()
