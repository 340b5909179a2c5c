"""Splink on Spark: the scale-out engine of batch matching (``--engine spark``).

Everything but Splink's own work stays where it is for DuckDB: files are read, checked,
cleaned and counted (blocking rules chosen by their pair counts) in the run's DuckDB
connection, which also writes the results. The cleaned tables go to Spark as Parquet files,
Splink trains and predicts there (``SparkAPI``, its Scala similarity functions from the jar
Splink ships), and the frames crmos reads back (predictions, clusters) return as Parquet
files that DuckDB reads. ``local[*]`` runs Spark in this process's JVM on every core; any
other master URL (``spark://host:7077``) runs it on that cluster, which must then see the
same directory (``CRMOS_SPARK_DIR``-like shared storage is the deployer's choice; here the
run's temporary directory).

Spark allows one session per process: it is made on first use and reused while the master
stays the same.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from crmos.core.errors import ConfigError
from crmos.identity.matching.frames import rows

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession
    from splink.internals.splink_dataframe import SplinkDataFrame

DRIVER_MEMORY = "4g"
"""The JVM's heap for ``local[*]``: a million records and their candidate pairs fit."""


def session(master: str) -> SparkSession:
    """The Spark session for ``master``, with Splink's jar.

    Spark keeps one session per process: the active one is reused when it has the same
    master, and stopped first when it has another.
    """
    try:
        from pyspark.sql import SparkSession
        from splink.backends.spark import similarity_jar_location
    except ImportError as exc:  # pragma: no cover - pyspark is a dependency
        raise ConfigError("--engine", "spark needs pyspark; pip install pyspark") from exc
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        raise ConfigError("--engine", "spark needs a Java runtime (Debian: default-jre-headless)")
    active = SparkSession.getActiveSession()
    if active is not None and active.sparkContext.master == master:
        return active
    if active is not None:
        active.stop()
    scratch = tempfile.mkdtemp(prefix="crmos-spark-")
    cores = os.cpu_count() or 2
    local = master.startswith("local")
    spark = (
        SparkSession.builder.master(master)
        .appName("crmos-matching")
        .config("spark.jars", similarity_jar_location())
        .config("spark.driver.memory", DRIVER_MEMORY)
        # Splink repartitions to half the shuffle partitions; Spark's 200 suit a cluster, and
        # on one machine each partition of Splink's many small training jobs costs a task.
        .config("spark.sql.shuffle.partitions", str(2 * cores if local else 200))
        .config("spark.default.parallelism", str(2 * cores if local else 200))
        .config("spark.local.dir", scratch)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        # Python workers (the first-name function) run this interpreter, with crmos on its path.
        .config("spark.pyspark.python", sys.executable)
        .config("spark.executorEnv.PYTHONPATH", os.pathsep.join(sys.path))
        .config("spark.sql.ansi.enabled", "false")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    spark.sparkContext.setCheckpointDir(str(Path(scratch) / "checkpoints"))
    return spark


class SparkFrames:
    """Moves tables between the run's DuckDB connection and Spark, through Parquet files."""

    def __init__(self, con: duckdb.DuckDBPyConnection, master: str) -> None:
        self.con = con
        self.spark = session(master)
        # The session outlives a run (getOrCreate), and Splink names its input views t_0, t_1
        # ... in the session's catalog: a second run in the process would find them taken.
        for table in self.spark.catalog.listTables():
            if table.isTemporary:
                self.spark.catalog.dropTempView(table.name)
        self.dir = Path(tempfile.mkdtemp(prefix="crmos-spark-run-"))
        self._n = 0

    @property
    def break_lineage(self) -> str:
        """How Splink cuts long query plans: Parquet files in the checkpoint directory
        (Splink's default; ``persist`` in memory may be quicker on one machine, untried)."""
        return "parquet"

    def to_spark(self, table: str) -> DataFrame:
        """DuckDB ``table`` as a Spark DataFrame."""
        path = self._path(table)
        rows(self.con, f"copy {table} to '{path}' (format parquet)")
        return self.spark.read.parquet(str(path))

    def to_duckdb(self, frame: SplinkDataFrame, columns: Sequence[str] = ()) -> str:
        """A DuckDB view over Splink's Spark ``frame`` (``columns``, or all); its name."""
        self._n += 1
        name = f"spark_out_{self._n}"
        path = self._path(name)
        spark_frame = frame.as_spark_dataframe()
        if columns:
            spark_frame = spark_frame.select(*columns)
        spark_frame.write.mode("overwrite").parquet(str(path))
        rows(self.con, f"create or replace view {name} as select * from '{path}/*.parquet'")
        return name

    def register_function(self, name: str, function: Callable[[Any, Any], bool]) -> None:
        """Make a Python function of two strings a boolean Spark SQL function.

        Registered as a pandas UDF: Spark hands it Arrow batches, not one pickled row a call.
        """
        import pandas as pd
        from pyspark.sql.pandas.functions import pandas_udf

        def batch(left: pd.Series, right: pd.Series) -> pd.Series:
            return pd.Series([function(a, b) for a, b in zip(left, right, strict=True)])

        # Spark reads the kind of pandas UDF from the hints, which must be types, not text.
        batch.__annotations__ = {"left": pd.Series, "right": pd.Series, "return": pd.Series}
        self.spark.udf.register(name, pandas_udf(batch, "boolean"))  # type: ignore[call-overload]

    def close(self) -> None:
        """Remove the run's Parquet files."""
        shutil.rmtree(self.dir, ignore_errors=True)

    def _path(self, name: str) -> Path:
        return self.dir / f"{name}.parquet"
