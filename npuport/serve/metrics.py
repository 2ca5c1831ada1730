"""The server's Prometheus metrics, in a registry of its own (several apps in one process do not collide)."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
SIZE_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)


class ServeMetrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("npuport_requests", "HTTP requests answered, by endpoint and status code.",
                                ["endpoint", "status"], registry=r)
        self.errors = Counter("npuport_errors", "Requests answered with an error, by reason.", ["reason"], registry=r)
        self.latency = Histogram("npuport_request_latency_seconds", "POST /predict and v2 infer time from arrival to answer.",
                                 buckets=LATENCY_BUCKETS, registry=r)
        self.batch_texts = Histogram("npuport_batch_size_texts", "Texts per inference batch.",
                                     buckets=SIZE_BUCKETS, registry=r)
        self.batch_requests = Histogram("npuport_batch_size_requests", "Requests coalesced into one inference batch.",
                                        buckets=SIZE_BUCKETS, registry=r)
        self.inference = Histogram("npuport_inference_seconds", "Time of one batch's inference (tokenize + run).",
                                   buckets=LATENCY_BUCKETS, registry=r)
        self.batch_retries = Counter("npuport_batch_retries", "Batches of several requests that failed and were retried "
                                     "one request at a time (so only the failing request gets 500).", registry=r)
        self.queue_requests = Gauge("npuport_queue_depth_requests", "Requests waiting for a batch.", registry=r)
        self.queue_texts = Gauge("npuport_queue_depth_texts", "Texts waiting for a batch (bounded by max_queue).",
                                 registry=r)
        self.in_flight = Gauge("npuport_requests_in_flight", "POST /predict and v2 infer requests received and not yet answered.",
                               registry=r)
        self.ready = Gauge("npuport_ready", "1 once the model is loaded and warmed up.", registry=r)

    def render(self) -> bytes:
        return generate_latest(self.registry)
