using Pdm.Analytics.Anomaly;
using Pdm.Analytics.Data;
using Pdm.Analytics.Rul;

namespace Pdm.Analytics.Datasets;

/// <summary>
/// Settings of <see cref="CmapssAnomalyCheck"/>. The defaults are the protocol recorded in docs/performance.md.
/// </summary>
public sealed record CmapssAnomalyCheckOptions
{
    /// <summary>
    /// Cycles each engine's own model is fitted on, as ingest's warm-up fits a machine's model on its first samples.
    /// 100 is the least the ensemble accepts (<see cref="AnomalyModel.MinTrainingRows"/>); every FD001 engine lives
    /// at least 128 cycles.
    /// </summary>
    public int WarmupCycles { get; init; } = 100;

    /// <summary>
    /// A cycle with more than this many cycles left is healthy: the knee of the literature's piecewise-linear
    /// target (degradation is not visible in the sensors before it), so alarms there are false.
    /// </summary>
    public int HealthyRemainingCycles { get; init; } = 125;

    /// <summary>The persistence rule: at least <see cref="RuleN"/> of the last <see cref="RuleM"/> cycles above threshold.</summary>
    public int RuleN { get; init; } = 4;

    public int RuleM { get; init; } = 5;

    public AnomalyOptions Anomaly { get; init; } = new();
}

/// <summary>
/// A held-out check of the anomaly ensemble on real data unlike the twin: NASA C-MAPSS engines run to failure. Each
/// training engine gets its own model, fitted on its first cycles; every later cycle is scored causally. Alarms on
/// cycles still healthy are false; the first alarm in the degradation is the detection, its lead the cycles left.
/// </summary>
public static class CmapssAnomalyCheck
{
    /// <summary>The 21 sensor channels; the three operating settings are commands, not measurements.</summary>
    private const int FirstSensorColumn = 3;

    public static CmapssAnomalyCheckResult Evaluate(string directory, string subset = "FD001",
        CmapssAnomalyCheckOptions? options = null)
    {
        var loaded = CmapssDataset.Load(directory, subset);
        if (loaded.Dataset is not { } data)
        {
            return new CmapssAnomalyCheckResult { Errors = loaded.Errors };
        }
        return Evaluate(data.Train, options ?? new CmapssAnomalyCheckOptions());
    }

    public static CmapssAnomalyCheckResult Evaluate(IReadOnlyList<UnitSeries> engines, CmapssAnomalyCheckOptions options)
    {
        ArgumentNullException.ThrowIfNull(engines);
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        if (options.WarmupCycles < AnomalyModel.MinTrainingRows)
        {
            errors.Add($"warmupCycles must be at least {AnomalyModel.MinTrainingRows}");
        }
        if (options.RuleM is < 1 or > 64 || options.RuleN < 1 || options.RuleN > options.RuleM)
        {
            errors.Add("the rule needs 1 <= n <= m <= 64");
        }
        if (errors.Count > 0)
        {
            return new CmapssAnomalyCheckResult { Errors = errors };
        }

        var names = CmapssDataset.ColumnNames.Skip(FirstSensorColumn).ToArray();
        var single = new Tally();
        var rule = new Tally();
        var skipped = 0;
        var healthyCycles = 0;
        foreach (var engine in engines)
        {
            if (engine.Length <= options.WarmupCycles)
            {
                skipped++;
                continue;
            }
            var table = SensorsOf(engine, names);
            var warmup = new SensorTable(names, table.Times[..options.WarmupCycles].ToArray(),
                table.Values[..(options.WarmupCycles * names.Length)].ToArray());
            var fit = AnomalyModel.Fit(warmup, options.Anomaly, seed: 1);
            if (fit.Model is not { } model)
            {
                errors.AddRange(fit.Errors.Select(e => $"engine {engine.Unit}: {e}"));
                continue;
            }
            var scorer = model.CreateScorer(null);
            var recent = new bool[options.RuleM];
            var above = 0;
            var engineSingle = new EngineTally();
            var engineRule = new EngineTally();
            for (var r = 0; r < engine.Length; r++)
            {
                var score = scorer.Score(table.Row(r), table.Times[r]);
                var slot = r % options.RuleM;
                above += (score.IsAnomaly ? 1 : 0) - (recent[slot] ? 1 : 0);
                recent[slot] = score.IsAnomaly;
                if (r < options.WarmupCycles)
                {
                    continue;
                }
                var remaining = engine.Length - 1 - r;
                var healthy = remaining > options.HealthyRemainingCycles;
                healthyCycles += healthy ? 1 : 0;
                engineSingle.Add(healthy, score.IsAnomaly, remaining);
                engineRule.Add(healthy, above >= options.RuleN, remaining);
            }
            single.Add(engineSingle);
            rule.Add(engineRule);
        }
        return new CmapssAnomalyCheckResult
        {
            Engines = engines.Count - skipped,
            HealthyCycles = healthyCycles,
            SingleSample = single.Result(healthyCycles),
            Rule = rule.Result(healthyCycles),
            Errors = errors,
        };
    }

    private static SensorTable SensorsOf(UnitSeries engine, string[] names)
    {
        var p = names.Length;
        var values = new double[engine.Length * p];
        for (var r = 0; r < engine.Length; r++)
        {
            engine.Values.Row(r)[FirstSensorColumn..].CopyTo(values.AsSpan(r * p, p));
        }
        return new SensorTable(names, engine.Time.ToArray(), values);
    }

    private sealed class EngineTally
    {
        public int FalseAlarms { get; private set; }

        /// <summary>Cycles left at the first alarm in the degradation; -1 while none.</summary>
        public int Lead { get; private set; } = -1;

        public void Add(bool healthy, bool alarm, int remaining)
        {
            if (!alarm)
            {
                return;
            }
            if (healthy)
            {
                FalseAlarms++;
            }
            else if (Lead < 0)
            {
                Lead = remaining;
            }
        }
    }

    private sealed class Tally
    {
        private readonly List<double> _leads = [];
        private int _engines;
        private int _falseAlarms;
        private int _enginesWithFalseAlarms;

        public void Add(EngineTally engine)
        {
            _engines++;
            _falseAlarms += engine.FalseAlarms;
            _enginesWithFalseAlarms += engine.FalseAlarms > 0 ? 1 : 0;
            if (engine.Lead >= 0)
            {
                _leads.Add(engine.Lead);
            }
        }

        public CmapssAlarmFigures Result(int healthyCycles) => new()
        {
            FalseAlarmRate = healthyCycles == 0 ? 0 : (double)_falseAlarms / healthyCycles,
            EnginesWithFalseAlarms = _enginesWithFalseAlarms,
            DetectedShare = _engines == 0 ? 0 : (double)_leads.Count / _engines,
            MedianLeadCycles = _leads.Count == 0 ? 0 : Numerics.Median(_leads.ToArray().AsSpan()),
        };
    }
}

/// <summary>Alarms of one kind (single samples or the persistence rule) over the engines.</summary>
public sealed record CmapssAlarmFigures
{
    /// <summary>Share of healthy scored cycles that alarmed.</summary>
    public double FalseAlarmRate { get; init; }

    public int EnginesWithFalseAlarms { get; init; }

    /// <summary>Share of engines with an alarm in their degradation (at most the healthy margin before failure).</summary>
    public double DetectedShare { get; init; }

    /// <summary>Median over detected engines of the cycles left at the first alarm in the degradation.</summary>
    public double MedianLeadCycles { get; init; }
}

public sealed record CmapssAnomalyCheckResult
{
    public int Engines { get; init; }

    public int HealthyCycles { get; init; }

    public CmapssAlarmFigures? SingleSample { get; init; }

    public CmapssAlarmFigures? Rule { get; init; }

    public required IReadOnlyList<string> Errors { get; init; }
}
