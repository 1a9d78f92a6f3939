"""What the `datahub-rest` and `datahub-kafka` sinks share: both push through an emitter that reports each
request's (or each poll's) outcome, and acknowledge to the run only what the server or broker confirmed, made
durable together, so a run's state never advances past what the sink holds."""

from ..core.errors import SinkFailure
from ..core.plugin import Sink


class EmittingSink(Sink):
    """A sink over an emitter with `emit`, `flush`, `close`, `test_connection`, `fatal` and `stats`."""

    emitter = None
    stops_on: tuple[type[Exception], ...] = ()
    """Errors of `emit` after which the emitter is unusable (its `fatal` says why): the run stops reading MCPs."""
    confirmed: str = "acknowledged"
    """How the run's failure line names what the server confirmed."""

    def __init__(self, config, report):
        super().__init__(config, report)
        self._ack = lambda mcp: None

    def new_emitter(self):
        """The emitter for this sink's config, with `on_result=self.on_result`."""
        raise NotImplementedError

    def count_stats(self, stats) -> None:
        self.report.count("bytes sent", stats.bytes_sent)
        if stats.failed:
            self.report.count("failed", stats.failed)

    def check(self) -> None:
        self.emitter = self.new_emitter()
        self.emitter.test_connection()

    def on_result(self, mcps, error: str | None) -> None:
        """One request's (or poll's) outcome. Its acknowledgements are made durable together (the sink stage's
        `ack.flush`, when it has one), so a run killed later re-sends none of what this request delivered."""
        if error is None:
            for mcp in mcps:
                self._ack(mcp)
            flush = getattr(self._ack, "flush", None)
            if flush is not None:
                flush()
            return
        for mcp in mcps:
            self.report.fail(f"{mcp.entity_urn} {mcp.aspect_name}: {error}")

    def write(self, mcps, ack) -> None:
        self._ack = ack
        emitter = self.emitter  # opened by check(), which the sink stage calls first
        sent = 0
        try:
            for mcp in mcps:
                if emitter.fatal:
                    break
                try:
                    emitter.emit(mcp)
                except self.stops_on:
                    break
                sent += 1
            emitter.flush()
        finally:
            stats = emitter.stats
            self.count_stats(stats)
        if emitter.fatal:
            raise SinkFailure(f"{emitter.fatal}; the run stopped after {sent:,} MCPs read, {stats.acknowledged:,} {self.confirmed}")

    def close(self) -> None:
        if self.emitter is not None:
            self.emitter.close()
