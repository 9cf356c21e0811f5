"""API metrics read at scrape time: queue depths (Redis) and jobs and traces by state (PostgreSQL)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import redis
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from sightsound.config import Settings
from sightsound.db.models import Job, TraceDecision
from sightsound.db.session import session_scope
from sightsound.tasks.app import STAGE_QUEUES

log = logging.getLogger(__name__)


class PipelineCollector(Collector):
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def collect(self) -> Iterator[GaugeMetricFamily]:
        queues = GaugeMetricFamily("sightsound_queue_depth", "Messages waiting in each stage queue.", labels=["queue"])
        try:
            client = redis.Redis.from_url(self.settings.redis_url, socket_connect_timeout=1, socket_timeout=1)
            for queue in STAGE_QUEUES:
                queues.add_metric([queue], float(client.llen(queue)))
            client.close()
        except redis.RedisError as exc:
            log.warning("queue depths unavailable: %s", exc)
        yield queues
        jobs = GaugeMetricFamily("sightsound_jobs", "Jobs by state.", labels=["state"])
        traces = GaugeMetricFamily("sightsound_traces", "Verified traces by decision.", labels=["decision"])
        try:
            with session_scope(self.settings.database_url) as session:
                for state, count in session.execute(select(Job.state, func.count()).group_by(Job.state)):
                    jobs.add_metric([state.value], float(count))
                for decision, count in session.execute(
                    select(TraceDecision.decision, func.count()).group_by(TraceDecision.decision)
                ):
                    traces.add_metric([decision], float(count))
        except Exception as exc:
            log.warning("job counts unavailable: %s", exc)
        yield jobs
        yield traces
