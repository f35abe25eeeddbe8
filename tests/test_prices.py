"""Dated prices: explicit dates only, clear errors, conflicting rows surfaced.

Expected values are the rows of data/prices/cloud.csv and energy.csv (their
sources are in each row and in data/prices/README.md).
"""

from __future__ import annotations

import datetime

import pytest

import costmodel as cm


def test_price_at_an_explicit_date():
    # Google Cloud TPU pricing (2026 snapshot): v5p $4.20 per chip-hour on demand in US regions,
    # $2.94 with a 1-year commitment
    assert cm.price_per_device_hour("tpu-v5p", date="2026", provider="gcp", region="US regions") == 4.2
    assert cm.price_per_device_hour("tpu-v5p", "2026-03-01", pricing_model="committed_1y") == 2.94
    assert cm.price_per_device_hour(cm.load_hardware("tpu-v5p"), datetime.date(2026, 3, 1),
                                    pricing_model="committed_3y") == 1.89


def test_a_date_without_a_price_names_the_dates_that_exist():
    with pytest.raises(ValueError, match=r"date='2024': no tpu-v5p on_demand price at that date; "
                                         r"dates that exist: \['2026'\]"):
        cm.price_per_device_hour("tpu-v5p", "2024")
    # AWS capacity blocks carry no date ("rates valid until 2025-01-01"): never used for a date
    with pytest.raises(ValueError, match=r"undated rows, never used for a date: \['aws/p5e.48xlarge"):
        cm.price_per_device_hour("h200-sxm", "2025", pricing_model="capacity_block")


def test_conflicting_prices_are_listed_not_averaged():
    # Lambda H100 SXM: $2.49 (April 2026 blog) vs $2.99 (2026 aggregator), both in the catalog
    with pytest.raises(ValueError, match=r"2 h100-sxm prices match date='2026' and disagree: "
                                         r"lambda/h100-sxm/on-demand/2.49: \$2.49/h \(2026-04\); "
                                         r"lambda/h100-sxm/on-demand/2.99: \$2.99/h \(2026\)"):
        cm.price_per_device_hour("h100-sxm", "2026")


def test_bad_arguments_name_the_value():
    with pytest.raises(ValueError, match=r"date='last year' must be a date"):
        cm.price_per_device_hour("tpu-v5p", "last year")
    with pytest.raises(ValueError, match=r"date=None must be a date"):
        cm.price_per_device_hour("tpu-v5p", None)
    with pytest.raises(ValueError, match=r"pricing_model='spot' is not one of"):
        cm.price_per_device_hour("tpu-v5p", "2026", pricing_model="spot")
    with pytest.raises(ValueError, match=r"provider='aws': no tpu-v5p price from it; providers with prices: \['gcp'\]"):
        cm.price_per_device_hour("tpu-v5p", "2026", provider="aws")
    # the A100 80GB offerings do not say SXM or PCIe: filed under the descriptive id
    with pytest.raises(ValueError, match=r"hardware='a100-sxm-80gb' has no row.*filed as \['a100-80gb'\]"):
        cm.price_per_device_hour("a100-sxm-80gb", "2026")
    with pytest.raises(ValueError, match=r"hardware=3 must be a Hardware"):
        cm.price_per_device_hour(3, "2026")


def test_cloud_prices_table():
    df = cm.cloud_prices()
    assert {"usd_per_device_hour", "date", "source", "pricing_model"} <= set(df.columns)
    h100 = cm.cloud_prices("h100-sxm")
    # rows filed as h100-sxm and rows whose candidates include it (AWS p5, Azure, GCP a3)
    assert set(h100["hardware"]) == {"h100-sxm", "h100"}
    h100.loc[:, "usd_per_device_hour"] = 0.0  # a copy: the catalog is unchanged
    assert cm.cloud_prices("h100-sxm")["usd_per_device_hour"].gt(0).all()


def test_energy_catalog():
    assert cm.energy_value(cm.prices.DEFAULT_PUE_ID) == 1.58  # Uptime Institute 2023
    assert cm.energy_value("electricity-price/us-virginia/industrial/2023-annual") == 0.0892  # EIA 2023
    assert set(cm.energy_table("pue")["kind"]) == {"pue"}
    with pytest.raises(ValueError, match=r"kind='price' is not one of"):
        cm.energy_table("price")
    with pytest.raises(ValueError, match=r"row_id='pue/mars' is not an id"):
        cm.energy_value("pue/mars")
