"""Running a batch's independent tasks: worker processes on this machine, or Ray tasks on a cluster.

Why here, in the core layer: both batch commands run through it, ``lyra-sim sdg``
(:mod:`lyra_sim.data.sdg`, an artifact) and ``lyra-sim generate --prompts``
(:mod:`lyra_sim.pipeline.batch`, above it), so it must sit below both. It belongs beside
:mod:`lyra_sim.io.shards` (how numbered work is split between machines) and
:mod:`lyra_sim.io.atomic` (how each item's folder appears exactly once): it knows nothing of
worlds or scenes. A :class:`Task` is a module-level function and its keyword arguments (both
picklable) that writes one item and returns a JSON-able dict.

Executors (``--executor``, :class:`ExecutorCfg`), one code path for the item itself
(:func:`execute`, which runs in the worker):

- ``local``: ``workers`` processes on this machine (started with ``spawn``, so they share
  nothing with the parent but what a task carries). Each runs one task at a time and is reused
  for the next, so a worker keeps what it loaded (the decoder) between items. A worker that dies
  (SIGKILL, out of memory) takes only its task with it: that task is retried on a new worker up to
  ``max_retries`` times, as Ray does. Stdlib pools cannot do this: ``concurrent.futures`` marks
  every pending task broken when one worker dies and ``multiprocessing.Pool`` waits forever.
- ``ray``: one Ray task per item (``num_cpus=cpus_per_task``, ``max_retries``: Ray re-runs a task
  whose worker process or node died) on the cluster at ``address`` (``auto``, ``ray://host:10001``)
  or, with no address, on a Ray instance started here (and stopped again at the end); an already
  initialised Ray (``ray.init`` by the caller) is used as it is.
- no executor (``cfg=None``, library use and unit tests): the tasks run one after the other in
  this process, through the same :func:`execute`, with the process's own thread setting.

An item that fails for its own reasons (any exception in the task) is an :class:`Outcome` with
``status="failed"`` and the error, never a stopped batch; ``KeyboardInterrupt`` still stops it.
Both executors limit a task to ``cpus_per_task`` torch/OpenMP threads (a world's bytes were found
not to depend on the thread count either, but a timing should not depend on the executor).
"""

from __future__ import annotations

import os
import socket
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from lyra_sim.errors import InvalidInputError, MissingDependencyError

ExecutorKind = Literal["local", "ray"]
EventKind = Literal["started", "finished", "skipped"]

RAY_INSTALL_HINT = "pip install 'lyra-sim[cluster]' (or pip install 'ray>=2.40')"
"""What to run when ``--executor ray`` finds no Ray."""


@dataclass
class ExecutorCfg:
    """Where a batch's items run (``--executor``, ``--address``, ``--cpus-per-world``, ``--workers``)."""

    kind: ExecutorKind = "local"
    """"local": worker processes on this machine; "ray": one Ray task per item. Defaults to "local"."""
    address: str | None = None
    """Ray only: the cluster to join ("auto" for the one ``ray start`` made on this node, or
    "ray://HEAD:10001"); None starts a local Ray instance for the run. Defaults to None."""
    cpus_per_task: int = 1
    """CPUs (torch threads) one item uses; Ray reserves that many per task. Defaults to 1."""
    workers: int | None = None
    """Items at once: local worker processes, or the CPUs of a Ray instance started here divided
    by ``cpus_per_task``; None: this machine's CPUs divided by ``cpus_per_task`` (at least 1).
    Ignored when joining a Ray cluster (its size decides). Defaults to None."""
    max_retries: int = 3
    """How often a task is re-run after its worker process died. Defaults to 3."""

    def check(self) -> "ExecutorCfg":
        """Returns self when it can run here.

        Raises:
            InvalidInputError: an impossible value.
            MissingDependencyError: ``kind="ray"`` without Ray installed.
        """
        if self.kind not in ("local", "ray"):
            raise InvalidInputError(f"--executor must be local or ray, got {self.kind!r}")
        if self.cpus_per_task < 1:
            raise InvalidInputError(f"--cpus-per-world must be >= 1, got {self.cpus_per_task}")
        if self.workers is not None and self.workers < 1:
            raise InvalidInputError(f"--workers must be >= 1, got {self.workers}")
        if self.address is not None and self.kind != "ray":
            raise InvalidInputError("--address names a Ray cluster; add --executor ray")
        if self.max_retries < 0:
            raise InvalidInputError(f"max_retries must be >= 0, got {self.max_retries}")
        if self.kind == "ray":
            import_ray()
        return self

    def slots(self) -> int:
        """Items run at once on this machine (``workers``, else CPUs // ``cpus_per_task``)."""
        return self.workers or max(1, (os.cpu_count() or 1) // self.cpus_per_task)


@dataclass(frozen=True)
class Task:
    """One item of a batch: ``fn(**kwargs)`` writes it and returns a JSON-able dict."""

    key: str
    """The item's name, unique in the batch (its folder name)."""
    fn: Callable[..., dict]
    """A module-level function (workers import it by name)."""
    kwargs: dict = field(default_factory=dict)
    """Its arguments; picklable."""


@dataclass
class Outcome:
    """How one task ended."""

    key: str
    status: Literal["made", "failed"]
    seconds: float
    """Wall time of the last attempt, in seconds."""
    info: dict = field(default_factory=dict)
    """What the task returned (empty when it failed)."""
    error: str | None = None
    """``"ExceptionType: message"`` when it failed."""
    attempts: int = 1
    """1 + the retries after worker deaths (local; Ray retries without telling the task, so there
    it is 1 unless the retries ran out)."""
    worker: str = ""
    """``host:pid`` of the process that ran the last attempt."""


def limit_threads(threads: int) -> None:
    """At most ``threads`` torch/OpenMP threads in this process from now on (before torch is
    imported through the environment, after it through ``torch.set_num_threads``)."""
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(threads)
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(threads)


def execute(task: Task, threads: int | None = None, attempts: int = 1) -> Outcome:
    """Run ``task`` in this process (with ``threads`` threads; None leaves the process's own
    setting, as the in-process run does); any exception is a failed Outcome."""
    if threads is not None:
        limit_threads(threads)
    t0 = time.perf_counter()
    try:
        info, status, error = task.fn(**task.kwargs) or {}, "made", None
    except Exception as err:  # noqa: BLE001 - one item's failure (a LyraSimError or a bug) is recorded, the batch goes on
        info, status, error = {}, "failed", f"{type(err).__name__}: {err}"
    return Outcome(task.key, status, round(time.perf_counter() - t0, 3), info, error, attempts, f"{socket.gethostname()}:{os.getpid()}")


OnEvent = Callable[[EventKind, str, "Outcome | None"], None]
"""``on_event(kind, key, outcome)``: "started" (outcome None) when a task is handed to a worker,
"finished" with its Outcome (and "skipped" from :func:`lyra_sim.io.batch.run_batch` for an
item finished before the run). Ray tells the driver nothing when a task starts: there "started" is
sent when a task is submitted while fewer than the cluster's slots are busy (an estimate)."""


def run_tasks(tasks: Iterable[Task], cfg: ExecutorCfg | None = None, on_event: OnEvent | None = None) -> list[Outcome]:
    """Run every task (see the module docstring); returns their Outcomes in completion order.

    Raises:
        MissingDependencyError: ``cfg.kind == "ray"`` and Ray is not installed.
        InvalidInputError: a bad ``cfg`` or a Ray cluster that cannot be reached.
    """
    tasks = list(tasks)
    emit = on_event or (lambda kind, key, outcome: None)
    if cfg is None:
        outcomes = []
        for task in tasks:
            emit("started", task.key, None)
            outcomes.append(execute(task))
            emit("finished", task.key, outcomes[-1])
        return outcomes
    cfg.check()
    if not tasks:
        return []
    return (_run_ray if cfg.kind == "ray" else _run_local)(tasks, cfg, emit)


# ----------------------------------------------------------------------------- local
def _worker_main(conn, threads: int) -> None:
    """A local worker: run the tasks sent on ``conn`` until None (or the parent is gone)."""
    limit_threads(threads)
    try:
        while True:
            try:
                message = conn.recv()
            except EOFError:  # the parent died
                return
            if message is None:
                return
            task, attempts = message
            conn.send(execute(task, threads, attempts))
    except KeyboardInterrupt:  # Ctrl-C reaches the whole process group; the parent reports it
        return


class _Worker:
    def __init__(self, ctx, threads: int):
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_worker_main, args=(child, threads), daemon=True, name="lyra-sim-worker")
        self.process.start()
        child.close()
        self.task: Task | None = None

    def stop(self, wait: float) -> None:
        try:
            self.conn.send(None)
        except OSError:
            pass
        self.process.join(wait)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(5)
        self.conn.close()


def _run_local(tasks: list[Task], cfg: ExecutorCfg, emit: OnEvent) -> list[Outcome]:
    import multiprocessing as mp
    from multiprocessing.connection import wait

    ctx = mp.get_context("spawn")
    queue: deque[Task] = deque(tasks)
    attempts = {t.key: 1 for t in tasks}
    workers = [_Worker(ctx, cfg.cpus_per_task) for _ in range(min(cfg.slots(), len(tasks)))]
    outcomes: list[Outcome] = []
    clean = False
    try:
        while queue or any(w.task for w in workers):
            for w in workers:
                if w.task is None and queue:
                    w.task = queue.popleft()
                    w.conn.send((w.task, attempts[w.task.key]))
                    emit("started", w.task.key, None)
            busy = [w for w in workers if w.task is not None]
            wait([w.conn for w in busy] + [w.process.sentinel for w in busy])
            for i, w in enumerate(workers):
                if w.task is None:
                    continue
                outcome = None
                if w.conn.poll():
                    try:
                        outcome = w.conn.recv()
                    except (EOFError, OSError):
                        outcome = None
                if outcome is not None:
                    w.task = None
                    outcomes.append(outcome)
                    emit("finished", outcome.key, outcome)
                elif not w.process.is_alive():  # died in the middle of its task
                    task, code = w.task, w.process.exitcode
                    w.task = None
                    w.stop(0)
                    workers[i] = _Worker(ctx, cfg.cpus_per_task)
                    if attempts[task.key] <= cfg.max_retries:
                        attempts[task.key] += 1
                        queue.appendleft(task)
                    else:
                        how = f"signal {-code}" if code is not None and code < 0 else f"exit code {code}"
                        lost = Outcome(task.key, "failed", 0.0, {}, f"WorkerDied: the worker process died ({how}) "
                                       f"{attempts[task.key]} times on this item", attempts[task.key], "")
                        outcomes.append(lost)
                        emit("finished", task.key, lost)
        clean = True
    finally:
        for w in workers:
            w.stop(30 if clean else 5)
    return outcomes


# ----------------------------------------------------------------------------- ray
def import_ray():
    """The ``ray`` module, or a MissingDependencyError saying how to install it."""
    try:
        import ray
    except ImportError:
        raise MissingDependencyError(f"--executor ray needs Ray, which is not installed: {RAY_INSTALL_HINT}; "
                                     "or use --executor local") from None
    return ray


def _run_ray(tasks: list[Task], cfg: ExecutorCfg, emit: OnEvent) -> list[Outcome]:
    ray = import_ray()
    started_here = not ray.is_initialized()
    if started_here:
        options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
        if cfg.address is None:
            options["num_cpus"] = cfg.slots() * cfg.cpus_per_task
        try:
            ray.init(address=cfg.address, **options)
        except (ConnectionError, ValueError, RuntimeError) as err:
            raise InvalidInputError(f"cannot join the Ray cluster at {cfg.address!r}: {err}; start one with "
                                    "`ray start --head` or give --address auto / ray://HEAD:10001") from None
    try:
        remote = ray.remote(num_cpus=cfg.cpus_per_task, max_retries=cfg.max_retries)(execute)
        slots = max(1, int(ray.cluster_resources().get("CPU", 1) // cfg.cpus_per_task))
        pending = {remote.remote(task, cfg.cpus_per_task): task for task in tasks}
        order = deque(tasks)
        for _ in range(min(slots, len(order))):
            emit("started", order.popleft().key, None)
        outcomes: list[Outcome] = []
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            for ref in done:
                task = pending.pop(ref)
                try:
                    outcome = ray.get(ref)
                except ray.exceptions.RayError as err:  # retries used up: the worker or its node kept dying
                    outcome = Outcome(task.key, "failed", 0.0, {}, f"WorkerDied: {type(err).__name__}: {str(err).splitlines()[0]}",
                                      cfg.max_retries + 1, "")
                outcomes.append(outcome)
                if order:
                    emit("started", order.popleft().key, None)
                emit("finished", outcome.key, outcome)
        return outcomes
    finally:
        if started_here:
            ray.shutdown()
