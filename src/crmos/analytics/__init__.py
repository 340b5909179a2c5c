"""Analytics: customer lifetime value (BG/NBD + Gamma-Gamma), churn/renewal/purchase
propensity with per-prediction reasons. Imports core, store, ingest, identity and graph.
"""

from crmos.analytics.clv import (
    BgNbd,
    FitError,
    GammaGamma,
    Summary,
    discounted_value,
    expected_purchases,
    fit_bgnbd,
    fit_gamma_gamma,
    p_alive,
)
from crmos.analytics.erasure import DATA_MAP, AnalyticsEraser
from crmos.analytics.evaluate import Evaluation, evaluate
from crmos.analytics.facts import analytics_facts, facts_of, profile_value
from crmos.analytics.features import Activity, Events, Profile
from crmos.analytics.messages import Purchases, message_activity
from crmos.analytics.repo import (
    RANKED_COLUMNS,
    models,
    profiles_in_range,
    ranked_by_value,
    top_values,
)
from crmos.analytics.rfm import Customers, day_of, epoch_days, summarise
from crmos.analytics.service import Analytics, ClvFit, clv_params

__all__ = [
    "DATA_MAP",
    "RANKED_COLUMNS",
    "Activity",
    "Analytics",
    "AnalyticsEraser",
    "BgNbd",
    "ClvFit",
    "Customers",
    "Evaluation",
    "Events",
    "FitError",
    "GammaGamma",
    "Profile",
    "Purchases",
    "Summary",
    "analytics_facts",
    "clv_params",
    "day_of",
    "discounted_value",
    "epoch_days",
    "evaluate",
    "expected_purchases",
    "facts_of",
    "fit_bgnbd",
    "fit_gamma_gamma",
    "message_activity",
    "models",
    "p_alive",
    "profile_value",
    "profiles_in_range",
    "ranked_by_value",
    "summarise",
    "top_values",
]
