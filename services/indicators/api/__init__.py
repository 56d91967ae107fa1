"""gRPC servicer of the indicators service: validates, then runs each unit of work in a worker thread.

One class for the one gRPC service, assembled from a part per subject so each stays readable.
"""

from services.indicators.api.enterprises import EnterprisesApi
from services.indicators.api.evaluations import EvaluationsApi
from services.indicators.api.registry import RegistryApi
from services.indicators.api.values import ValuesApi


class IndicatorsServicer(RegistryApi, EnterprisesApi, ValuesApi, EvaluationsApi):
    """Registry, enterprises, indicator values and evaluations of clauses 三, 十七, 二十五 and 二十六."""


__all__ = ["IndicatorsServicer"]
