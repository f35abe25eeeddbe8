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


# ----------------------------------------------------------------------
# The cheapest dated offer (sec_cost)
# ----------------------------------------------------------------------
def test_cheapest_offer_names_the_row_it_picks():
    # Lambda H100 SXM: $2.49 (April 2026 blog) and $2.99 (2026 aggregator) both match "2026": the lower one
    offer = cm.cheapest_offer("h100-sxm", "2026")
    assert (offer.usd_per_device_hour, offer.row_id, offer.date) == (2.49, "lambda/h100-sxm/on-demand/2.49", "2026-04")
    # Google Cloud TPU pricing (2026): v5e $1.20 in US regions, $1.56 in europe-west4
    assert cm.cheapest_offer("tpu-v5e", "2026").usd_per_device_hour == 1.2
    assert cm.cheapest_offer("tpu-v5e", "2026", region="europe-west4").usd_per_device_hour == 1.56
    assert cm.cheapest_offer("tpu-v5e", "2026", pricing_model="committed_3y").usd_per_device_hour == 0.54


def test_cheapest_offer_errors_name_the_dates_and_the_candidate_rows():
    with pytest.raises(ValueError, match=r"date=None: prices change.*dates that exist: \['2026', '2026-04'\]"):
        cm.cheapest_offer("h100-sxm", None)
    with pytest.raises(ValueError, match=r"date='2025': no h100-sxm on_demand price at that date"):
        cm.cheapest_offer("h100-sxm", "2025")
    # the Lambda "A100 80GB" offering does not say SXM or PCIe: used only when asked
    with pytest.raises(ValueError, match=r"hardware='a100-sxm-80gb' has no row.*filed as \['a100-80gb'\] "
                                         r"\(cheapest_offer's include_candidates=True uses them\)"):
        cm.cheapest_offer("a100-sxm-80gb", "2026")
    # Lambda A100 80GB: $1.79 and $1.89 (two 2026 pages)
    assert cm.cheapest_offer("a100-sxm-80gb", "2026", include_candidates=True).usd_per_device_hour == 1.79
    with pytest.raises(ValueError, match=r"hardware='l4' has no row"):
        cm.cheapest_offer("l4", "2026")


# ----------------------------------------------------------------------
# Hosted-API prices (sec_cost); each expected value is the api.csv row named
# ----------------------------------------------------------------------
def test_api_price_at_a_date():
    # Anthropic pricing documentation and launch post: Claude 3 Haiku $0.25 / $1.25 per MTok from 2024-03-13
    p = cm.api_cost_per_million_tokens("claude-3-haiku", "2024-03")
    assert (p.input_usd_per_1m_tokens, p.output_usd_per_1m_tokens, p.date) == (0.25, 1.25, "2024-03-13")
    assert p.row_id == "anthropic/claude-3-haiku"
    # Claude 3.5 Haiku: $1 / $5 at launch (2024-11-04), $0.80 / $4 after the cut (listed 2025): the date picks one
    launch = cm.api_cost_per_million_tokens("claude-3.5-haiku", "2024-11")
    cut = cm.api_cost_per_million_tokens("claude-3.5-haiku", datetime.date(2025, 6, 1))
    assert (launch.input_usd_per_1m_tokens, launch.output_usd_per_1m_tokens) == (1.0, 5.0)
    assert (cut.input_usd_per_1m_tokens, cut.output_usd_per_1m_tokens) == (0.8, 4.0)
    # the prefix rule: a day the source does not date matches nothing (the cut's exact date is not stated)
    with pytest.raises(ValueError, match=r"date='2024-11-20': no claude-3.5-haiku price at that date"):
        cm.api_cost_per_million_tokens("claude-3.5-haiku", "2024-11-20")
    # Groq llama3-70b-8192: $0.59 / $0.79 (LiteLLM map, 2024)
    assert cm.api_cost_per_million_tokens("llama3-70b-8192", "2024", "groq").output_usd_per_1m_tokens == 0.79


def test_api_price_without_a_date_lists_the_dates_that_exist():
    with pytest.raises(ValueError, match=r"date=None: prices change, so give the date of the claude-3.5-haiku price.*"
                                         r"dates that exist: \['2024-11-04', '2025'\]"):
        cm.api_cost_per_million_tokens("claude-3.5-haiku")
    with pytest.raises(ValueError, match=r"date='2023': no claude-3-opus price at that date; "
                                         r"dates that exist: \['2024-03-04'\]"):
        cm.api_cost_per_million_tokens("claude-3-opus", "2023")
    # Together's size-bucket prices carry no date: never used for one
    with pytest.raises(ValueError, match=r"no serverless, 4.1-8B parameters price at that date; dates that exist: \[\] "
                                         r"\(undated rows"):
        cm.api_cost_per_million_tokens("serverless, 4.1-8B parameters", "2024")


def test_api_prices_that_disagree_are_listed():
    # Gemini 1.5 Pro, mid-2024: $3.50 / $10.50 up to 128k prompt tokens, $7 / $21 above
    with pytest.raises(ValueError, match=r"2 gemini-1.5-pro prices match date='2024' and disagree: "
                                         r".*\$3.5/\$10.5 per 1M \(2024, <=128k\).*\$7.0/\$21.0 per 1M \(2024, >128k\)"):
        cm.api_cost_per_million_tokens("gemini-1.5-pro", "2024")
    assert cm.api_cost_per_million_tokens("gemini-1.5-pro", "2024",
                                          context_tier=">128k").input_usd_per_1m_tokens == 7.0
    with pytest.raises(ValueError, match=r"context_tier='long': gemini-1.5-pro has no such tier"):
        cm.api_cost_per_million_tokens("gemini-1.5-pro", "2024", context_tier="long")


def test_api_model_names_are_checked():
    with pytest.raises(ValueError, match=r"model='gpt4o' has no row in data/prices/api.csv; close names: "
                                         r"\['gpt-4o-mini'"):
        cm.api_cost_per_million_tokens("gpt4o", "2024")
    with pytest.raises(ValueError, match=r"provider='openia' is not one of"):
        cm.api_prices(provider="openia")
    table = cm.api_prices(provider="anthropic")
    assert set(table["provider"]) == {"anthropic"} and len(table) == 6
    assert len(cm.api_prices("gemini-1.5-pro")) == 4  # two tiers, two price eras
    table.loc[:, "input_usd_per_1m_tokens"] = 0.0  # a copy
    assert cm.api_prices(provider="anthropic")["input_usd_per_1m_tokens"].gt(0).all()
