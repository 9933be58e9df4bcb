"""The jobs sinhke knows: one table, in the order a full refresh runs them.

Adding a job is one entry in ``JOBS``; job modules are plain functions over a
``Session`` and do not know the registry. Each entry names the tables the job reads
and writes, so a test holds the run order and the nightly times to them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import import_module

from sqlalchemy.orm import Session

from jobs import JobError
from spatial import N_

JobFunc = Callable[[Session], int]


@dataclass(frozen=True)
class Job:
    name: str
    #: "package.module:function", imported when the job is loaded
    target: str
    #: in English, marked for the catalogue; pages show it translated
    description: str
    #: cron fields for the scheduler (Asia/Ho_Chi_Minh)
    cron: Mapping[str, str]
    #: tables the job reads and writes; a job runs after the jobs that write what it reads
    reads: tuple[str, ...] = ()
    writes: tuple[str, ...] = ()

    @property
    def func(self) -> JobFunc:
        module, _, name = self.target.partition(":")
        try:
            func: JobFunc = getattr(import_module(module), name)
        except (ImportError, AttributeError) as exc:
            raise JobError(f"job {self.name}: cannot load {self.target} ({exc})") from exc
        return func

    @property
    def schedule(self) -> str:
        """The cron fields for people: "01:45" for a daily time, else the fields as given."""
        hour, minute = self.cron.get("hour", "*"), self.cron.get("minute", "0")
        if hour.isdigit() and minute.isdigit() and set(self.cron) <= {"hour", "minute"}:
            return f"{int(hour):02d}:{int(minute):02d}"
        return " ".join(f"{k}={v}" for k, v in self.cron.items())


#: every job, in the order a full refresh (``sinhke jobs run all``) runs them
JOBS: tuple[Job, ...] = (
    Job(
        "sensor_partitions",
        "jobs.sensors:sensor_partitions",
        "Observation partitions for the coming months; raw readings past retention dropped",
        {"hour": "0", "minute": "10"},
        writes=("sensor_observations",),
    ),
    Job(
        "scheme_functionality",
        "jobs.sensors:scheme_functionality",
        "Water-scheme functionality from meters and visit reports",
        {"minute": "25"},
        reads=(
            "sensor_observations",
            "sensor_things",
            "sensor_datastreams",
            "visits",
            "water_schemes",
            "water_scheme_households",
        ),
        writes=("sensor_scheme_status", "water_schemes"),
    ),
    Job(
        "place_households",
        "jobs.placement:place_households",
        N_("Place households in communes on both boundary versions"),
        {"minute": "*/30"},
        reads=("households", "admin_units", "admin_crosswalk"),
        writes=("household_units",),
    ),
    Job(
        "classify_households",
        "jobs.classify:classify_households",
        N_("Poverty status of each household in each survey round"),
        {"hour": "1", "minute": "0"},
        reads=(
            "survey_rounds",
            "household_units",
            "admin_units",
            "poverty_standards",
            "poverty_lines",
            "water_schemes",
            "water_scheme_households",
        ),
        writes=("poverty_classifications",),
    ),
    Job(
        "area_indicators",
        "jobs.area_indicators:area_indicators",
        N_("Households, poor, near-poor and incomes per unit and year"),
        {"hour": "1", "minute": "30"},
        reads=("survey_rounds", "poverty_classifications", "household_units"),
        writes=("area_indicators",),
    ),
    Job(
        "income_change",
        "jobs.income_change:income_change",
        N_("Income change, escapes from and falls into poverty, per unit and year"),
        {"hour": "1", "minute": "40"},
        reads=("survey_rounds", "poverty_classifications", "price_deflators", "household_units"),
        writes=("area_income_change",),
    ),
    Job(
        "exposure",
        "jobs.exposure:exposure",
        N_("Exposure of areas, assets and households to every catalogued hazard raster"),
        {"hour": "1", "minute": "45"},
        reads=(
            "rasters",
            "exposure_thresholds",
            "admin_units",
            "households",
            "household_units",
            "livelihood_models",
            "infrastructure_works",
            "water_schemes",
        ),
        writes=("area_exposure", "asset_exposure", "household_exposure"),
    ),
    Job(
        "fallback_risk",
        "jobs.fallback_risk:fallback_risk",
        N_("Households at risk of falling back into poverty"),
        {"hour": "1", "minute": "50"},
        reads=("survey_rounds", "poverty_classifications", "household_exposure", "rasters"),
        writes=("fallback_risk",),
    ),
    Job(
        "evaluate_models",
        "jobs.evaluate:evaluate_models",
        N_("Effect of model participation on income (staggered DiD)"),
        {"hour": "2", "minute": "0"},
        reads=(
            "survey_rounds",
            "household_units",
            "households",
            "model_participants",
            "livelihood_models",
            "infrastructure_works",
            "water_schemes",
            "water_scheme_households",
        ),
        writes=("model_evaluations",),
    ),
    Job(
        "duplicates",
        "jobs.duplicates:find_duplicates",
        N_("Likely duplicate households and forbidden double enrolments"),
        {"hour": "2", "minute": "30"},
        reads=("households", "model_participants", "livelihood_models"),
        writes=("duplicate_candidates",),
    ),
    Job(
        "pass_on",
        "jobs.pass_on:pass_on",
        N_("Pass-on calves due and overdue (cow banks, buffalo loans)"),
        {"hour": "2", "minute": "40"},
        reads=("pass_on_obligations", "pass_on_rules", "animals", "households", "admin_units"),
        writes=("pass_on_obligations",),
    ),
    Job(
        "model_status",
        "jobs.model_status:model_status",
        N_("Model status from field visits: last visit, overdue, herd, flock, harvest"),
        {"hour": "2", "minute": "50"},
        reads=(
            "visits",
            "visit_schedules",
            "livelihood_models",
            "animal_holdings",
            "animals",
            "animal_events",
            "pass_on_obligations",
        ),
        writes=("model_status",),
    ),
    Job(
        "targets_progress",
        "jobs.targets_progress:targets_progress",
        "Targets against progress by area, and the share of allocated capital disbursed",
        {"hour": "3", "minute": "0"},
        reads=(
            "targets",
            "allocations",
            "programme_parts",
            "area_indicators",
            "household_units",
            "asset_units",
            "livelihood_models",
            "model_participants",
            "infrastructure_works",
            "water_schemes",
            "water_scheme_households",
        ),
        writes=("target_progress", "disbursement_progress"),
    ),
    Job(
        "sensor_aggregates",
        "jobs.sensors:sensor_aggregates",
        "Hourly and daily aggregates of sensor readings",
        {"minute": "5"},
        reads=("sensor_observations",),
        writes=("sensor_aggregates",),
    ),
    Job(
        "sensor_gaps",
        "jobs.sensors:sensor_gaps",
        "Data gaps per datastream",
        {"minute": "20"},
        reads=("sensor_observations", "sensor_datastreams"),
        writes=("sensor_gaps",),
    ),
    Job(
        "rainfall_alerts",
        "jobs.sensors:rainfall_alerts",
        "Rainfall risk per commune from the gauges and landslide susceptibility (Decision 18/2021)",
        {"minute": "15"},
        reads=(
            "sensor_observations",
            "sensor_things",
            "sensor_datastreams",
            "admin_units",
            "area_exposure",
            "rasters",
            "asset_units",
            "household_units",
        ),
        writes=("sensor_rain_alerts",),
    ),
    Job(
        "notify",
        "jobs.notify:notify",
        "E-mail and webhook notifications of rain alerts and schemes that stopped working, once per event",
        {"minute": "35"},
        reads=(
            "sensor_rain_alerts",
            "sensor_scheme_status",
            "notification_settings",
            "user_visible_units",
            "asset_units",
        ),
        writes=("notification_events", "notification_deliveries"),
    ),
)


def get_job(name: str) -> Job:
    for job in JOBS:
        if job.name == name:
            return job
    raise JobError(f"unknown job {name!r}; known jobs: {', '.join(job.name for job in JOBS)}")


def load_all() -> dict[str, Job]:
    """Every job by name, in run order; imports each job's function, so a wrong target fails here."""
    for job in JOBS:
        _ = job.func  # imported now: a wrong target fails here, not at 01:00
    return {job.name: job for job in JOBS}
