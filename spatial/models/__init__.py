"""PostGIS models, one module per layer family. Importing this registers them all."""

from spatial.models.accounts import (
    READ_ONLY_ROLES,
    ROLES,
    ApiToken,
    AuditEntry,
    LoginAttempt,
    User,
    UserArea,
    UserSession,
    UserVisibleUnit,
)
from spatial.models.admin import (
    BOUNDARIES,
    CURRENT_VALID_FROM,
    LEGACY_VALID_TO,
    LEVELS,
    AdminCrosswalk,
    AdminUnit,
    Village,
)
from spatial.models.base import Base
from spatial.models.evaluation import (
    AreaIncomeChange,
    DuplicateCandidate,
    FallbackRisk,
    ModelEvaluation,
    PriceDeflator,
)
from spatial.models.exposure import (
    ASSET_KINDS,
    THRESHOLD_OPS,
    AreaExposure,
    AssetExposure,
    ExposureThreshold,
    HouseholdExposure,
)
from spatial.models.field import FORM_TARGETS, FormDefinition, Visit, VisitPhoto
from spatial.models.households import (
    DEPRIVATION_COLUMNS,
    AreaIndicator,
    Household,
    HouseholdUnit,
    PovertyClassification,
    PovertyLine,
    PovertyStandard,
    SurveyRound,
)
from spatial.models.ledger import (
    ANIMAL_STATUSES,
    DEATH_CAUSES,
    EVENT_KINDS,
    OBLIGATION_STATUSES,
    OPEN_STATUSES,
    VACCINES,
    Animal,
    AnimalEvent,
    AnimalHolding,
    LedgerVisit,
    PassOnObligation,
    PassOnRule,
)
from spatial.models.programme import (
    MODEL_TYPES,
    WATER_STATUSES,
    WORK_TYPES,
    InfrastructureWork,
    LivelihoodModel,
    ModelParticipant,
    WaterScheme,
    WaterSchemeHousehold,
)
from spatial.models.rasters import EPOCHS, HAZARDS, STORED_CRS, Raster
from spatial.models.runs import DemoTruth, JobRun
from spatial.models.status import ModelStatus, VisitSchedule

__all__ = [
    "READ_ONLY_ROLES", "ROLES", "ApiToken", "AuditEntry", "LoginAttempt", "User", "UserArea",
    "UserSession", "UserVisibleUnit",
    "BOUNDARIES", "CURRENT_VALID_FROM", "DEPRIVATION_COLUMNS", "LEGACY_VALID_TO", "LEVELS",
    "MODEL_TYPES", "WATER_STATUSES", "WORK_TYPES", "AdminCrosswalk", "AdminUnit", "AreaIndicator",
    "Base", "DemoTruth", "Household", "HouseholdUnit", "InfrastructureWork", "JobRun",
    "LivelihoodModel", "ModelEvaluation", "ModelParticipant", "AreaIncomeChange", "PriceDeflator",
    "DuplicateCandidate", "FallbackRisk", "PovertyClassification", "PovertyLine",
    "PovertyStandard", "SurveyRound", "Village", "Visit", "VisitPhoto", "WaterScheme", "WaterSchemeHousehold",
    "ANIMAL_STATUSES", "DEATH_CAUSES", "EVENT_KINDS", "OBLIGATION_STATUSES", "OPEN_STATUSES", "VACCINES",
    "Animal", "AnimalEvent", "AnimalHolding", "LedgerVisit", "PassOnObligation", "PassOnRule",
    "EPOCHS", "HAZARDS", "STORED_CRS", "Raster",
    "ASSET_KINDS", "THRESHOLD_OPS", "AreaExposure", "AssetExposure", "ExposureThreshold", "HouseholdExposure",
    "FORM_TARGETS", "FormDefinition",
    "ModelStatus", "VisitSchedule",
]
